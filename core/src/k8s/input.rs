//! What the operator gives for one workload, as the form and the npm
//! package send it (raw strings), and its validated form: the only input of
//! rendering.

use super::ids::{
    ClusterName, GcpLocation, KeyVaultName, Namespace, ServiceAccountName, WorkloadKind,
    WorkloadName,
};
use crate::aws::{AwsPartition, AwsRegion, ROLE_NAME_RULE, RoleName};
use crate::azure::{FederatedCredentialName, ManagedIdentityName, ResourceGroupName};
use crate::bundle::RenderError;
use crate::gcp::{GcpProjectId, GcpProjectNumber, GcpServiceAccountEmail};
use crate::ids::{AwsAccountId, Guid, IssuerUrl};
use crate::keys::{self, CredentialKey, Store, StoreName};
use crate::name::{self, DerivedName, NameShape};
use serde::{Deserialize, Serialize};

/// Most credential keys one workload may name: more is a paste error, and
/// each key adds a grant and an ExternalSecret.
pub const MAX_CREDENTIAL_KEYS: usize = 50;

/// The four ways a pod gets a cloud identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum WorkloadCloud {
    /// AKS with Azure Workload Identity.
    Aks,
    /// EKS with IAM roles for service accounts (IRSA).
    Eks,
    /// EKS Pod Identity (association instead of an annotation).
    EksPodIdentity,
    /// GKE Workload Identity Federation.
    Gke,
}

impl WorkloadCloud {
    pub const ALL: [WorkloadCloud; 4] = [
        WorkloadCloud::Aks,
        WorkloadCloud::Eks,
        WorkloadCloud::EksPodIdentity,
        WorkloadCloud::Gke,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadCloud::Aks => "aks",
            WorkloadCloud::Eks => "eks",
            WorkloadCloud::EksPodIdentity => "eks_pod_identity",
            WorkloadCloud::Gke => "gke",
        }
    }
}

/// Where External Secrets Operator's store lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum EsoStoreKind {
    /// A `SecretStore` in the workload's namespace.
    SecretStore,
    /// A `ClusterSecretStore` every namespace may reference.
    ClusterSecretStore,
}

impl EsoStoreKind {
    pub fn kind(self) -> &'static str {
        match self {
            EsoStoreKind::SecretStore => "SecretStore",
            EsoStoreKind::ClusterSecretStore => "ClusterSecretStore",
        }
    }
}

/// The cloud side of the request, one variant per [`WorkloadCloud`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum CloudSide {
    Aks {
        subscription_id: String,
        /// Where the managed identity is created (and the cluster lives).
        resource_group: String,
        key_vault_name: String,
        /// Defaults to `resource_group`.
        #[serde(default)]
        key_vault_resource_group: Option<String>,
        /// Defaults to `<namespace>-<service account>`.
        #[serde(default)]
        identity_name: Option<String>,
        /// When the identity exists already: its client id goes straight
        /// into the ServiceAccount manifest.
        #[serde(default)]
        identity_client_id: Option<String>,
    },
    Eks {
        account_id: String,
        region: String,
        /// Defaults to `<namespace>-<service account>`.
        #[serde(default)]
        role_name: Option<String>,
    },
    EksPodIdentity {
        account_id: String,
        region: String,
        #[serde(default)]
        role_name: Option<String>,
    },
    Gke {
        project_id: String,
        project_number: String,
        /// Region or zone of the cluster (for the pool query and ESO).
        #[serde(default)]
        location: Option<String>,
        /// The legacy form: impersonate this Google service account instead
        /// of granting the Kubernetes service account directly.
        #[serde(default)]
        google_service_account: Option<String>,
    },
}

impl CloudSide {
    pub fn cloud(&self) -> WorkloadCloud {
        match self {
            CloudSide::Aks { .. } => WorkloadCloud::Aks,
            CloudSide::Eks { .. } => WorkloadCloud::Eks,
            CloudSide::EksPodIdentity { .. } => WorkloadCloud::EksPodIdentity,
            CloudSide::Gke { .. } => WorkloadCloud::Gke,
        }
    }
}

/// One workload's wiring request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadIdentityRequest {
    pub namespace: String,
    pub service_account: String,
    /// Defaults to `deployment`.
    #[serde(default)]
    pub workload_kind: Option<WorkloadKind>,
    /// Defaults to the service account's name.
    #[serde(default)]
    pub workload_name: Option<String>,
    /// The cluster's OIDC issuer exactly as the cluster reports it (AKS and
    /// EKS IRSA need it; when missing, the error's hint is the query).
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub cluster_name: Option<String>,
    /// `service:purpose` keys the workload reads.
    pub credential_keys: Vec<String>,
    /// Naming prefix in the cloud store; the store's default when omitted.
    #[serde(default)]
    pub store_prefix: Option<String>,
    /// Also render External Secrets Operator manifests.
    #[serde(default)]
    pub external_secrets: Option<EsoStoreKind>,
    pub cloud: CloudSide,
}

