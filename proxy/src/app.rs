//! Start-up wiring: from a [`Config`] to the shared [`AppState`] and the router.

use crate::accounts::AccountProvider;
use crate::accounts::dockerhub::{DockerHubClient, DockerHubProvider};
use crate::accounts::huggingface::{HuggingFaceClient, HuggingFaceProvider};
use crate::audit::{AuditError, AuditSigner, AuditSink};
use crate::auth::limiter::BackoffPolicy;
use crate::auth::{AttemptGuard, Authenticator, Enrollment, LocalAuth, OidcAuth};
use crate::aws::{AwsApi, AwsError, Clock, QueryClient, TokioClock};
use crate::azure::{AzureApi, RestClient};
use crate::cloudflare::HttpCloudflare;
use crate::config::{self, Config, Secret};
use crate::credentials::integration::ProxyIntegrationSecrets;
use crate::credentials::{Credentials, OwnSecretSource};
use crate::db::audit::{DbAuditSink, DbSinkOptions};
use crate::db::file_era::{self, FileSources, ImportError};
use crate::db::guards::{AuthGuards, DbAttemptBudget};
use crate::db::keys::DbKeyStore;
use crate::db::store::DbIntegrationStore;
use crate::db::{Database, DbError, OpenOptions};
use crate::federation::FederationIssuer;
use crate::federation::store::{KeyStoreError, SigningKeyStore};
use crate::providers::CloudProvider;
use crate::providers::aws::{AwsProvider, AwsSettings};
use crate::providers::azure::AzureProvider;
use crate::providers::cloudflare::CloudflareProvider;
use crate::providers::gcp::GcpProvider;
use crate::store::{IntegrationStore, StoreError};
use alphaswarm_resolver::CredentialResolver;
use alphaswarm_resolver::clock::SystemClock;
use alphaswarm_resolver::config::PRIORITY_INTEGRATION_STORE;
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
    /// The database behind the store and the audit chain.
    pub database: Database,
    /// Keyed by URL segment (`aws`, ...).
    pub providers: BTreeMap<&'static str, Arc<dyn CloudProvider>>,
    /// AlphaSwarm's OIDC issuer: discovery, JWKS, minting.
    pub federation: Arc<FederationIssuer>,
    /// Keyed by integration kind (`huggingface`, `docker_hub`).
    pub accounts: BTreeMap<&'static str, Arc<dyn AccountProvider>>,
    /// The simulated clouds, in sandbox mode.
    pub sandbox: Option<Arc<crate::sandbox::Sandbox>>,
    /// The CredentialResolver chain, this proxy's store as `integration_store` in it.
    pub credentials: Arc<CredentialResolver>,
    /// Which store answered each of the proxy's own secrets (describe).
    pub own_secrets: Vec<OwnSecretSource>,
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
    /// The resolver chain's settings (each names its variable, never a value).
    #[error("the credential resolver is misconfigured:\n{0}")]
    Resolver(String),
    /// One of the proxy's own secrets (names the key, the store, the field).
    #[error("{0}")]
    OwnSecret(String),
    #[error("the state directory {path} cannot be used: {source}")]
    StateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Database(#[from] DbError),
    #[error("{0}")]
    Import(#[from] ImportError),
}

impl StartError {
    /// A stable code for the operator's runbook.
    pub fn code(&self) -> &'static str {
        match self {
            StartError::Config(_) => "invalid_configuration",
            StartError::Store(e) => e.code(),
            StartError::Aws(_) => "aws_client_unavailable",
            StartError::Cloudflare(_) => "cloudflare_client_unavailable",
            StartError::Audit(_) => "audit_log_unusable",
            StartError::FederationKeys(KeyStoreError::Database(e)) => e.code(),
            StartError::FederationKeys(_) => "federation_keys_unusable",
            StartError::Http(_) => "http_client_unavailable",
            StartError::StateDir { .. } => "state_dir_unusable",
            StartError::Database(e) => e.code(),
            StartError::Import(e) => e.code(),
            StartError::Resolver(_) => "credential_resolver_misconfigured",
            StartError::OwnSecret(_) => "own_secret_unavailable",
        }
    }

    /// The setting to look at.
    pub fn var(&self) -> &'static str {
        match self {
            StartError::Config(e) => e.var(),
            StartError::Store(StoreError::Database(e))
            | StartError::FederationKeys(KeyStoreError::Database(e))
            | StartError::Database(e) => e.var(),
            StartError::Store(_) | StartError::FederationKeys(_) => config::INTEGRATIONS_KEY,
            StartError::Aws(_) => "AWS_REGION",
            StartError::Cloudflare(_) => config::CLOUDFLARE_ENDPOINT_URL,
            StartError::Audit(_) => config::AUDIT_PATH,
            StartError::Http(_) => "HTTPS_PROXY",
            StartError::StateDir { .. } => config::STATE_DIR,
            StartError::Import(e) => e.var(),
            // Both messages name their settings, keys and stores themselves.
            StartError::Resolver(_) => "the resolver settings named above",
            StartError::OwnSecret(_) => "the key and store named above",
        }
    }
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

/// Builds the state from the configuration and the AWS client to use: opens
/// and migrates the database, checks the store key against it and imports
/// the file era's state on the first start that finds it. The Azure client
/// is the real one, at the configured (or overridden) endpoints.
pub async fn build_state(
    config: Config,
    credentials: Credentials,
    aws: Arc<dyn AwsApi>,
) -> Result<(AppState, StartNotes), StartError> {
    build_state_with_clock(config, credentials, aws, Arc::new(TokioClock)).await
}

