//! Start-up wiring: from a [`Config`] to the shared [`AppState`] and the router.

use crate::accounts::AccountProvider;
use crate::accounts::dockerhub::{DockerHubClient, DockerHubProvider};
use crate::accounts::huggingface::{HuggingFaceClient, HuggingFaceProvider};
use crate::audit::{AuditError, AuditSigner, AuditSink, FileAuditSink, SinkOptions};
use crate::auth::{AttemptGuard, Authenticator, Enrollment, LocalAuth, OidcAuth};
use crate::aws::{AwsApi, AwsError, Clock, QueryClient, TokioClock};
use crate::azure::{AzureApi, RestClient};
use crate::cloudflare::HttpCloudflare;
use crate::config::{self, Config, Secret};
use crate::federation::FederationIssuer;
use crate::federation::store::KeyStoreError;
use crate::providers::CloudProvider;
use crate::providers::aws::{AwsProvider, AwsSettings};
use crate::providers::azure::AzureProvider;
use crate::providers::cloudflare::CloudflareProvider;
use crate::providers::gcp::GcpProvider;
use crate::store::{FernetFileStore, IntegrationStore, StoreError};
use std::collections::BTreeMap;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Per-request limit on Cloudflare calls (each wizard step makes a few).
const CLOUDFLARE_TIMEOUT: Duration = Duration::from_secs(15);

