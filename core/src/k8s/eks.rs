//! EKS: IAM roles for service accounts (IRSA) — a role whose trust policy
//! federates the cluster's OIDC provider for exactly one service account —
//! or EKS Pod Identity (a `pods.eks.amazonaws.com` trust and an
//! association). Either way a least-privilege inline policy allows
//! `secretsmanager:GetSecretValue` on exactly the named secrets.

use super::CloudParts;
use super::ids::ClusterName;
use super::input::{EksSide, ValidatedWorkload};
use super::manifests::{self, Pair};
use crate::aws::{AwsPartition, AwsRegion};
use crate::bundle::{self, File, NamedValue, Notice, hcl_string};
use crate::ids::{AwsAccountId, IssuerUrl};
use crate::shell::Command;
use serde_json::{Value, json};

pub const TRUST_POLICY_FILE: &str = "trust_policy.json";
pub const SECRETS_POLICY_FILE: &str = "secrets_policy.json";
/// The inline policy's name on the role.
pub const SECRETS_POLICY_NAME: &str = "alphaswarm-read-secrets";
/// The audience IRSA tokens carry, and the OIDC provider's client id.
pub const STS_AUDIENCE: &str = "sts.amazonaws.com";
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
pub const AUDIENCE_ANNOTATION: &str = "eks.amazonaws.com/audience";
pub const POD_IDENTITY_SERVICE: &str = "pods.eks.amazonaws.com";
pub const POD_IDENTITY_AGENT: &str = "eks-pod-identity-agent";

/// `aws eks describe-cluster ... --query cluster.identity.oidc.issuer`.
pub fn issuer_command(cluster: &ClusterName, region: &AwsRegion) -> Command {
    Command::new(&["aws", "eks", "describe-cluster"])
        .opt("--name", cluster.as_str())
        .opt("--region", region.as_str())
        .opt("--query", "cluster.identity.oidc.issuer")
        .opt("--output", "text")
}

/// The issuer without `https://` and without a trailing `/`: the IAM OIDC
/// provider's URL and the prefix of its condition keys.
pub fn provider_host(issuer: &IssuerUrl) -> String {
    let host = issuer
        .as_str()
        .strip_prefix("https://")
        .unwrap_or(issuer.as_str());
    host.strip_suffix('/').unwrap_or(host).to_owned()
}

pub fn provider_arn(partition: AwsPartition, account: &AwsAccountId, issuer: &IssuerUrl) -> String {
    format!(
        "arn:{partition}:iam::{account}:oidc-provider/{}",
        provider_host(issuer)
    )
}

pub fn role_arn(partition: AwsPartition, side: &EksSide) -> String {
    format!(
        "arn:{partition}:iam::{}:role/{}",
        side.account_id, side.role_name
    )
}

/// The IRSA trust policy: the cluster's provider, for exactly one service account.
pub fn irsa_trust_policy(
    partition: AwsPartition,
    account: &AwsAccountId,
    issuer: &IssuerUrl,
    subject: &str,
) -> Value {
    let host = provider_host(issuer);
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowServiceAccountWebIdentity",
            "Effect": "Allow",
            "Principal": { "Federated": provider_arn(partition, account, issuer) },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    format!("{host}:sub"): subject,
                    format!("{host}:aud"): STS_AUDIENCE,
                }
            }
        }]
    })
}

/// The Pod Identity trust policy, limited by the session tags EKS sets to
/// the cluster, namespace and service account of the association.
pub fn pod_identity_trust_policy(v: &ValidatedWorkload) -> Value {
    let mut tags = serde_json::Map::new();
    if let Some(cluster) = &v.cluster_name {
        tags.insert(
            "aws:RequestTag/eks-cluster-name".into(),
            json!(cluster.as_str()),
        );
    }
    tags.insert(
        "aws:RequestTag/kubernetes-namespace".into(),
        json!(v.namespace.as_str()),
    );
    tags.insert(
        "aws:RequestTag/kubernetes-service-account".into(),
        json!(v.service_account.as_str()),
    );
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowEksAuthToAssumeRoleForPodIdentity",
            "Effect": "Allow",
            "Principal": { "Service": POD_IDENTITY_SERVICE },
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": { "StringEquals": tags }
        }]
    })
}

/// `GetSecretValue` on exactly the named secrets. Secrets Manager appends
/// `-` and six random characters to each ARN, hence `-??????`.
pub fn secrets_policy(v: &ValidatedWorkload, side: &EksSide) -> Value {
    let partition = side.region.partition();
    let resources: Vec<String> = v
        .secrets
        .iter()
        .map(|s| {
            format!(
                "arn:{partition}:secretsmanager:{}:{}:secret:{}-??????",
                side.region, side.account_id, s.store_name.name
            )
        })
        .collect();
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ReadNamedSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": resources,
        }]
    })
}

