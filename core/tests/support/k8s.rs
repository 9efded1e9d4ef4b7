//! Workload identity requests shared by the k8s test crates: every cloud
//! and variant, for ordinary and longest-valid names.

use alphaswarm_core::k8s::{CloudSide, EsoStoreKind, WorkloadIdentityRequest};

pub const AKS_ISSUER: &str = "https://eastus.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/5f3e9c1a-8d2b-4e6f-9a0c-1b2d3e4f5a6b/";
pub const EKS_ISSUER: &str =
    "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

/// 63 characters: the longest namespace.
pub fn longest_namespace() -> String {
    format!("n{}", "a".repeat(61)) + "z"
}
/// 253 characters in four DNS labels: the longest service account name.
pub fn longest_service_account() -> String {
    let label = |c: char, n: usize| c.to_string().repeat(n);
    format!(
        "{}.{}.{}.{}",
        label('s', 63),
        label('t', 63),
        label('u', 63),
        label('v', 61)
    )
}

pub fn aks_side(client_id: Option<&str>) -> CloudSide {
    CloudSide::Aks {
        subscription_id: "00000000-1111-2222-3333-444444444444".into(),
        resource_group: "aucert-foundation-rg".into(),
        key_vault_name: "aucertdev-kv-41e0x5".into(),
        key_vault_resource_group: None,
        identity_name: None,
        identity_client_id: client_id.map(str::to_owned),
    }
}

pub fn eks_side(pod_identity: bool) -> CloudSide {
    let (account_id, region) = ("111122223333".to_owned(), "us-east-1".to_owned());
    if pod_identity {
        CloudSide::EksPodIdentity {
            account_id,
            region,
            role_name: None,
        }
    } else {
        CloudSide::Eks {
            account_id,
            region,
            role_name: None,
        }
    }
}

pub fn gke_side(gsa: Option<&str>) -> CloudSide {
    CloudSide::Gke {
        project_id: "alphaswarm-prod".into(),
        project_number: "123456789012".into(),
        location: Some("us-central1".into()),
        google_service_account: gsa.map(str::to_owned),
    }
}

pub fn request(ns: &str, sa: &str, cloud: CloudSide) -> WorkloadIdentityRequest {
    let issuer = match cloud {
        CloudSide::Aks { .. } => Some(AKS_ISSUER.to_owned()),
        CloudSide::Eks { .. } => Some(EKS_ISSUER.to_owned()),
        _ => None,
    };
    WorkloadIdentityRequest {
        namespace: ns.into(),
        service_account: sa.into(),
        workload_kind: None,
        workload_name: None,
        issuer,
        cluster_name: Some("aucert-aks".into()),
        credential_keys: vec!["postgres:password".into(), "foundry:api_key".into()],
        store_prefix: None,
        external_secrets: None,
        cloud,
    }
}

/// Every variant the snapshots cover, with a label.
pub fn variants(ns: &str, sa: &str) -> Vec<(&'static str, WorkloadIdentityRequest)> {
    let with_eso = |mut r: WorkloadIdentityRequest, kind| {
        r.external_secrets = Some(kind);
        r
    };
    vec![
        ("aks", request(ns, sa, aks_side(None))),
        (
            "aks_existing_identity",
            request(
                ns,
                sa,
                aks_side(Some("9B1DEB4D-3B7D-4BAD-9BDD-2B0D7B3DCB6D")),
            ),
        ),
        ("eks", request(ns, sa, eks_side(false))),
        ("eks_pod_identity", request(ns, sa, eks_side(true))),
        ("gke", request(ns, sa, gke_side(None))),
        (
            "gke_google_service_account",
            request(
                ns,
                sa,
                gke_side(Some(
                    "secrets-reader@alphaswarm-prod.iam.gserviceaccount.com",
                )),
            ),
        ),
        (
            "aks_eso",
            with_eso(request(ns, sa, aks_side(None)), EsoStoreKind::SecretStore),
        ),
        (
            "eks_eso_cluster_store",
            with_eso(
                request(ns, sa, eks_side(false)),
                EsoStoreKind::ClusterSecretStore,
            ),
        ),
        (
            "gke_eso",
            with_eso(request(ns, sa, gke_side(None)), EsoStoreKind::SecretStore),
        ),
    ]
}

pub fn ordinary() -> Vec<(&'static str, WorkloadIdentityRequest)> {
    variants("internal-platform", "spec-agent-worker")
}

pub fn longest() -> Vec<(&'static str, WorkloadIdentityRequest)> {
    variants(&longest_namespace(), &longest_service_account())
}