/// A secret the workload reads: its key and its name in the cloud store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedSecret {
    pub key: CredentialKey,
    pub store_name: StoreName,
    /// The Kubernetes Secret ESO writes it to.
    pub k8s_secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AksSide {
    pub subscription_id: Guid,
    pub resource_group: ResourceGroupName,
    pub key_vault_name: KeyVaultName,
    pub key_vault_resource_group: ResourceGroupName,
    pub identity_name: ManagedIdentityName,
    pub identity_name_derivation: DerivedName,
    pub credential_name: FederatedCredentialName,
    pub credential_name_derivation: DerivedName,
    pub identity_client_id: Option<Guid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EksSide {
    pub account_id: AwsAccountId,
    pub region: AwsRegion,
    pub role_name: RoleName,
    pub role_name_derivation: DerivedName,
    pub pod_identity: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GkeSide {
    pub project_id: GcpProjectId,
    pub project_number: GcpProjectNumber,
    pub location: Option<GcpLocation>,
    pub google_service_account: Option<GcpServiceAccountEmail>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidatedCloud {
    Aks(AksSide),
    Eks(EksSide),
    Gke(GkeSide),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedWorkload {
    pub cloud: WorkloadCloud,
    pub namespace: Namespace,
    pub service_account: ServiceAccountName,
    pub workload_kind: WorkloadKind,
    pub workload_name: WorkloadName,
    pub issuer: Option<IssuerUrl>,
    pub cluster_name: Option<ClusterName>,
    pub store: Store,
    pub secrets: Vec<NamedSecret>,
    pub external_secrets: Option<EsoStoreKind>,
    pub side: ValidatedCloud,
}

/// `None` for an absent or blank optional field: forms send "" for "not given".
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn invalid(field: &'static str, message: impl Into<String>, hint: &'static str) -> RenderError {
    RenderError::Invalid {
        field,
        message: message.into(),
        hint,
    }
}

/// `<namespace>-<service account>` fitted into an identity or role name rule.
fn derived_name(ns: &Namespace, sa: &ServiceAccountName, rule: &crate::rule::Rule) -> DerivedName {
    name::derive_text(
        &NameShape {
            prefix: "",
            suffix: "",
            rule,
            sanitise: name::sanitise_alnum_dash,
        },
        &format!("{ns}-{sa}").replace('.', "-"),
    )
}

/// The Kubernetes Secret name for a key: lowercase, `_` `:` `.` become `-`.
pub fn k8s_secret_name(key: &CredentialKey) -> String {
    format!("{}-{}", key.service(), key.purpose())
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '-',
        })
        .collect::<String>()
        .trim_matches('-')
        .to_owned()
}

impl WorkloadIdentityRequest {
    pub fn validate(&self) -> Result<ValidatedWorkload, RenderError> {
        let cloud = self.cloud.cloud();
        let namespace = Namespace::parse(self.namespace.trim()).map_err(|e| e.at("namespace"))?;
        let service_account = ServiceAccountName::parse(self.service_account.trim())
            .map_err(|e| e.at("service_account"))?;
        let workload_kind = self.workload_kind.unwrap_or_default();
        let workload_name =
            WorkloadName::parse(given(&self.workload_name).unwrap_or(service_account.as_str()))
                .map_err(|e| e.at("workload_name"))?;
        let cluster_name = given(&self.cluster_name)
            .map(ClusterName::parse)
            .transpose()
            .map_err(|e| e.at("cluster_name"))?;
        // Clouds compare the issuer exactly: no trimming.
        let issuer = self
            .issuer
            .as_deref()
            .filter(|i| !i.is_empty())
            .map(IssuerUrl::parse)
            .transpose()
            .map_err(|e| e.at("issuer"))?;

        let side = validate_side(&self.cloud, &namespace, &service_account)?;
        match (&side, &issuer) {
            (ValidatedCloud::Aks(_), None)
            | (
                ValidatedCloud::Eks(EksSide {
                    pod_identity: false,
                    ..
                }),
                None,
            ) => {
                return Err(missing_issuer(cloud, &self.cloud, cluster_name.as_ref()));
            }
            _ => {}
        }
        if cloud == WorkloadCloud::EksPodIdentity && cluster_name.is_none() {
            return Err(RenderError::Missing {
                field: "cluster_name",
            });
        }
        if cloud == WorkloadCloud::EksPodIdentity && self.external_secrets.is_some() {
            return Err(invalid(
                "external_secrets",
                "External Secrets Operator cannot use an EKS Pod Identity association of your service account",
                "ESO authenticates a store as the referenced service account through its token (IRSA); a Pod Identity association only gives credentials to the pods of that service account. Choose EKS (IRSA) for the ESO variant.",
            ));
        }

        let store = match &side {
            ValidatedCloud::Aks(_) => Store::AzureKeyVault {
                prefix: given(&self.store_prefix)
                    .unwrap_or(keys::DEFAULT_AZURE_PREFIX)
                    .to_owned(),
            },
            ValidatedCloud::Eks(_) => Store::AwsSecretsManager {
                prefix: given(&self.store_prefix)
                    .unwrap_or(keys::DEFAULT_AWS_PREFIX)
                    .to_owned(),
            },
            ValidatedCloud::Gke(GkeSide { project_id, .. }) => Store::GcpSecretManager {
                project: project_id.to_string(),
                prefix: given(&self.store_prefix)
                    .unwrap_or(keys::DEFAULT_GCP_PREFIX)
                    .to_owned(),
            },
        };
        let secrets = named_secrets(&self.credential_keys, &store)?;
        Ok(ValidatedWorkload {
            cloud,
            namespace,
            service_account,
            workload_kind,
            workload_name,
            issuer,
            cluster_name,
            store,
            secrets,
            external_secrets: self.external_secrets,
            side,
        })
    }
}

fn key_error(e: keys::KeyError) -> RenderError {
    use crate::error::CoreError;
    let field = if e.code() == "invalid_store_option" {
        "store_prefix"
    } else {
        "credential_keys"
    };
    RenderError::Invalid {
        field,
        message: e.to_string(),
        hint: match e.code() {
            "invalid_store_option" => {
                "Use the store's default prefix, or one made only of characters the store allows."
            }
            "unnameable_in_store" => {
                "The key has no valid name in this store: use a shorter prefix or purpose."
            }
            _ => "Write each key as service:purpose, e.g. postgres:password.",
        },
    }
}

fn named_secrets(raw: &[String], store: &Store) -> Result<Vec<NamedSecret>, RenderError> {
    if raw.is_empty() {
        return Err(RenderError::Missing {
            field: "credential_keys",
        });
    }
    if raw.len() > MAX_CREDENTIAL_KEYS {
        return Err(invalid(
            "credential_keys",
            format!(
                "{} credential keys were given; at most {MAX_CREDENTIAL_KEYS} are supported",
                raw.len()
            ),
            "Name only the keys this workload reads.",
        ));
    }
    let mut keys: Vec<CredentialKey> = raw
        .iter()
        .map(|k| k.trim().parse::<CredentialKey>().map_err(key_error))
        .collect::<Result<_, _>>()?;
    keys.sort();
    keys.dedup();
    if let Some(c) = keys::find_collisions(&keys, store).first() {
        return Err(invalid(
            "credential_keys",
            format!(
                "{} and {} share the name {} in {}",
                c.keys[0],
                c.keys[1],
                c.name,
                store.label()
            ),
            "Two keys would overwrite each other in the store: keep only one of them.",
        ));
    }
    let mut secrets = Vec::with_capacity(keys.len());
    for key in keys {
        let store_name = keys::store_name(&key, store).map_err(key_error)?;
        let k8s_secret = k8s_secret_name(&key);
        if let Some(other) = secrets
            .iter()
            .find(|s: &&NamedSecret| s.k8s_secret == k8s_secret)
        {
            return Err(invalid(
                "credential_keys",
                format!(
                    "{} and {key} would both be written to the Kubernetes Secret {k8s_secret}",
                    other.key
                ),
                "Keep only one of the two keys.",
            ));
        }
        secrets.push(NamedSecret {
            key,
            store_name,
            k8s_secret,
        });
    }
    Ok(secrets)
}

fn validate_side(
    side: &CloudSide,
    ns: &Namespace,
    sa: &ServiceAccountName,
) -> Result<ValidatedCloud, RenderError> {
    Ok(match side {
        CloudSide::Aks {
            subscription_id,
            resource_group,
            key_vault_name,
            key_vault_resource_group,
            identity_name,
            identity_client_id,
        } => {
            let resource_group = ResourceGroupName::parse(resource_group.trim())
                .map_err(|e| e.at("resource_group"))?;
            let identity_name_derivation = match given(identity_name) {
                Some(n) => DerivedName {
                    value: n.to_owned(),
                    shortened_from: None,
                },
                None => derived_name(ns, sa, &crate::azure::MANAGED_IDENTITY_NAME_RULE),
            };
            let credential_name_derivation =
                derived_name(ns, sa, &crate::azure::FEDERATED_CREDENTIAL_NAME_RULE);
            ValidatedCloud::Aks(AksSide {
                subscription_id: Guid::parse_normalised(subscription_id.trim())
                    .map_err(|e| e.at("subscription_id"))?,
                key_vault_name: KeyVaultName::parse(key_vault_name.trim())
                    .map_err(|e| e.at("key_vault_name"))?,
                key_vault_resource_group: match given(key_vault_resource_group) {
                    Some(rg) => ResourceGroupName::parse(rg)
                        .map_err(|e| e.at("key_vault_resource_group"))?,
                    None => resource_group.clone(),
                },
                resource_group,
                identity_name: ManagedIdentityName::parse(&identity_name_derivation.value)
                    .map_err(|e| e.at("identity_name"))?,
                identity_name_derivation,
                credential_name: FederatedCredentialName::parse(&credential_name_derivation.value)?,
                credential_name_derivation,
                identity_client_id: given(identity_client_id)
                    .map(Guid::parse_normalised)
                    .transpose()
                    .map_err(|e| e.at("identity_client_id"))?,
            })
        }
        CloudSide::Eks {
            account_id,
            region,
            role_name,
        }
        | CloudSide::EksPodIdentity {
            account_id,
            region,
            role_name,
        } => {
            let role_name_derivation = match given(role_name) {
                Some(n) => DerivedName {
                    value: n.to_owned(),
                    shortened_from: None,
                },
                None => derived_name(ns, sa, &ROLE_NAME_RULE),
            };
            ValidatedCloud::Eks(EksSide {
                account_id: AwsAccountId::parse(account_id.trim())
                    .map_err(|e| e.at("account_id"))?,
                region: AwsRegion::parse(region.trim()).map_err(|e| e.at("region"))?,
                role_name: RoleName::parse(&role_name_derivation.value)
                    .map_err(|e| e.at("role_name"))?,
                role_name_derivation,
                pod_identity: matches!(side, CloudSide::EksPodIdentity { .. }),
            })
        }
        CloudSide::Gke {
            project_id,
            project_number,
            location,
            google_service_account,
        } => ValidatedCloud::Gke(GkeSide {
            project_id: GcpProjectId::parse(project_id.trim()).map_err(|e| e.at("project_id"))?,
            project_number: GcpProjectNumber::parse(project_number.trim())
                .map_err(|e| e.at("project_number"))?,
            location: given(location)
                .map(GcpLocation::parse)
                .transpose()
                .map_err(|e| e.at("location"))?,
            google_service_account: given(google_service_account)
                .map(GcpServiceAccountEmail::parse)
                .transpose()
                .map_err(|e| e.at("google_service_account"))?,
        }),
    })
}

/// The issuer is missing: say which query prints it, when the cluster is known.
fn missing_issuer(
    cloud: WorkloadCloud,
    side: &CloudSide,
    cluster: Option<&ClusterName>,
) -> RenderError {
    let query = cluster.and_then(|c| issuer_query(side, c));
    let hint: &'static str = match (cloud, query.is_some()) {
        (WorkloadCloud::Aks, true) => {
            "Run the command in the message and paste what it prints (keep the trailing /)."
        }
        (WorkloadCloud::Aks, false) => {
            "Give the cluster's OIDC issuer (az aks show --query oidcIssuerProfile.issuerUrl -o tsv), or the cluster name to get the exact command."
        }
        (_, true) => "Run the command in the message and paste what it prints.",
        (_, false) => {
            "Give the cluster's OIDC issuer (aws eks describe-cluster --query cluster.identity.oidc.issuer --output text), or the cluster name to get the exact command."
        }
    };
    invalid(
        "issuer",
        match query {
            Some(q) => format!("the cluster's OIDC issuer is needed; this command prints it: {q}"),
            None => "the cluster's OIDC issuer is needed".to_owned(),
        },
        hint,
    )
}

/// The one-line bash query that prints the cluster's issuer (AKS, EKS).
pub fn issuer_query(side: &CloudSide, cluster: &ClusterName) -> Option<String> {
    let command = match side {
        CloudSide::Aks { resource_group, .. } => {
            let rg = ResourceGroupName::parse(resource_group.trim()).ok()?;
            super::aks::issuer_command(cluster, &rg)
        }
        CloudSide::Eks { region, .. } => {
            let region = AwsRegion::parse(region.trim()).ok()?;
            super::eks::issuer_command(cluster, &region)
        }
        _ => return None,
    };
    // One line, quoted as the bundle's commands are.
    let bash = command.render(crate::shell::Shell::Bash).ok()?;
    Some(bash.replace(" \\\n  ", " "))
}

impl ValidatedWorkload {
    pub fn subject(&self) -> String {
        super::ids::service_account_subject(&self.namespace, &self.service_account)
    }
    /// The AWS partition the region belongs to (EKS only).
    pub fn partition(&self) -> AwsPartition {
        match &self.side {
            ValidatedCloud::Eks(side) => side.region.partition(),
            _ => AwsPartition::Aws,
        }
    }
}
