//! The External Secrets Operator variant of seed 000: a `SecretStore` (or
//! `ClusterSecretStore`) that authenticates as the workload's service
//! account, and one `ExternalSecret` per credential key, reading the name
//! the core computes for the key in the cloud store.

use super::ids::DNS_SUBDOMAIN_RULE;
use super::input::{EsoStoreKind, ValidatedCloud, ValidatedWorkload};
use super::manifests::yaml_file;
use super::yaml_out::{Yaml, documents, to_yaml};
use crate::bundle::File;
use crate::name::{self, NameShape};
use crate::shell::Command;

pub const API_VERSION: &str = "external-secrets.io/v1";
pub const STORE_FILE: &str = "secret_store.yaml";
pub const EXTERNAL_SECRETS_FILE: &str = "external_secrets.yaml";
/// The key each Kubernetes Secret holds the whole stored value under, as
/// the resolver exposes a non-JSON value (seed 000).
pub const SECRET_KEY: &str = "credential";
pub const REFRESH_INTERVAL: &str = "1h";

pub(crate) struct EsoParts {
    pub files: Vec<File>,
    pub commands: Vec<Command>,
    pub notes: Vec<String>,
    /// Appended to the Terraform: ESO objects are applied with kubectl.
    pub terraform_note: String,
}

/// The store's name: the service account's for a namespaced store;
/// `<namespace>-<service account>` for a cluster-wide one.
pub fn store_name(v: &ValidatedWorkload, kind: EsoStoreKind) -> String {
    match kind {
        EsoStoreKind::SecretStore => v.service_account.to_string(),
        EsoStoreKind::ClusterSecretStore => {
            name::derive_text(
                &NameShape {
                    prefix: "",
                    suffix: "",
                    rule: &DNS_SUBDOMAIN_RULE,
                    sanitise: name::sanitise_lower_dash,
                },
                &format!("{}-{}", v.namespace, v.service_account),
            )
            .value
        }
    }
}

fn service_account_ref(v: &ValidatedWorkload, kind: EsoStoreKind) -> Yaml {
    let mut entries = vec![("name", Yaml::str(v.service_account.as_str()))];
    if kind == EsoStoreKind::ClusterSecretStore {
        entries.push(("namespace", Yaml::str(v.namespace.as_str())));
    }
    Yaml::map(entries)
}

fn provider(v: &ValidatedWorkload, kind: EsoStoreKind) -> Yaml {
    let account = service_account_ref(v, kind);
    match &v.side {
        ValidatedCloud::Aks(side) => Yaml::map([(
            "azurekv",
            Yaml::map([
                ("authType", Yaml::Lit("WorkloadIdentity")),
                (
                    "vaultUrl",
                    Yaml::str(format!("https://{}.vault.azure.net", side.key_vault_name)),
                ),
                ("serviceAccountRef", account),
            ]),
        )]),
        ValidatedCloud::Eks(side) => Yaml::map([(
            "aws",
            Yaml::map([
                ("service", Yaml::Lit("SecretsManager")),
                ("region", Yaml::str(side.region.as_str())),
                (
                    "auth",
                    Yaml::map([("jwt", Yaml::map([("serviceAccountRef", account)]))]),
                ),
            ]),
        )]),
        ValidatedCloud::Gke(side) => {
            let mut identity = Vec::new();
            if let Some(location) = &side.location {
                identity.push(("clusterLocation", Yaml::str(location.as_str())));
            }
            if let Some(cluster) = &v.cluster_name {
                identity.push(("clusterName", Yaml::str(cluster.as_str())));
            }
            identity.push(("clusterProjectID", Yaml::str(side.project_id.as_str())));
            identity.push(("serviceAccountRef", account));
            Yaml::map([(
                "gcpsm",
                Yaml::map([
                    ("projectID", Yaml::str(side.project_id.as_str())),
                    (
                        "auth",
                        Yaml::map([("workloadIdentity", Yaml::map(identity))]),
                    ),
                ]),
            )])
        }
    }
}

