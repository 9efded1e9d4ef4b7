//! EKS checks: the role ARN annotation and the role's trust policy (IRSA),
//! or the Pod Identity association and its trust policy.

use super::super::eks::{POD_IDENTITY_SERVICE, ROLE_ARN_ANNOTATION, STS_AUDIENCE};
use super::super::error::DiagnoseError;
use super::super::input::WorkloadCloud;
use super::workload::Target;
use super::{CloudOutput, FindingCode, Piece, Report, evidence_json, evidence_line};
use crate::aws::RoleArn;
use crate::shell::{Command, Shell};
use serde_json::Value;

pub(crate) struct Association {
    pub cluster: String,
    pub namespace: String,
    pub service_account: String,
}

pub(crate) struct Evidence {
    pub cluster_issuer: Option<String>,
    pub role_arn: Option<String>,
    pub trust: Option<Value>,
    pub associations: Option<Vec<Association>>,
}

impl Evidence {
    pub fn read(out: &CloudOutput) -> Result<Self, DiagnoseError> {
        let role = evidence_json("role", &out.role)?;
        // `aws iam get-role` output, or the trust policy document alone.
        let (role_arn, trust) = match role {
            Some(v) if v.get("Role").is_some() => (
                v["Role"]["Arn"].as_str().map(str::to_owned),
                Some(v["Role"]["AssumeRolePolicyDocument"].clone()),
            ),
            Some(v) if v.get("Statement").is_some() => (None, Some(v)),
            Some(_) => {
                return Err(DiagnoseError::InvalidEvidence {
                    field: "role",
                    problem: "expected the output of aws iam get-role or a trust policy document"
                        .to_owned(),
                });
            }
            None => (None, None),
        };
        let associations =
            evidence_json("pod_identity_associations", &out.pod_identity_associations)?.map(|v| {
                v.get("associations")
                    .and_then(Value::as_array)
                    .map(|items| {
                        items
                            .iter()
                            .map(|a| Association {
                                cluster: a["clusterName"].as_str().unwrap_or_default().to_owned(),
                                namespace: a["namespace"].as_str().unwrap_or_default().to_owned(),
                                service_account: a["serviceAccount"]
                                    .as_str()
                                    .unwrap_or_default()
                                    .to_owned(),
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            });
        Ok(Evidence {
            cluster_issuer: evidence_line(&out.cluster_issuer),
            role_arn,
            trust,
            associations,
        })
    }
}

/// A policy field that is one string or a list of strings.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn statements(policy: &Value) -> Vec<&Value> {
    match &policy["Statement"] {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![&policy["Statement"]],
        _ => Vec::new(),
    }
}

fn allows(statement: &Value, action: &str) -> bool {
    statement["Effect"] == "Allow"
        && strings(&statement["Action"])
            .iter()
            .any(|a| a.eq_ignore_ascii_case(action) || *a == "sts:*" || *a == "*")
}

/// IAM's `StringLike`: `*` any run, `?` one character.
pub(crate) fn glob_matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Values of condition key `key` under `StringEquals` and `StringLike`.
fn condition_values<'a>(statement: &'a Value, key: &str) -> Option<(Vec<&'a str>, bool)> {
    for (operator, like) in [("StringEquals", false), ("StringLike", true)] {
        if let Some(value) = statement["Condition"][operator].get(key) {
            return Some((strings(value), like));
        }
    }
    None
}

pub(crate) fn check(t: &Target<'_>, e: &Evidence, cloud: WorkloadCloud, report: &mut Report) {
    if cloud == WorkloadCloud::EksPodIdentity {
        pod_identity(t, e, report);
    } else {
        role_annotation(t, e, report);
        irsa_trust(t, e, report);
    }
}

fn annotation_snippet(t: &Target<'_>, arn: &str) -> Option<String> {
    let sa = t.sa?;
    Some(format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: \"{}\"\n  namespace: \"{}\"\n  annotations:\n    {ROLE_ARN_ANNOTATION}: \"{arn}\"\n",
        sa.name, sa.namespace
    ))
}

fn role_annotation(t: &Target<'_>, e: &Evidence, report: &mut Report) {
    let Some(sa) = t.sa else { return };
    let expected = e.role_arn.as_deref();
    match sa.annotation(ROLE_ARN_ANNOTATION).and_then(|n| n.text()) {
        None => report.push(
            FindingCode::EksRoleArnMissing,
            Piece::ServiceAccount,
            Some(t.w),
            format!(
                "The ServiceAccount {} has no {ROLE_ARN_ANNOTATION} annotation, so the webhook injects no web identity token and the SDK falls back to the node's role.",
                sa.name
            ),
            format!(
                "Annotate it with the role's ARN{}.",
                expected.map(|a| format!(": {a}")).unwrap_or_default()
            ),
            annotation_snippet(t, expected.unwrap_or("arn:aws:iam::<account>:role/<role>")),
        ),
        Some(value) => match RoleArn::parse(value.trim()) {
            Err(err) => report.push(
                FindingCode::EksRoleArnInvalid,
                Piece::ServiceAccount,
                Some(t.w),
                format!("The {ROLE_ARN_ANNOTATION} annotation is not a role ARN: {err}."),
                crate::error::CoreError::hint(&err),
                expected.and_then(|a| annotation_snippet(t, a)),
            ),
            Ok(arn) => {
                if let Some(expected) = expected
                    && arn.to_string() != expected
                {
                    report.push(
                        FindingCode::EksRoleArnMismatch,
                        Piece::ServiceAccount,
                        Some(t.w),
                        format!(
                            "The annotation names {arn}, but the role whose trust policy was given is {expected}."
                        ),
                        format!("Set {ROLE_ARN_ANNOTATION} to {expected}."),
                        annotation_snippet(t, expected),
                    );
                }
            }
        },
    }
}

fn irsa_trust(t: &Target<'_>, e: &Evidence, report: &mut Report) {
    let Some(trust) = &e.trust else {
        report.not_checked("the role's trust policy (aws iam get-role)");
        return;
    };
    let w = t.w;
    let web_identity = statements(trust).into_iter().find_map(|s| {
        let provider = strings(&s["Principal"]["Federated"])
            .into_iter()
            .find(|p| p.contains(":oidc-provider/"))?;
        allows(s, "sts:AssumeRoleWithWebIdentity").then_some((s, provider))
    });
    let Some((statement, provider)) = web_identity else {
        report.push(
            FindingCode::EksTrustNotWebIdentity,
            Piece::Federation,
            Some(w),
            "The role's trust policy has no statement that allows sts:AssumeRoleWithWebIdentity for the cluster's OIDC provider, so STS refuses the pod's token.".to_owned(),
            "Trust the provider arn:aws:iam::<account>:oidc-provider/<issuer host> with Action sts:AssumeRoleWithWebIdentity and StringEquals on <issuer host>:sub and :aud.".to_owned(),
            None,
        );
        return;
    };
    let host = provider
        .split_once(":oidc-provider/")
        .map_or("", |(_, h)| h);
    if let Some(issuer) = &e.cluster_issuer {
        let expected = issuer.trim_start_matches("https://").trim_end_matches('/');
        if expected != host {
            report.push(
                FindingCode::EksTrustProviderMismatch,
                Piece::Federation,
                Some(w),
                format!(
                    "The trust policy federates the provider {host}, but the cluster's issuer is {issuer}: tokens of this cluster are not trusted (a recreated cluster gets a new issuer)."
                ),
                format!(
                    "Federate oidc-provider/{expected} and rename the condition keys to {expected}:sub and {expected}:aud (register the provider in IAM first if it is missing)."
                ),
                None,
            );
        }
    }
    if let Some(subject) = t.subject() {
        match condition_values(statement, &format!("{host}:sub")) {
            None => report.push(
                FindingCode::EksTrustSubjectUnrestricted,
                Piece::Federation,
                Some(w),
                format!(
                    "The trust policy has no {host}:sub condition: every service account of the cluster may assume the role."
                ),
                format!("Add StringEquals {host}:sub = {subject}."),
                None,
            ),
            Some((values, like)) => {
                let ok = values.iter().any(|v| {
                    if like {
                        glob_matches(v, &subject)
                    } else {
                        *v == subject
                    }
                });
                if !ok {
                    report.push(
                        FindingCode::EksTrustSubjectMismatch,
                        Piece::Federation,
                        Some(w),
                        format!(
                            "The trust policy allows {host}:sub = {}, but the pods' tokens carry {subject}; STS answers AccessDenied for AssumeRoleWithWebIdentity.",
                            values.join(", ")
                        ),
                        format!("Set {host}:sub to {subject}, or run the pods as the service account the policy names."),
                        None,
                    );
                }
            }
        }
    }
    let audience =
        t.sa.and_then(|sa| sa.annotation(super::super::eks::AUDIENCE_ANNOTATION))
            .and_then(|n| n.text())
            .unwrap_or(STS_AUDIENCE);
    if let Some((values, like)) = condition_values(statement, &format!("{host}:aud")) {
        let ok = values.iter().any(|v| {
            if like {
                glob_matches(v, audience)
            } else {
                *v == audience
            }
        });
        if !ok {
            report.push(
                FindingCode::EksTrustAudienceWrong,
                Piece::Federation,
                Some(w),
                format!(
                    "The trust policy requires {host}:aud = {}, but the pods' tokens carry the audience {audience}.",
                    values.join(", ")
                ),
                format!("Set {host}:aud to {STS_AUDIENCE}."),
                None,
            );
        }
    }
}

fn pod_identity(t: &Target<'_>, e: &Evidence, report: &mut Report) {
    let w = t.w;
    if let Some(sa) = t.sa
        && sa.annotation(ROLE_ARN_ANNOTATION).is_some()
    {
        report.push(
            FindingCode::EksPodIdentityIrsaAnnotation,
            Piece::ServiceAccount,
            Some(w),
            format!(
                "The ServiceAccount {} still carries {ROLE_ARN_ANNOTATION}: the SDK's default chain tries the IRSA web identity before Pod Identity, so the annotation's role wins.",
                sa.name
            ),
            format!("Remove the {ROLE_ARN_ANNOTATION} annotation once the association exists."),
            None,
        );
    }
    match (&e.associations, &t.sa_name) {
        (None, _) => {
            report.not_checked("Pod Identity associations (aws eks list-pod-identity-associations)")
        }
        (Some(associations), Some(sa_name)) => {
            let matches = associations
                .iter()
                .any(|a| a.namespace == w.namespace && a.service_account == *sa_name);
            if !matches {
                let cluster = associations
                    .first()
                    .map_or("<cluster>", |a| a.cluster.as_str());
                let others = associations
                    .iter()
                    .filter(|a| a.service_account == *sa_name || a.namespace == w.namespace)
                    .map(|a| format!("{}/{}", a.namespace, a.service_account))
                    .collect::<Vec<_>>();
                let snippet = Command::new(&["aws", "eks", "create-pod-identity-association"])
                    .opt("--cluster-name", cluster)
                    .opt("--namespace", w.namespace.clone())
                    .opt("--service-account", sa_name.clone())
                    .opt(
                        "--role-arn",
                        e.role_arn
                            .clone()
                            .unwrap_or_else(|| "<role arn>".to_owned()),
                    )
                    .render(Shell::Bash)
                    .ok();
                report.push(
                    FindingCode::EksPodIdentityAssociationMissing,
                    Piece::Federation,
                    Some(w),
                    format!(
                        "No Pod Identity association names {}/{sa_name}{}; the agent gives its pods no credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI is not injected).",
                        w.namespace,
                        if others.is_empty() {
                            String::new()
                        } else {
                            format!(" (associations exist for {})", others.join(", "))
                        }
                    ),
                    "Create the association for this namespace and service account; the pods get credentials once restarted.".to_owned(),
                    snippet,
                );
            }
        }
        (Some(_), None) => {}
    }
    if let Some(trust) = &e.trust {
        let ok = statements(trust).iter().any(|s| {
            strings(&s["Principal"]["Service"]).contains(&POD_IDENTITY_SERVICE)
                && allows(s, "sts:AssumeRole")
                && allows(s, "sts:TagSession")
        });
        if !ok {
            report.push(
                FindingCode::EksPodIdentityTrustWrong,
                Piece::Federation,
                Some(w),
                format!(
                    "The role's trust policy does not allow {POD_IDENTITY_SERVICE} both sts:AssumeRole and sts:TagSession, so EKS cannot hand the role to the pods."
                ),
                format!(
                    "Trust the service principal {POD_IDENTITY_SERVICE} with Action [\"sts:AssumeRole\", \"sts:TagSession\"]."
                ),
                None,
            );
        }
    } else {
        report.not_checked("the role's trust policy (aws iam get-role)");
    }
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn string_like_globs() {
        assert!(glob_matches(
            "system:serviceaccount:ns:*",
            "system:serviceaccount:ns:sa"
        ));
        assert!(glob_matches("a?c", "abc"));
        assert!(glob_matches("*", ""));
        assert!(!glob_matches(
            "system:serviceaccount:other:*",
            "system:serviceaccount:ns:sa"
        ));
        assert!(!glob_matches("a?c", "ac"));
    }
}
