//! Kubernetes and cluster-side identifiers: namespaces and object names
//! (DNS-1123 rules), workload kinds, Azure resource groups, Key Vault and
//! managed-identity names, cluster names and GCP locations.

use crate::ids::{IdError, IdKind, check_rule};
use crate::rule::{self, Reason, Rule};
use crate::validated_string;
use serde::{Deserialize, Serialize};

/// DNS-1123 label: namespaces (`metadata.name` of a Namespace).
pub const DNS_LABEL_RULE: Rule = Rule {
    min: 1,
    max: 63,
    allowed: |c| rule::is_lower_alnum(c) || c == '-',
    allowed_desc: "a-z, 0-9 and -",
    first: Some((rule::is_lower_alnum, "a lowercase letter or digit")),
    last: Some((rule::is_lower_alnum, "a lowercase letter or digit")),
};

/// DNS-1123 subdomain: most object names (ServiceAccount, Deployment, ...).
pub const DNS_SUBDOMAIN_RULE: Rule = Rule {
    min: 1,
    max: 253,
    allowed: |c| rule::is_lower_alnum(c) || c == '-' || c == '.',
    allowed_desc: "a-z, 0-9, - and .",
    first: Some((rule::is_lower_alnum, "a lowercase letter or digit")),
    last: Some((rule::is_lower_alnum, "a lowercase letter or digit")),
};

fn check_subdomain(kind: IdKind, s: &str) -> Result<(), IdError> {
    check_rule(kind, &DNS_SUBDOMAIN_RULE, s)?;
    let labels_ok = s.split('.').all(|label| {
        label.starts_with(|c: char| rule::is_lower_alnum(c))
            && label.ends_with(|c: char| rule::is_lower_alnum(c))
    });
    if labels_ok {
        Ok(())
    } else {
        Err(IdError::new(
            kind,
            Reason::Format {
                expected: "dot-separated parts that each start and end with a letter or digit",
            },
        ))
    }
}

validated_string!(
    /// A Kubernetes namespace (DNS-1123 label, at most 63 characters).
    Namespace,
    |s| check_rule(IdKind::K8sNamespace, &DNS_LABEL_RULE, s)
);

validated_string!(
    /// A ServiceAccount name (DNS-1123 subdomain, at most 253 characters).
    ServiceAccountName,
    |s| check_subdomain(IdKind::K8sServiceAccount, s)
);

validated_string!(
    /// A Deployment, StatefulSet, DaemonSet, Job or CronJob name.
    WorkloadName,
    |s| check_subdomain(IdKind::K8sWorkloadName, s)
);

/// The workload kinds whose pod template carries the identity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum WorkloadKind {
    #[default]
    Deployment,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
}

impl WorkloadKind {
    pub const ALL: [WorkloadKind; 5] = [
        WorkloadKind::Deployment,
        WorkloadKind::StatefulSet,
        WorkloadKind::DaemonSet,
        WorkloadKind::Job,
        WorkloadKind::CronJob,
    ];

    /// `kind:` as it appears in a manifest.
    pub fn kind(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::Job => "Job",
            WorkloadKind::CronJob => "CronJob",
        }
    }

    /// The resource name `kubectl` takes.
    pub fn resource(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deployment",
            WorkloadKind::StatefulSet => "statefulset",
            WorkloadKind::DaemonSet => "daemonset",
            WorkloadKind::Job => "job",
            WorkloadKind::CronJob => "cronjob",
        }
    }

    pub fn from_kind(kind: &str) -> Option<Self> {
        WorkloadKind::ALL.into_iter().find(|k| k.kind() == kind)
    }

    /// The path from the object to its pod template.
    pub fn template_path(self) -> &'static [&'static str] {
        match self {
            WorkloadKind::CronJob => &["spec", "jobTemplate", "spec", "template"],
            _ => &["spec", "template"],
        }
    }

    /// A Job's pod template is immutable: it is recreated, not patched.
    pub fn is_patchable(self) -> bool {
        self != WorkloadKind::Job
    }
}