pub(crate) fn parts(v: &ValidatedWorkload, side: &EksSide) -> CloudParts {
    let partition = side.region.partition();
    let role_arn = role_arn(partition, side);
    let role = side.role_name.as_str();
    let region = side.region.as_str();
    let subject = v.subject();

    let mut values = vec![
        NamedValue::new("role_name", "IAM role", role),
        NamedValue::new("role_arn", "IAM role ARN", role_arn.clone()),
        NamedValue::new("policy_name", "Inline policy", SECRETS_POLICY_NAME),
    ];
    let mut commands = Vec::new();
    let mut notes = Vec::new();
    let mut annotations: Vec<Pair> = Vec::new();
    let trust = match (&v.issuer, side.pod_identity) {
        (Some(issuer), false) => {
            let provider = provider_arn(partition, &side.account_id, issuer);
            values.push(NamedValue::new(
                "issuer",
                "Cluster OIDC issuer",
                issuer.as_str(),
            ));
            values.push(NamedValue::new(
                "oidc_provider_arn",
                "IAM OIDC provider",
                provider.clone(),
            ));
            if let Some(cluster) = &v.cluster_name {
                commands.push(issuer_command(cluster, &side.region));
                notes.push(format!(
                    "The first command prints the cluster's issuer: it must be {issuer}."
                ));
            }
            commands.push(
                Command::new(&["aws", "iam", "get-open-id-connect-provider"])
                    .opt("--open-id-connect-provider-arn", provider),
            );
            notes.push(format!(
                "The get-open-id-connect-provider check fails with NoSuchEntity when the cluster's issuer is not registered in IAM yet: register it once per cluster (aws iam create-open-id-connect-provider --url {issuer} --client-id-list {STS_AUDIENCE}, or eksctl utils associate-iam-oidc-provider --approve) and run the commands again."
            ));
            annotations.push((ROLE_ARN_ANNOTATION, role_arn.clone()));
            irsa_trust_policy(partition, &side.account_id, issuer, &subject)
        }
        _ => {
            if let Some(cluster) = &v.cluster_name {
                commands.push(
                    Command::new(&["aws", "eks", "describe-addon"])
                        .opt("--cluster-name", cluster.as_str())
                        .opt("--addon-name", POD_IDENTITY_AGENT)
                        .opt("--region", region),
                );
            }
            notes.push(format!(
                "EKS Pod Identity needs the {POD_IDENTITY_AGENT} add-on (the describe-addon check fails without it; aws eks create-addon --addon-name {POD_IDENTITY_AGENT} installs it). The ServiceAccount carries no annotation: the association names it."
            ));
            pod_identity_trust_policy(v)
        }
    };
    commands.push(
        Command::new(&["aws", "iam", "create-role"])
            .opt("--role-name", role)
            .opt(
                "--assume-role-policy-document",
                format!("file://{TRUST_POLICY_FILE}"),
            )
            .opt("--description", role_description(v)),
    );
    commands.push(
        Command::new(&["aws", "iam", "put-role-policy"])
            .opt("--role-name", role)
            .opt("--policy-name", SECRETS_POLICY_NAME)
            .opt("--policy-document", format!("file://{SECRETS_POLICY_FILE}")),
    );
    if let (true, Some(cluster)) = (side.pod_identity, &v.cluster_name) {
        commands.push(
            Command::new(&["aws", "eks", "create-pod-identity-association"])
                .opt("--cluster-name", cluster.as_str())
                .opt("--namespace", v.namespace.as_str())
                .opt("--service-account", v.service_account.as_str())
                .opt("--role-arn", role_arn.clone())
                .opt("--region", region),
        );
    }

    let mut files = vec![
        File::json(TRUST_POLICY_FILE, &trust),
        File::json(SECRETS_POLICY_FILE, &secrets_policy(v, side)),
    ];
    files.extend(manifests::files(v, &annotations, &[]));
    notes.push(format!(
        "The role may read exactly {} secret(s) in {region}; a new key needs a new line in {SECRETS_POLICY_FILE}.",
        v.secrets.len()
    ));
    notes.push(manifests::pod_template_note(v, &[]));
    if !side.pod_identity {
        notes.push(
            "The pod identity webhook injects AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE into pods of this service account; the AWS SDK's default chain picks them up.".to_owned(),
        );
    }

    let warnings: Vec<Notice> =
        bundle::shortened_notice("IAM role name", &side.role_name_derivation)
            .into_iter()
            .collect();
    CloudParts {
        values,
        files,
        commands,
        annotate: None,
        terraform: terraform(v, side),
        warnings,
        notes,
    }
}

fn role_description(v: &ValidatedWorkload) -> String {
    format!("Workload identity of {}/{}", v.namespace, v.service_account)
}

fn terraform(v: &ValidatedWorkload, side: &EksSide) -> String {
    let mut tf = format!(
        r#"terraform {{
  required_providers {{
    aws        = {{ source = "hashicorp/aws", version = ">= 5.0" }}
    kubernetes = {{ source = "hashicorp/kubernetes", version = ">= 2.0" }}
  }}
}}

resource "aws_iam_role" "workload" {{
  name               = {name}
  description        = {description}
  assume_role_policy = file("${{path.module}}/{TRUST_POLICY_FILE}")
}}

resource "aws_iam_role_policy" "workload_secrets" {{
  name   = {policy}
  role   = aws_iam_role.workload.id
  policy = file("${{path.module}}/{SECRETS_POLICY_FILE}")
}}
"#,
        name = hcl_string(side.role_name.as_str()),
        description = hcl_string(&role_description(v)),
        policy = hcl_string(SECRETS_POLICY_NAME),
    );
    if side.pod_identity {
        if let Some(cluster) = &v.cluster_name {
            tf.push_str(&format!(
                "\nresource \"aws_eks_pod_identity_association\" \"workload\" {{\n  cluster_name    = {}\n  namespace       = {}\n  service_account = {}\n  role_arn        = aws_iam_role.workload.arn\n}}\n",
                hcl_string(cluster.as_str()),
                hcl_string(v.namespace.as_str()),
                hcl_string(v.service_account.as_str()),
            ));
        }
        tf.push('\n');
        tf.push_str(&manifests::terraform_service_account(v, &[]));
    } else {
        tf.push('\n');
        tf.push_str(&manifests::terraform_service_account(
            v,
            &[(ROLE_ARN_ANNOTATION, "aws_iam_role.workload.arn".to_owned())],
        ));
    }
    tf
}