pub fn secret_store(v: &ValidatedWorkload, kind: EsoStoreKind) -> Yaml {
    let mut metadata = vec![("name", Yaml::str(store_name(v, kind)))];
    if kind == EsoStoreKind::SecretStore {
        metadata.push(("namespace", Yaml::str(v.namespace.as_str())));
    }
    Yaml::map([
        ("apiVersion", Yaml::Lit(API_VERSION)),
        ("kind", Yaml::Lit(kind.kind())),
        ("metadata", Yaml::map(metadata)),
        ("spec", Yaml::map([("provider", provider(v, kind))])),
    ])
}

/// One `ExternalSecret` per credential key. GCP reads by secret id, the
/// others by secret name.
pub fn external_secrets(v: &ValidatedWorkload, kind: EsoStoreKind) -> Vec<Yaml> {
    let store = store_name(v, kind);
    v.secrets
        .iter()
        .map(|secret| {
            let remote = secret
                .store_name
                .secret_id
                .clone()
                .unwrap_or_else(|| secret.store_name.name.clone());
            Yaml::map([
                ("apiVersion", Yaml::Lit(API_VERSION)),
                ("kind", Yaml::Lit("ExternalSecret")),
                (
                    "metadata",
                    Yaml::map([
                        ("name", Yaml::str(secret.k8s_secret.clone())),
                        ("namespace", Yaml::str(v.namespace.as_str())),
                    ]),
                ),
                (
                    "spec",
                    Yaml::map([
                        ("refreshInterval", Yaml::Lit(REFRESH_INTERVAL)),
                        (
                            "secretStoreRef",
                            Yaml::map([
                                ("kind", Yaml::Lit(kind.kind())),
                                ("name", Yaml::str(store.clone())),
                            ]),
                        ),
                        (
                            "target",
                            Yaml::map([
                                ("name", Yaml::str(secret.k8s_secret.clone())),
                                ("creationPolicy", Yaml::Lit("Owner")),
                            ]),
                        ),
                        (
                            "data",
                            Yaml::Seq(vec![Yaml::map([
                                ("secretKey", Yaml::Lit(SECRET_KEY)),
                                ("remoteRef", Yaml::map([("key", Yaml::str(remote))])),
                            ])]),
                        ),
                    ]),
                ),
            ])
        })
        .collect()
}

pub(crate) fn render(v: &ValidatedWorkload, kind: EsoStoreKind) -> EsoParts {
    let files = vec![
        yaml_file(STORE_FILE, to_yaml(&secret_store(v, kind))),
        yaml_file(EXTERNAL_SECRETS_FILE, documents(&external_secrets(v, kind))),
    ];
    let commands = vec![
        Command::new(&["kubectl", "apply"]).opt("--filename", STORE_FILE),
        Command::new(&["kubectl", "apply"]).opt("--filename", EXTERNAL_SECRETS_FILE),
    ];
    let secrets = v
        .secrets
        .iter()
        .map(|s| format!("{} → {}", s.store_name.name, s.k8s_secret))
        .collect::<Vec<_>>()
        .join(", ");
    let notes = vec![
        format!(
            "External Secrets Operator (API {API_VERSION}) authenticates the {} {} as the service account {} and copies each secret into a Kubernetes Secret of the same namespace under the key {SECRET_KEY}: {secrets}. For a JSON payload, use dataFrom.extract instead to get one key per field.",
            kind.kind(),
            store_name(v, kind),
            v.service_account
        ),
        "Pods then read the Kubernetes Secrets (envFrom or volumes); the operator, not the pod, calls the cloud.".to_owned(),
    ];
    EsoParts {
        files,
        commands,
        notes,
        terraform_note: format!(
            "\n# External Secrets Operator objects: apply {STORE_FILE} and {EXTERNAL_SECRETS_FILE} with kubectl (or kubernetes_manifest).\n"
        ),
    }
}