/// Key Vault names: 3-24 of `[A-Za-z0-9-]`, letter first, no `--`.
const KEY_VAULT_RULE: Rule = Rule {
    min: 3,
    max: 24,
    allowed: |c| rule::is_alnum(c) || c == '-',
    allowed_desc: "letters, digits and -",
    first: Some((rule::is_letter, "a letter")),
    last: Some((rule::is_alnum, "a letter or digit")),
};

validated_string!(
    /// A Key Vault name, as in `https://<name>.vault.azure.net`.
    KeyVaultName,
    |s| {
        check_rule(IdKind::KeyVaultName, &KEY_VAULT_RULE, s)?;
        if s.contains("--") {
            return Err(IdError::new(IdKind::KeyVaultName, Reason::Format { expected: "no consecutive hyphens (--)" }));
        }
        Ok(())
    }
);

/// Cluster names common to AKS (63), EKS (100) and GKE (40): the widest
/// reading, since the cloud itself already accepted the name.
const CLUSTER_NAME_RULE: Rule = Rule {
    min: 1,
    max: 100,
    allowed: |c| rule::is_alnum(c) || c == '-' || c == '_',
    allowed_desc: "letters, digits, - and _",
    first: Some((rule::is_alnum, "a letter or digit")),
    last: None,
};

validated_string!(
    /// An AKS, EKS or GKE cluster name.
    ClusterName,
    |s| check_rule(IdKind::ClusterName, &CLUSTER_NAME_RULE, s)
);

const LOCATION_RULE: Rule = Rule {
    min: 4,
    max: 40,
    allowed: |c| rule::is_lower_alnum(c) || c == '-',
    allowed_desc: "a-z, 0-9 and -",
    first: Some((rule::is_lower_letter, "a lowercase letter")),
    last: Some((rule::is_lower_alnum, "a lowercase letter or digit")),
};

validated_string!(
    /// A GCP region (`us-central1`) or zone (`us-central1-a`) of a GKE cluster.
    GcpLocation,
    |s| {
        check_rule(IdKind::GcpLocation, &LOCATION_RULE, s)?;
        if s.contains('-') && s.chars().any(|c| c.is_ascii_digit()) {
            Ok(())
        } else {
            Err(IdError::new(IdKind::GcpLocation, Reason::Format { expected: "a region or zone such as us-central1 or us-central1-a" }))
        }
    }
);

/// `system:serviceaccount:<namespace>:<name>`: the token subject every cloud matches.
pub fn service_account_subject(namespace: &Namespace, name: &ServiceAccountName) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CoreError;

    #[test]
    fn dns_rules() {
        assert!(Namespace::parse(&"a".repeat(63)).is_ok());
        assert!(Namespace::parse(&"a".repeat(64)).is_err());
        for bad in ["", "-a", "a-", "A", "a.b", "a_b", "a b"] {
            assert_eq!(
                Namespace::parse(bad).unwrap_err().code(),
                "invalid_k8s_namespace",
                "{bad:?}"
            );
        }
        assert!(ServiceAccountName::parse("spec-agent.worker").is_ok());
        assert!(ServiceAccountName::parse(&"a".repeat(253)).is_ok());
        for bad in ["a..b", "a.-b", ".a", "a.", "Spec", &"a".repeat(254)] {
            assert!(ServiceAccountName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn azure_and_cluster_names() {
        assert!(KeyVaultName::parse("aucertdev-kv-41e0x5").is_ok());
        for bad in ["kv", "1kv", "kv-", "k--v", &"k".repeat(25)] {
            assert!(KeyVaultName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(crate::azure::ResourceGroupName::parse("aucert-foundation-rg").is_ok());
        assert!(crate::azure::ResourceGroupName::parse("rg.").is_err());
        assert!(GcpLocation::parse("us-central1-a").is_ok());
        assert!(GcpLocation::parse("global").is_err());
        assert!(ClusterName::parse("aucert-aks").is_ok());
        assert!(ClusterName::parse("-aks").is_err());
    }
}
