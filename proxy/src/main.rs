//! `alphaswarm-proxy [serve]` runs the wizard's backend;
//! `alphaswarm-proxy verify-audit <path> [--public-key <pem>]` checks an
//! audit trail's hash chain and signed checkpoints;
//! `alphaswarm-proxy audit-public-key` prints the key that signs them;
//! `alphaswarm-proxy federation-keys rotate|export-jwks` manages the OIDC
//! issuer's signing keys.

use alphaswarm_proxy::app::{StartNotes, aws_client, build_state_in};
use alphaswarm_proxy::audit::{AuditSigner, SIGNING_KEY_FILE, public_key_from_pem, verify_files};
use alphaswarm_proxy::aws::TokioClock;
use alphaswarm_proxy::config::{self, Config};
use alphaswarm_proxy::sandbox::{self, Sandbox};
use std::process::ExitCode;
use std::sync::Arc;

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
    init_logging();
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

/// Plain text (colours only on a terminal), or one JSON object per line
/// with `ALPHASWARM_ADMIN_LOG_FORMAT=json`; on stderr either way.
fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json =
        std::env::var(config::LOG_FORMAT).is_ok_and(|v| v.trim().eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

/// In sandbox mode: listens first (the simulated Entra and Google fetch the
/// issuer's keys from the proxy's own address), starts the fakes and
/// re-reads the configuration with their endpoints laid over it.
async fn sandboxed(
    config: Config,
) -> Result<(Config, Arc<Sandbox>, tokio::net::TcpListener), String> {
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}: {e} (set {} to another address)",
                config.bind,
                config::BIND
            )
        })?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let sandbox = Sandbox::start(address)
        .await
        .map_err(|e| format!("the simulated clouds cannot start: {e}"))?;
    let get = sandbox::overlay(sandbox.settings(), |name: &str| std::env::var(name).ok());
    let mut config = Config::from_lookup(get).map_err(|e| format!("configuration error: {e}"))?;
    config.bind = address;
    Ok((config, Arc::new(sandbox), listener))
}

async fn run(config: Config) -> ExitCode {
    let (config, sandbox, listener) = if config.sandbox {
        match sandboxed(config).await {
            Ok((config, sandbox, listener)) => (config, Some(sandbox), Some(listener)),
            Err(e) => {
                eprintln!("cannot start: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        (config, None, None)
    };
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
    let bind = config.bind;
    let state_dir = config.state_dir.clone();
    let partner_missing = config.partner_account_id.is_none();
    let in_sandbox = sandbox.is_some();
    let (state, notes) = match build_state_in(config, aws, Arc::new(TokioClock), sandbox) {
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
    let listener = match listener {
        Some(listener) => listener,
        None => match tokio::net::TcpListener::bind(bind).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!(
                    "cannot listen on {bind}: {e} (set {} to another address)",
                    config::BIND
                );
                return ExitCode::from(2);
            }
        },
    };
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| bind.to_string());
    print_banner(&address, mode, &state_dir, partner_missing, notes);
    if in_sandbox {
        println!(
            "SANDBOX: every cloud (AWS, Azure, Google Cloud, Cloudflare, HuggingFace, Docker Hub) is simulated on this machine; nothing reaches a real cloud. Use \"Apply in the sandbox\" at step 2."
        );
    }
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
