//! `alphaswarm-proxy [serve]` runs the wizard's backend;
//! `alphaswarm-proxy verify-audit <path> [--public-key <pem>]` checks an
//! audit trail's hash chain and signed checkpoints;
//! `alphaswarm-proxy audit-public-key` prints the key that signs them;
//! `alphaswarm-proxy federation-keys rotate|export-jwks` manages the OIDC
//! issuer's signing keys.

use alphaswarm_proxy::app::{StartNotes, aws_client, build_state};
use alphaswarm_proxy::audit::{AuditSigner, SIGNING_KEY_FILE, public_key_from_pem, verify_files};
use alphaswarm_proxy::config::{self, Config};
use std::process::ExitCode;

fn usage() -> String {
    format!(
        "usage: alphaswarm-proxy [serve]
       alphaswarm-proxy verify-audit <audit file> [--public-key <pem file>]
       alphaswarm-proxy audit-public-key
{}

verify-audit exits 0 when the trail is intact, 1 when it is not (tampered,
re-hashed, truncated, emptied, missing, unsigned), 2 when it cannot be
checked (unreadable file, no key). Without --public-key it uses the key in
the state directory (ALPHASWARM_ADMIN_STATE_DIR, default ~/.alphaswarm).",
        alphaswarm_proxy::federation::cli::USAGE
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] | ["serve"] => serve(),
        ["verify-audit", path] => verify(path, None),
        ["verify-audit", path, "--public-key", key]
        | ["verify-audit", "--public-key", key, path] => verify(path, Some(key)),
        ["audit-public-key"] => export_public_key(),
        ["federation-keys", "rotate", rest @ ..] => alphaswarm_proxy::federation::cli::rotate(rest),
        ["federation-keys", "export-jwks", file] => {
            alphaswarm_proxy::federation::cli::export_jwks(file)
        }
        ["-h" | "--help" | "help"] => {
            println!("{}", usage());
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{}", usage());
            ExitCode::from(2)
        }
    }
}

/// The state directory's checkpoint key, or the one an auditor was given.
fn checkpoint_key(pem_file: Option<&str>) -> Result<ed25519_dalek::VerifyingKey, String> {
    match pem_file {
        Some(file) => {
            let pem =
                std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
            public_key_from_pem(&pem)
                .ok_or_else(|| format!("{file} is not an Ed25519 public key (PEM)"))
        }
        None => {
            let path = config::state_dir_from_env().join(SIGNING_KEY_FILE);
            AuditSigner::load(&path)
                .map(|signer| signer.verifying_key())
                .map_err(|e| {
                    format!(
                        "cannot read the checkpoint key {}: {e} (pass --public-key)",
                        path.display()
                    )
                })
        }
    }
}

fn verify(path: &str, pem_file: Option<&str>) -> ExitCode {
    let key = match checkpoint_key(pem_file) {
        Ok(key) => key,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match verify_files(std::path::Path::new(path), &key) {
        Ok(report) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
            if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            ExitCode::from(2)
        }
    }
}

fn export_public_key() -> ExitCode {
    let path = config::state_dir_from_env().join(SIGNING_KEY_FILE);
    match AuditSigner::load(&path) {
        Ok(signer) => {
            print!("{}", signer.public_key_pem());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "cannot read the checkpoint key {}: {e} (the proxy creates it at its first start)",
                path.display()
            );
            ExitCode::from(2)
        }
    }
}

fn serve() -> ExitCode {
    // Before any reqwest client exists (they panic without a TLS provider).
    alphaswarm_proxy::aws::ensure_tls_provider();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!(
                "configuration error: {e}\n(set {} and start again)",
                e.var()
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(config))
}

async fn run(config: Config) -> ExitCode {
    let (aws, aws_warnings) = match aws_client(&config) {
        Ok(built) => built,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    for warning in aws_warnings {
        tracing::warn!("{warning}");
    }
    if config.partner_account_id.as_ref().map(|id| id.as_str())
        == Some(alphaswarm_core::aws::PLACEHOLDER_PARTNER_ACCOUNT_ID)
    {
        tracing::warn!(
            "{} is the placeholder {}: trust policies will name an account that is not AlphaSwarm's; set the real partner account id before a customer applies them",
            config::PARTNER_ACCOUNT_ID,
            alphaswarm_core::aws::PLACEHOLDER_PARTNER_ACCOUNT_ID
        );
    }
    let bind = config.bind;
    let state_dir = config.state_dir.clone();
    let partner_missing = config.partner_account_id.is_none();
    let (state, notes) = match build_state(config, aws) {
        Ok(built) => built,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    // The issuer's first signing key is generated now, not on the first request.
    match state
        .federation
        .ensure_key(alphaswarm_proxy::federation::now())
        .await
    {
        Ok(Some(kid)) => tracing::info!(kid, "federation signing key generated"),
        Ok(None) => {}
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::from(2);
        }
    }
    let mode = state.auth.mode();
    let listener = match tokio::net::TcpListener::bind(bind).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "cannot listen on {bind}: {e} (set {} to another address)",
                config::BIND
            );
            return ExitCode::from(2);
        }
    };
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| bind.to_string());
    print_banner(&address, mode, &state_dir, partner_missing, notes);
    let sweeper = alphaswarm_proxy::health::sweep::spawn(state.clone());
    let shutdown = async move {
        shutdown_signal().await;
        // Stopped before serve signs its last checkpoint, so no health row
        // lands after it.
        drop(sweeper);
    };
    let served = alphaswarm_proxy::serve::serve(listener, state, shutdown).await;
    match served {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What the operator needs to know, on stdout, once.
fn print_banner(
    address: &str,
    mode: &str,
    state_dir: &std::path::Path,
    partner_missing: bool,
    notes: StartNotes,
) {
    for warning in &notes.warnings {
        tracing::warn!("{warning}");
    }
    println!("AlphaSwarm proxy listening on http://{address}/");
    if mode == "local" {
        match notes.enrollment {
            Some(enrollment) => {
                println!("First start: the local operator was enrolled. This is shown ONCE:");
                println!("  username: {}", enrollment.username);
                println!("  password: {}", enrollment.password);
                println!("  totp uri: {}", enrollment.otpauth_uri);
                println!(
                    "Add the totp uri to an authenticator app (or any RFC 6238 tool); its codes confirm steps 3-5."
                );
            }
            None => println!(
                "Log in as admin with the password shown at first start (to re-enrol, delete {}).",
                state_dir.join("operator.json").display()
            ),
        }
    } else {
        println!(
            "Sessions come from the configured identity provider (Bearer JWT with admin:cluster and mfa)."
        );
    }
    if partner_missing {
        println!(
            "Note: {} is not set, so AWS bootstrap answers 503 until it is (any 12-digit id works for a trial, e.g. 111122223333).",
            config::PARTNER_ACCOUNT_ID
        );
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