/// [`build_state`] with the clock that times step 3's retries while IAM
/// settles (tests pass a virtual one and count attempts, never wall time).
pub async fn build_state_with_clock(
    config: Config,
    credentials: Credentials,
    aws: Arc<dyn AwsApi>,
    clock: Arc<dyn Clock>,
) -> Result<(AppState, StartNotes), StartError> {
    build_state_in(config, credentials, aws, clock, None).await
}

/// [`build_state`] over the simulated clouds of `sandbox` (the config's
/// endpoints must already point at them: [`crate::sandbox::Sandbox::settings`]).
pub async fn build_state_in(
    config: Config,
    credentials: Credentials,
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
    // One key encrypts the stored connections and the federation signing
    // keys; without ALPHASWARM_ADMIN_INTEGRATIONS_KEY a development key is
    // minted once in the state dir.
    let (key, warning) =
        crate::federation::encryption_key(config.integrations_key.as_ref(), &config.state_dir)
            .map_err(|source| StartError::StateDir {
                path: config.state_dir.display().to_string(),
                source,
            })?;
    notes.warnings.extend(warning);
    let db = Database::open(
        &config.database,
        OpenOptions {
            connect_timeout: Duration::from_secs(config.database_connect_timeout_seconds),
            ..OpenOptions::default()
        },
    )
    .await?;
    let store = DbIntegrationStore::open(db.clone(), key.expose()).await?;
    let sources = FileSources {
        store: config.integrations_path.clone(),
        audit: config.audit_path.clone(),
    };
    if let Some(report) = file_era::import_once(&db, key.expose(), &sources).await? {
        notes.warnings.push(report.to_string());
    }
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
            // Replicas share the "code accepted once" guard in the database.
            let scope = local.replay_scope();
            Authenticator::Local(
                local.with_replay_guard(Arc::new(AuthGuards::new(db.clone(), scope))),
            )
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
    let store_location = db.site().to_string();
    let store: Arc<dyn IntegrationStore> = Arc::new(store);
    let Credentials {
        resolver: mut chain,
        own: own_secrets,
        warnings,
    } = credentials;
    notes.warnings.extend(warnings);
    chain.push(
        PRIORITY_INTEGRATION_STORE,
        Arc::new(alphaswarm_resolver::stores::IntegrationStore::new(
            Arc::new(ProxyIntegrationSecrets::new(store.clone(), store_location)),
            Arc::new(SystemClock),
        )),
    );
    let federation = Arc::new(federation_issuer(&config, &db, &key, &mut notes).await?);
    let azure_provider = AzureProvider::new(azure, federation.clone(), config.azure.clone());
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
    );
    providers.insert(gcp_provider.cloud(), Arc::new(gcp_provider));
    let accounts = account_providers(&config)?;
    let (signer, key_created) =
        AuditSigner::load_or_create(&config.state_dir).map_err(state_err)?;
    // Every replica signs checkpoints with the one key the database holds.
    let (signer, signer_notes) = crate::db::audit::shared_signer(
        &db,
        key.expose(),
        signer,
        key_created,
        &config.state_dir.join(crate::audit::SIGNING_KEY_FILE),
    )
    .await?;
    notes.warnings.extend(signer_notes);
    let (audit, audit_notes) = DbAuditSink::open(
        db.clone(),
        DbSinkOptions {
            signer: Arc::new(signer),
            checkpoint_every_rows: config.audit_checkpoints.every_rows,
        },
    )
    .await?;
    notes.warnings.extend(audit_notes);
    let audit: Arc<dyn AuditSink> = Arc::new(audit);
    let state = AppState(Arc::new(Inner {
        config,
        auth,
        // The attempt budgets live in the database: every replica counts
        // against the same ones.
        limiter: AttemptGuard::with_budget(Arc::new(DbAttemptBudget::new(
            db.clone(),
            BackoffPolicy::default(),
        ))),
        audit,
        store,
        database: db,
        providers,
        federation,
        accounts,
        sandbox,
        credentials: Arc::new(chain),
        own_secrets,
    }));
    Ok((state, notes))
}

/// The issuer over the keys in the database (encrypted with the
/// integrations key or the development key), shared by every replica. A
/// file-era key file is imported once, when the database has no keys yet,
/// and left in place. Keys are generated on first use; `serve` generates
/// them at start.
pub async fn federation_issuer(
    config: &Config,
    db: &Database,
    key: &Secret,
    notes: &mut StartNotes,
) -> Result<FederationIssuer, StartError> {
    let store = DbKeyStore::new(db.clone(), key.expose())?;
    let file = crate::federation::keys_path(&config.state_dir);
    if store.load().await?.is_none() && file.exists() {
        let ring = crate::federation::file_key_store(&config.state_dir, key)?
            .load()
            .await?;
        if let Some(ring) = ring {
            match store.save(&ring).await {
                // Another replica imported (or generated) first: theirs stands.
                Ok(()) | Err(KeyStoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
            notes.warnings.push(format!(
                "Imported {} federation signing key(s) from {} into the database (the file is left as it was).",
                ring.keys.len(),
                file.display()
            ));
        }
    }
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
