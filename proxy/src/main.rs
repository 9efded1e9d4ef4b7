//! `alphaswarm-proxy [serve]` runs the wizard's backend;
//! `alphaswarm-proxy verify-audit` checks the audit chain in the configured
//! database; `alphaswarm-proxy verify-audit <path> [--public-key <pem>]`
//! checks a JSON-lines trail file's hash chain and signed checkpoints;
//! `alphaswarm-proxy audit-public-key` prints the key that signs them;
//! `alphaswarm-proxy export-audit <path> [--force]` writes the database's
//! trail out in that file format, for an auditor who has only the key;
//! `alphaswarm-proxy export <path> [--force]` writes the store out in the
//! file era's encrypted JSON format;
//! `alphaswarm-proxy federation-keys rotate|export-jwks` manages the OIDC
//! issuer's signing keys.

use alphaswarm_proxy::app::{StartError, StartNotes, aws_client, build_state_in};
use alphaswarm_proxy::audit::{
    AuditSigner, AuditSink, SIGNING_KEY_FILE, VerifyReport, public_key_from_pem, verify_files,
};
use alphaswarm_proxy::aws::TokioClock;
use alphaswarm_proxy::config::{self, Config};
use alphaswarm_proxy::credentials::Credentials;
use alphaswarm_proxy::db::audit::DbAuditSink;
use alphaswarm_proxy::db::store::DbIntegrationStore;
use alphaswarm_proxy::db::{Database, OpenOptions, file_era};
use alphaswarm_proxy::sandbox::Sandbox;
use alphaswarm_resolver::Environment;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

fn usage() -> String {
    format!(
        "usage: alphaswarm-proxy [serve]
       alphaswarm-proxy verify-audit [--public-key <pem file>]
       alphaswarm-proxy verify-audit <audit file> [--public-key <pem file>]
       alphaswarm-proxy audit-public-key
       alphaswarm-proxy export-audit <audit file> [--force]
       alphaswarm-proxy export <path> [--force]
{}

verify-audit exits 0 when the trail is intact, 1 when it is not (tampered,
re-hashed, truncated, emptied, missing, unsigned), 2 when it cannot be
checked (unreadable file or database, no key). Without a path it checks the
chain in the database (ALPHASWARM_ADMIN_DATABASE_URL, default the state
directory's alphaswarm.db). Without --public-key it uses the key in the
state directory (ALPHASWARM_ADMIN_STATE_DIR, default ~/.alphaswarm).

export-audit writes the database's trail as JSON lines (its checkpoints in
<audit file> with the extension .checkpoints.jsonl), which verify-audit
<audit file> --public-key <pem file> checks without the proxy's state.",
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
        ["verify-audit"] => with_database(|_, db| verify_database(db, None)),
        ["verify-audit", "--public-key", key] => {
            with_database(|_, db| verify_database(db, Some(key)))
        }
        ["verify-audit", path] => verify(path, None),
        ["verify-audit", path, "--public-key", key]
        | ["verify-audit", "--public-key", key, path] => verify(path, Some(key)),
        ["audit-public-key"] => export_public_key(),
        ["export-audit", path] => with_database(|_, db| export_audit(db, path, false)),
        ["export-audit", path, "--force"] | ["export-audit", "--force", path] => {
            with_database(|_, db| export_audit(db, path, true))
        }
        ["export", path] => with_database(|config, db| export(config, db, path, false)),
        ["export", path, "--force"] | ["export", "--force", path] => {
            with_database(|config, db| export(config, db, path, true))
        }
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
    report_verification(verify_files(std::path::Path::new(path), &key), || {
        format!("cannot read {path}")
    })
}

/// Prints a trail check: exit 0 intact, 1 broken, 2 unreadable.
fn report_verification<E: std::fmt::Display>(
    verified: Result<VerifyReport, E>,
    unreadable: impl FnOnce() -> String,
) -> ExitCode {
    match verified {
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
            eprintln!("{}: {e}", unreadable());
            ExitCode::from(2)
        }
    }
}

/// Reads the configuration, opens (and migrates) the database and runs `work` on it.
fn with_database<F, Fut>(work: F) -> ExitCode
where
    F: FnOnce(Config, Database) -> Fut,
    Fut: Future<Output = ExitCode>,
{
    alphaswarm_proxy::aws::ensure_tls_provider();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => return config_error(&e),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let options = OpenOptions {
            connect_timeout: Duration::from_secs(config.database_connect_timeout_seconds),
            max_connections: 2,
        };
        match Database::open(&config.database, options).await {
            Ok(db) => {
                let code = work(config, db.clone()).await;
                db.close().await;
                code
            }
            Err(e) => start_error(e.code(), &e, e.var()),
        }
    })
}