pub struct Inner {
    pub config: Config,
    pub auth: Authenticator,
    /// Login and step-up budgets and the password-hash gate.
    pub limiter: AttemptGuard,
    pub audit: Arc<dyn AuditSink>,
    pub store: Arc<dyn IntegrationStore>,
    /// Keyed by URL segment (`aws`, ...).
    pub providers: BTreeMap<&'static str, Arc<dyn CloudProvider>>,
    /// AlphaSwarm's OIDC issuer: discovery, JWKS, minting.
    pub federation: Arc<FederationIssuer>,
    /// Keyed by integration kind (`huggingface`, `docker_hub`).
    pub accounts: BTreeMap<&'static str, Arc<dyn AccountProvider>>,
    /// The simulated clouds, in sandbox mode.
    pub sandbox: Option<Arc<crate::sandbox::Sandbox>>,
}

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Why the proxy refuses to start. Messages name settings, never their values.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("the AWS client cannot be built: {0}")]
    Aws(#[from] AwsError),
    #[error("the Cloudflare client cannot be built: {0}")]
    Cloudflare(String),
    #[error("{0} (set {audit_var} to another file)", audit_var = config::AUDIT_PATH)]
    Audit(#[from] AuditError),
    #[error("{0}")]
    FederationKeys(#[from] KeyStoreError),
    #[error("the HTTP client for HuggingFace and Docker Hub cannot be built: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the state directory {path} cannot be used: {source}")]
    StateDir {
        path: String,
        source: std::io::Error,
    },
}

/// What start-up tells the operator once (printed by main, not logged).
#[derive(Default)]
pub struct StartNotes {
    pub enrollment: Option<Enrollment>,
    pub warnings: Vec<String>,
}

/// The dev external-id secret: minted once per install, kept 0600 in the state dir.
fn dev_external_id_secret(state_dir: &Path, notes: &mut StartNotes) -> Result<Secret, StartError> {
    let path = state_dir.join("external_id_secret");
    let state_err = |source| StartError::StateDir {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => Ok(Secret::new(s.trim().to_owned())),
        Ok(_) => Err(state_err(std::io::Error::other(
            "the file is too short to be a secret",
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 32];
            rand::Rng::fill(&mut rand::rng(), &mut bytes);
            let secret = hex::encode(bytes);
            crate::store::write_atomically(&path, secret.as_bytes()).map_err(state_err)?;
            notes.warnings.push(format!(
                "DEVELOPMENT external-id secret minted at {} — set {} in production (external ids derive from it).",
                path.display(),
                config::EXTERNAL_ID_SECRET
            ));
            Ok(Secret::new(secret))
        }
        Err(e) => Err(state_err(e)),
    }
}

/// The AWS API the configuration asks for: the real SigV4 client, with
/// endpoints and platform credentials from the environment (tests point the
/// endpoints at moto or at the loopback AWS fake of `alphaswarm-fakes`).
/// Without platform credentials the proxy still starts: bootstrap needs no
/// AWS call, and steps 3-5 answer 503 `platform_credentials_missing`.
pub fn aws_client(config: &Config) -> Result<(Arc<dyn AwsApi>, Vec<String>), StartError> {
    let mut warnings = Vec::new();
    if config.aws.platform.is_none() {
        warnings.push(
            "No AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: wizard steps 3-5 answer platform_credentials_missing until the proxy has the platform account's credentials.".to_owned(),
        );
    }
    Ok((Arc::new(QueryClient::new(config.aws.clone())?), warnings))
}

/// The state directory holds secrets: created 0700, and narrowed to 0700
/// when it already exists with wider permissions.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(dir)?.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Builds the state from the configuration and the AWS client to use; the
/// Azure client is the real one, at the configured (or overridden) endpoints.
pub fn build_state(
    config: Config,
    aws: Arc<dyn AwsApi>,
) -> Result<(AppState, StartNotes), StartError> {
    build_state_with_clock(config, aws, Arc::new(TokioClock))
}

/// [`build_state`] with the clock that times step 3's retries while IAM
/// settles (tests pass a virtual one and count attempts, never wall time).
pub fn build_state_with_clock(
    config: Config,
    aws: Arc<dyn AwsApi>,
    clock: Arc<dyn Clock>,
) -> Result<(AppState, StartNotes), StartError> {
    build_state_in(config, aws, clock, None)
}

/// [`build_state`] over the simulated clouds of `sandbox` (the config's
/// endpoints must already point at them: [`crate::sandbox::Sandbox::settings`]).
pub fn build_state_in(
    config: Config,
    aws: Arc<dyn AwsApi>,
    clock: Arc<dyn Clock>,
    sandbox: Option<Arc<crate::sandbox::Sandbox>>,
) -> Result<(AppState, StartNotes), StartError> {
    // reqwest (OIDC's JWKS client below, the AWS client) panics without a
    // process-wide TLS provider.
    crate::aws::ensure_tls_provider();
    let azure: Arc<dyn AzureApi> = Arc::new(RestClient::new(&config.azure));
    let mut notes = StartNotes::default();
    let state_err = |source| StartError::StateDir {
        path: config.state_dir.display().to_string(),
        source,
    };
    create_private_dir(&config.state_dir).map_err(state_err)?;
    if config.bind.ip().is_unspecified() && config.http.allowed_hosts_defaulted {
        notes.warnings.push(format!(
            "Listening on every interface, but only requests naming {} are answered (421 otherwise): set {} to the host names clients use.",
            config.http.allowed_hosts.join(", "),
            config::ALLOWED_HOSTS
        ));
    }
    let external_id_secret = match &config.external_id_secret {
        Some(secret) => secret.clone(),
        None => dev_external_id_secret(&config.state_dir, &mut notes)?,
    };
    let key = match &config.integrations_key {
        Some(key) => key.expose().to_owned(),
        None => {
            notes.warnings.push(format!(
                "No {} set: using an EPHEMERAL store key for this process; connections will not be readable after a restart.",
                config::INTEGRATIONS_KEY
            ));
            FernetFileStore::generate_key()
        }
    };
    let store = if config.integrations_key.is_none() {
        // An ephemeral key can never read an earlier file, and must not
        // overwrite a real store: it gets its own file, reset at each start.
        let path = config.integrations_path.with_extension("ephemeral.json");
        let _ = std::fs::remove_file(&path);
        notes.warnings.push(format!(
            "This process stores connections in {} (unreadable after a restart).",
            path.display()
        ));
        FernetFileStore::open(path, &key)?
    } else {
        FernetFileStore::open(config.integrations_path.clone(), &key)?
    };
    let auth = match &config.oidc {
        Some(oidc) => Authenticator::Oidc(OidcAuth::new(oidc.clone())),
        None => {
            let (local, enrollment) =
                LocalAuth::load_or_enroll(&config.state_dir).map_err(|source| {
                    StartError::StateDir {
                        path: config.state_dir.display().to_string(),
                        source,
                    }
                })?;
            notes.enrollment = enrollment;
            Authenticator::Local(local)
        }
    };
    let aws_provider = AwsProvider::new(
        aws,
        AwsSettings {
            partner_account_id: config.partner_account_id.clone(),
            external_id_secret,
            role_name_pattern: config.role_name_pattern.clone(),
            template_url: config.aws_template_url.clone(),
            settle: Duration::from_secs(config.aws_settle_seconds),
            clock,
        },
    );
    let cloudflare = HttpCloudflare::new(&config.cloudflare_endpoint, CLOUDFLARE_TIMEOUT)
        .map_err(|e| StartError::Cloudflare(e.to_string()))?;
    let cloudflare_provider = CloudflareProvider::new(Arc::new(cloudflare));
    let store: Arc<dyn IntegrationStore> = Arc::new(store);
    let federation = Arc::new(federation_issuer(&config, &mut notes)?);
    let azure_provider = AzureProvider::new(
        azure,
        federation.clone(),
        config.azure.clone(),
        store.clone(),
    );
    let mut providers: BTreeMap<&'static str, Arc<dyn CloudProvider>> = BTreeMap::new();
    providers.insert(aws_provider.cloud(), Arc::new(aws_provider));
    providers.insert(azure_provider.cloud(), Arc::new(azure_provider));
    providers.insert(cloudflare_provider.cloud(), Arc::new(cloudflare_provider));
    // GCP's client is always the real one: tests point its endpoints at
    // the loopback fake.
    let gcp_provider = GcpProvider::new(
        Arc::new(crate::gcp::RestClient::new(&config.gcp)),
        federation.clone(),
        config.gcp.clone(),
        store.clone(),
    );
    providers.insert(gcp_provider.cloud(), Arc::new(gcp_provider));
    let accounts = account_providers(&config)?;
    let (signer, key_created) =
        AuditSigner::load_or_create(&config.state_dir).map_err(state_err)?;
    let (audit, audit_notes) = FileAuditSink::open(
        config.audit_path.clone(),
        SinkOptions {
            signer: Arc::new(signer),
            key_created,
            checkpoint_every_rows: config.audit_checkpoints.every_rows,
        },
    )?;
    notes.warnings.extend(audit_notes);
    let audit: Arc<dyn AuditSink> = Arc::new(audit);
    let state = AppState(Arc::new(Inner {
        config,
        auth,
        limiter: AttemptGuard::in_memory(),
        audit,
        store,
        providers,
        federation,
        accounts,
        sandbox,
    }));
    Ok((state, notes))
}

/// The issuer over the default key store (the key file in the state dir,
/// encrypted with the integrations key or a development key). Keys are
/// generated on first use; `serve` generates them at start.
fn federation_issuer(
    config: &Config,
    notes: &mut StartNotes,
) -> Result<FederationIssuer, StartError> {
    let (key, warning) =
        crate::federation::encryption_key(config.integrations_key.as_ref(), &config.state_dir)
            .map_err(|source| StartError::StateDir {
                path: config.state_dir.display().to_string(),
                source,
            })?;
    notes.warnings.extend(warning);
    let store = crate::federation::file_key_store(&config.state_dir, &key)?;
    Ok(FederationIssuer::new(
        config.federation.clone(),
        Arc::new(store),
    ))
}

/// HuggingFace and Docker Hub over one shared HTTP client, at the
/// configured endpoints.
fn account_providers(
    config: &Config,
) -> Result<BTreeMap<&'static str, Arc<dyn AccountProvider>>, StartError> {
    let http = crate::accounts::upstream::http_client()?;
    let providers: [Arc<dyn AccountProvider>; 2] = [
        Arc::new(HuggingFaceProvider::new(Arc::new(HuggingFaceClient::new(
            http.clone(),
            &config.accounts.huggingface_url,
        )))),
        Arc::new(DockerHubProvider::new(Arc::new(DockerHubClient::new(
            http,
            &config.accounts.dockerhub_url,
        )))),
    ];
    Ok(providers
        .into_iter()
        .map(|p| (p.kind().integration_kind(), p))
        .collect())
}