async fn verify_database(db: Database, pem_file: Option<&str>) -> ExitCode {
    let key = match checkpoint_key(pem_file) {
        Ok(key) => key,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    report_verification(
        DbAuditSink::verifier(db.clone(), key).verify().await,
        || format!("cannot read the audit chain in {}", db.site()),
    )
}

async fn export(config: Config, db: Database, path: &str, replace: bool) -> ExitCode {
    let Some(key) = config.integrations_key.as_ref() else {
        eprintln!(
            "{} is not set: the export is encrypted with the store's key, so set it to that key",
            config::INTEGRATIONS_KEY
        );
        return ExitCode::from(2);
    };
    let store = match DbIntegrationStore::open(db, key.expose()).await {
        Ok(store) => store,
        Err(e) => return start_error(e.code(), &e, config::INTEGRATIONS_KEY),
    };
    match file_era::export(&store, std::path::Path::new(path), replace).await {
        Ok(count) => {
            println!(
                "exported {count} integrations to {path} (format {}, encrypted with {})",
                alphaswarm_proxy::store::FORMAT,
                config::INTEGRATIONS_KEY
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("export failed: {e}");
            ExitCode::from(2)
        }
    }
}

/// The database's trail in the file format, for an auditor with the public key only.
async fn export_audit(db: Database, path: &str, replace: bool) -> ExitCode {
    let rows = std::path::Path::new(path);
    // Any key will do: exporting checks nothing and signs nothing.
    let sink = DbAuditSink::verifier(db, ed25519_dalek::VerifyingKey::default());
    match sink.export(rows, replace).await {
        Ok(count) => {
            println!(
                "exported {count} audit rows to {path} and their checkpoints to {} (check them with `alphaswarm-proxy verify-audit {path} --public-key <pem file>`)",
                alphaswarm_proxy::audit::checkpoints_path(rows).display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("audit export failed: {e}");
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

fn config_error(e: &config::ConfigError) -> ExitCode {
    eprintln!(
        "configuration error: {e}\n(set {} and start again)",
        e.var()
    );
    ExitCode::from(2)
}

/// A coded start-up failure: what, where, and which setting to look at.
fn start_error(code: &str, error: &dyn std::fmt::Display, var: &str) -> ExitCode {
    eprintln!("cannot start [{code}]: {error}\n(check {var} and start again)");
    ExitCode::from(2)
}

fn serve() -> ExitCode {
    // Before any reqwest client exists (they panic without a TLS provider).
    alphaswarm_proxy::aws::ensure_tls_provider();
    init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run())
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
) -> Result<(Config, Credentials, Arc<Sandbox>, tokio::net::TcpListener), String> {
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
    let (mut config, credentials) = alphaswarm_proxy::credentials::load_laid_over(
        Environment::from_process(),
        &sandbox.settings(),
    )
    .await
    .map_err(|e| format!("configuration error: {e}"))?;
    config.bind = address;
    Ok((config, credentials, Arc::new(sandbox), listener))
}

async fn run() -> ExitCode {
    // The proxy's own secrets resolve through the CredentialResolver chain
    // (env last, as the safety net) before anything else is read.
    let (config, credentials) = match alphaswarm_proxy::credentials::load_from_process().await {
        Ok(loaded) => loaded,
        Err(StartError::Config(e)) => {
            eprintln!(
                "configuration error: {e}\n(set {} and start again)",
                e.var()
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let (config, credentials, sandbox, listener) = if config.sandbox {
        match sandboxed(config).await {
            Ok((config, credentials, sandbox, listener)) => {
                (config, credentials, Some(sandbox), Some(listener))
            }
            Err(e) => {
                eprintln!("cannot start: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        (config, credentials, None, None)
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
    let in_sandbox = sandbox.is_some();
    let (state, notes) =
        match build_state_in(config, credentials, aws, Arc::new(TokioClock), sandbox).await {
            Ok(built) => built,
            Err(e) => return start_error(e.code(), &e, e.var()),
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
    let database = state.database.clone();
    let sweeper = alphaswarm_proxy::health::sweep::spawn(state.clone());
    let shutdown = async move {
        shutdown_signal().await;
        // Stopped before serve signs its last checkpoint, so no health row
        // lands after it.
        drop(sweeper);
    };
    let served = alphaswarm_proxy::serve::serve(listener, state, shutdown).await;
    database.close().await;
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
