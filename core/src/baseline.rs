//! Step 4: the permissions each cloud must grant, and what a grant lacks.
//!
//! Matching rules differ per cloud, because the clouds compare differently:
//! - **AWS** IAM action names are case-insensitive (`iam:getrole` is
//!   `iam:GetRole`), and a granted action may use IAM's wildcards `*` and `?`
//!   (`ec2:Describe*`, `*`), as a policy statement would.
//! - **Azure** roles are matched by name case-insensitively or by role
//!   definition id (a GUID, or a full `.../roleDefinitions/<guid>` resource
//!   id). Reader is also satisfied by the built-in roles that include all of
//!   its actions (`*/read`): Contributor and Owner.
//! - **GCP** permission names are exact strings returned by
//!   `testIamPermissions`: case-sensitive, no wildcards.
//! - **Cloudflare** permission groups given by name are matched
//!   case-insensitively against the group's current and former names (the
//!   tunnel group's older "Argo Tunnel Write" counts as "Cloudflare Tunnel
//!   Write"), or by the group's id; the proxy's step 4 matches by id only
//!   (`cloudflare::permissions`).

use crate::cloudflare::CloudflareTemplate;
use crate::error::CoreError;
use crate::ids::CloudKind;
use crate::rule::{Reason, Rule};
use serde::{Deserialize, Serialize};

/// What the AWS role must allow. `iam:SimulatePrincipalPolicy` is what step 4
/// itself calls, with the role's own credentials, to read these decisions:
/// without it real IAM refuses the check before it can report anything.
pub const AWS_REQUIRED_ACTIONS: [&str; 4] = [
    "sts:GetCallerIdentity",
    "iam:GetRole",
    "iam:SimulatePrincipalPolicy",
    "ec2:DescribeRegions",
];
/// What every GCP connection needs; the chosen roles add theirs
/// ([`crate::gcp::required_permissions`]).
pub const GCP_REQUIRED_PERMISSIONS: [&str; 1] = crate::gcp::REQUIRED_PERMISSIONS;

/// A built-in Azure role: its name and role definition id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AzureRole {
    pub name: &'static str,
    pub definition_id: &'static str,
}

pub const AZURE_READER: AzureRole = AzureRole {
    name: "Reader",
    definition_id: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
};
pub const AZURE_CONTRIBUTOR: AzureRole = AzureRole {
    name: "Contributor",
    definition_id: "b24988ac-6180-42a0-ab88-20f7382dd24c",
};
pub const AZURE_OWNER: AzureRole = AzureRole {
    name: "Owner",
    definition_id: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
};

/// The required roles, each with the roles that also satisfy it.
pub const AZURE_REQUIRED_ROLES: [(AzureRole, &[AzureRole]); 1] =
    [(AZURE_READER, &[AZURE_CONTRIBUTOR, AZURE_OWNER])];

/// Built-in roles step 4 can name in its report (role assignments carry
/// only the definition id). Microsoft's ids, the same in every tenant.
pub const AZURE_BUILT_IN_ROLES: [AzureRole; 10] = [
    AZURE_READER,
    AZURE_CONTRIBUTOR,
    AZURE_OWNER,
    AzureRole {
        name: "User Access Administrator",
        definition_id: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    },
    AzureRole {
        name: "Security Reader",
        definition_id: "39bc4728-0917-49c7-9d2c-d95423bc2eb4",
    },
    AzureRole {
        name: "Monitoring Reader",
        definition_id: "43d0d8ad-25c7-4714-9337-8ba259a9fe05",
    },
    AzureRole {
        name: "Cost Management Reader",
        definition_id: "72fafb9e-0641-4937-9268-a91bfd8191a3",
    },
    AzureRole {
        name: "Billing Reader",
        definition_id: "fa23ad8b-c56e-40d8-ac0c-ce449e1d2c64",
    },
    AzureRole {
        name: "Log Analytics Reader",
        definition_id: "73c42c96-874c-492b-b04d-ab87d138a893",
    },
    AzureRole {
        name: "Storage Blob Data Reader",
        definition_id: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    },
];

/// The built-in role a definition id (bare GUID or full resource id) names.
pub fn azure_built_in_role(definition_id: &str) -> Option<AzureRole> {
    let guid = definition_id.trim_end_matches('/').rsplit('/').next()?;
    AZURE_BUILT_IN_ROLES
        .into_iter()
        .find(|r| r.definition_id.eq_ignore_ascii_case(guid))
}

/// The actions AlphaSwarm performs in a connected subscription, checked in
/// step 4 against ARM's effective permissions of the principal.
pub const AZURE_REQUIRED_ACTIONS: [&str; 3] = [
    "Microsoft.Resources/subscriptions/read",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.Authorization/roleAssignments/read",
];

/// One entry of ARM's `Microsoft.Authorization/permissions` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct AzurePermission {
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub not_actions: Vec<String>,
}

/// Whether ARM's permissions allow `action`: some entry's `actions` match it
/// (case-insensitively, `*` any run) and the same entry's `notActions` do not.
pub fn azure_action_allowed(permissions: &[AzurePermission], action: &str) -> bool {
    permissions.iter().any(|p| {
        // ARM's wildcards are IAM's `*` (ARM action names never hold `?`).
        p.actions.iter().any(|a| aws_action_matches(a, action))
            && !p.not_actions.iter().any(|n| aws_action_matches(n, action))
    })
}

/// Most granted entries accepted in one comparison.
pub const MAX_GRANTED: usize = 10_000;

/// A granted entry: printable, without control characters.
const GRANTED_RULE: Rule = Rule {
    min: 1,
    max: 512,
    allowed: |c| !c.is_control(),
    allowed_desc: "printable characters",
    first: None,
    last: None,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaselineError {
    #[error("a Cloudflare baseline needs the token template")]
    TemplateRequired,
    #[error("a token template only applies to Cloudflare, not {cloud}")]
    TemplateNotApplicable { cloud: CloudKind },
    #[error("granted entry {index} is not valid: {reason}")]
    InvalidGranted { index: usize, reason: Reason },
    #[error("{count} granted entries given; at most {MAX_GRANTED} are accepted")]
    TooManyGranted { count: usize },
}

impl CoreError for BaselineError {
    fn code(&self) -> &'static str {
        match self {
            BaselineError::TemplateRequired => "cloudflare_template_required",
            BaselineError::TemplateNotApplicable { .. } => "template_not_applicable",
            BaselineError::InvalidGranted { .. } => "invalid_granted_permission",
            BaselineError::TooManyGranted { .. } => "too_many_granted_permissions",
        }
    }
    fn field(&self) -> Option<&str> {
        Some(match self {
            BaselineError::TemplateRequired | BaselineError::TemplateNotApplicable { .. } => {
                "template"
            }
            BaselineError::InvalidGranted { .. } | BaselineError::TooManyGranted { .. } => {
                "granted"
            }
        })
    }
    fn hint(&self) -> String {
        match self {
            BaselineError::TemplateRequired => {
                "Pick the token template: dns_edit, tunnel, access, worker or r2."
            }
            BaselineError::TemplateNotApplicable { .. } => {
                "Leave the template empty for AWS, Azure and GCP."
            }
            BaselineError::InvalidGranted { .. } => {
                "Pass the permission names exactly as the cloud returned them, one per entry."
            }
            BaselineError::TooManyGranted { .. } => {
                "Pass only the permissions the cloud reported for the baseline check."
            }
        }
        .to_owned()
    }
}

/// The outcome of step 4's comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct BaselineReport {
    pub cloud: CloudKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<CloudflareTemplate>,
    /// The baseline, in its canonical spelling.
    pub required: Vec<String>,
    /// What the cloud reported, as given.
    pub granted: Vec<String>,
    /// Required entries no granted entry satisfies ("Missing required" badges).
    pub missing: Vec<String>,
    /// Granted entries that satisfy nothing in the baseline (informational).
    pub extra: Vec<String>,
    /// True when nothing is missing.
    pub satisfied: bool,
}

/// The baseline of `cloud` (for Cloudflare, of `template`), canonical spelling.
pub fn required_permissions(
    cloud: CloudKind,
    template: Option<CloudflareTemplate>,
) -> Result<Vec<&'static str>, BaselineError> {
    match (cloud, template) {
        (CloudKind::Cloudflare, None) => Err(BaselineError::TemplateRequired),
        (CloudKind::Cloudflare, Some(t)) => Ok(t.required_permission_groups()),
        (cloud, Some(_)) => Err(BaselineError::TemplateNotApplicable { cloud }),
        (CloudKind::Aws, None) => Ok(AWS_REQUIRED_ACTIONS.to_vec()),
        (CloudKind::Azure, None) => Ok(AZURE_REQUIRED_ROLES.iter().map(|(r, _)| r.name).collect()),
        (CloudKind::Gcp, None) => Ok(GCP_REQUIRED_PERMISSIONS.to_vec()),
    }
}

/// Compares what the cloud granted with the baseline.
pub fn compare_baseline(
    cloud: CloudKind,
    template: Option<CloudflareTemplate>,
    granted: &[String],
) -> Result<BaselineReport, BaselineError> {
    let required = required_permissions(cloud, template)?;
    if granted.len() > MAX_GRANTED {
        return Err(BaselineError::TooManyGranted {
            count: granted.len(),
        });
    }
    for (index, entry) in granted.iter().enumerate() {
        GRANTED_RULE
            .check(entry)
            .map_err(|reason| BaselineError::InvalidGranted { index, reason })?;
    }
    let satisfies = |grant: &str, need: &str| match cloud {
        CloudKind::Aws => aws_action_matches(grant, need),
        CloudKind::Azure => azure_role_satisfies(grant, need),
        CloudKind::Gcp => grant == need,
        CloudKind::Cloudflare => cloudflare_group_matches(grant, need),
    };
    let missing: Vec<String> = required
        .iter()
        .filter(|need| !granted.iter().any(|g| satisfies(g, need)))
        .map(|need| (*need).to_owned())
        .collect();
    let extra = granted
        .iter()
        .filter(|g| !required.iter().any(|need| satisfies(g, need)))
        .cloned()
        .collect();
    Ok(BaselineReport {
        cloud,
        template,
        required: required.iter().map(|r| (*r).to_owned()).collect(),
        granted: granted.to_vec(),
        satisfied: missing.is_empty(),
        missing,
        extra,
    })
}

/// IAM action matching: case-insensitive, `*` any run, `?` one character.
fn aws_action_matches(pattern: &str, action: &str) -> bool {
    let pattern: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let action: Vec<char> = action.to_ascii_lowercase().chars().collect();
    // Iterative glob with single-star backtracking: linear in practice and
    // never recursive, so hostile patterns cannot blow the stack.
    let (mut p, mut a) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while a < action.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == action[a]) {
            p += 1;
            a += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, a));
            p += 1;
        } else if let Some((sp, sa)) = star {
            p = sp + 1;
            a = sa + 1;
            star = Some((sp, sa + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

fn azure_role_satisfies(grant: &str, required_name: &str) -> bool {
    let Some((role, also)) = AZURE_REQUIRED_ROLES
        .iter()
        .find(|(r, _)| r.name == required_name)
    else {
        return false;
    };
    // A full resource id ends in `/roleDefinitions/<guid>`; compare its last segment.
    let grant = grant
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(grant);
    std::iter::once(role)
        .chain(also.iter())
        .any(|r| grant.eq_ignore_ascii_case(r.name) || grant.eq_ignore_ascii_case(r.definition_id))
}

fn cloudflare_group_matches(grant: &str, need: &str) -> bool {
    crate::cloudflare::permissions::by_name(need)
        .is_some_and(|group| group.has_name(grant) || group.satisfied_by(grant))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn aws_full_grant_is_satisfied_case_insensitively() {
        let granted = strings(&[
            "STS:GetCallerIdentity",
            "iam:getrole",
            "IAM:simulateprincipalpolicy",
            "ec2:DescribeRegions",
            "s3:ListBuckets",
        ]);
        let report = compare_baseline(CloudKind::Aws, None, &granted).unwrap();
        assert!(report.satisfied);
        assert!(report.missing.is_empty());
        assert_eq!(report.extra, ["s3:ListBuckets"]);
        assert_eq!(report.required, AWS_REQUIRED_ACTIONS);
    }

    #[test]
    fn aws_missing_and_wildcards() {
        let report = compare_baseline(CloudKind::Aws, None, &strings(&["iam:GetRole"])).unwrap();
        assert!(!report.satisfied);
        assert_eq!(
            report.missing,
            [
                "sts:GetCallerIdentity",
                "iam:SimulatePrincipalPolicy",
                "ec2:DescribeRegions"
            ]
        );

        let report = compare_baseline(
            CloudKind::Aws,
            None,
            &strings(&["sts:Get*", "iam:Get?ole", "iam:Simulate*", "ec2:Describe*"]),
        )
        .unwrap();
        assert!(report.satisfied, "{report:?}");
        assert!(report.extra.is_empty());
        assert!(
            compare_baseline(CloudKind::Aws, None, &strings(&["*"]))
                .unwrap()
                .satisfied
        );
        // A wildcard of another service does not count.
        let report = compare_baseline(CloudKind::Aws, None, &strings(&["ec2:*", "s3:*"])).unwrap();
        assert_eq!(
            report.missing,
            [
                "sts:GetCallerIdentity",
                "iam:GetRole",
                "iam:SimulatePrincipalPolicy"
            ]
        );
        assert_eq!(report.extra, ["s3:*"]);
        // The three actions of the earlier baseline no longer satisfy it:
        // step 4 cannot run without permission to simulate.
        let report = compare_baseline(
            CloudKind::Aws,
            None,
            &strings(&[
                "sts:GetCallerIdentity",
                "iam:GetRole",
                "ec2:DescribeRegions",
            ]),
        )
        .unwrap();
        assert_eq!(report.missing, ["iam:SimulatePrincipalPolicy"]);
        assert!(!aws_action_matches("iam:GetRol", "iam:GetRole"));
        assert!(!aws_action_matches("iam:GetRolee", "iam:GetRole"));
        assert!(aws_action_matches("i*:*Ro*e", "iam:GetRole"));
    }

    #[test]
    fn azure_reader_by_name_id_or_broader_role() {
        for grant in [
            "Reader",
            "reader",
            "ACDD72A7-3385-48EF-BD42-F606FBA81AE7",
            "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
            "Owner",
            "b24988ac-6180-42a0-ab88-20f7382dd24c",
        ] {
            let report = compare_baseline(CloudKind::Azure, None, &strings(&[grant])).unwrap();
            assert!(report.satisfied, "{grant}");
        }
        let report = compare_baseline(
            CloudKind::Azure,
            None,
            &strings(&["Storage Blob Data Reader"]),
        )
        .unwrap();
        assert_eq!(report.missing, ["Reader"]);
        assert_eq!(report.extra, ["Storage Blob Data Reader"]);
    }

    #[test]
    fn gcp_is_case_sensitive() {
        let report = compare_baseline(
            CloudKind::Gcp,
            None,
            &strings(&["resourcemanager.projects.GET"]),
        )
        .unwrap();
        assert_eq!(report.missing, ["resourcemanager.projects.get"]);
        let report =
            compare_baseline(CloudKind::Gcp, None, &strings(&GCP_REQUIRED_PERMISSIONS)).unwrap();
        assert!(report.satisfied);
    }

    #[test]
    fn cloudflare_per_template_with_old_tunnel_name() {
        for template in CloudflareTemplate::ALL {
            let required = template.required_permission_groups();
            let report = compare_baseline(CloudKind::Cloudflare, Some(template), &[]).unwrap();
            assert_eq!(report.missing, required);
            let report =
                compare_baseline(CloudKind::Cloudflare, Some(template), &strings(&required))
                    .unwrap();
            assert!(report.satisfied, "{template:?}");
            let ids: Vec<&str> = template.baseline().iter().map(|g| g.id).collect();
            let report =
                compare_baseline(CloudKind::Cloudflare, Some(template), &strings(&ids)).unwrap();
            assert!(report.satisfied, "{template:?}");
        }
        let report = compare_baseline(
            CloudKind::Cloudflare,
            Some(CloudflareTemplate::Tunnel),
            &strings(&["Argo Tunnel Write"]),
        )
        .unwrap();
        assert!(report.satisfied);
        let report = compare_baseline(
            CloudKind::Cloudflare,
            Some(CloudflareTemplate::DnsEdit),
            &strings(&["DNS Read", "Zone Read"]),
        )
        .unwrap();
        assert_eq!(report.missing, ["DNS Write"]);
    }

    #[test]
    fn structured_errors() {
        let err = compare_baseline(CloudKind::Cloudflare, None, &[]).unwrap_err();
        assert_eq!(err.code(), "cloudflare_template_required");
        let err = compare_baseline(CloudKind::Aws, Some(CloudflareTemplate::R2), &[]).unwrap_err();
        assert_eq!(err.code(), "template_not_applicable");
        for bad in ["", "a\nb", "\0", &"x".repeat(10_000)] {
            let err = compare_baseline(CloudKind::Aws, None, &strings(&["iam:GetRole", bad]))
                .unwrap_err();
            assert_eq!(err.code(), "invalid_granted_permission");
            assert_eq!(err.field(), Some("granted"));
            assert!(matches!(
                err,
                BaselineError::InvalidGranted { index: 1, .. }
            ));
        }
        let many = vec!["a".to_owned(); MAX_GRANTED + 1];
        assert_eq!(
            compare_baseline(CloudKind::Gcp, None, &many)
                .unwrap_err()
                .code(),
            "too_many_granted_permissions"
        );
    }

    #[test]
    fn report_serialises_camel_case() {
        let report = compare_baseline(CloudKind::Gcp, None, &[]).unwrap();
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["cloud"], "gcp");
        assert_eq!(json["satisfied"], false);
        assert!(json.get("template").is_none());
        let back: BaselineReport = serde_json::from_value(json).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn azure_permissions_follow_arm_semantics() {
        let reader = AzurePermission {
            actions: strings(&["*/read"]),
            not_actions: Vec::new(),
        };
        for action in AZURE_REQUIRED_ACTIONS {
            assert!(azure_action_allowed(std::slice::from_ref(&reader), action));
        }
        let contributor = AzurePermission {
            actions: strings(&["*"]),
            not_actions: strings(&[
                "Microsoft.Authorization/*/Write",
                "Microsoft.Authorization/*/Delete",
            ]),
        };
        let perms = [contributor];
        assert!(azure_action_allowed(
            &perms,
            "microsoft.resources/subscriptions/read"
        ));
        assert!(!azure_action_allowed(
            &perms,
            "Microsoft.Authorization/roleAssignments/write"
        ));
        // notActions of one entry do not cancel another entry's grant.
        let both = [
            perms[0].clone(),
            AzurePermission {
                actions: strings(&["Microsoft.Authorization/*"]),
                not_actions: Vec::new(),
            },
        ];
        assert!(azure_action_allowed(
            &both,
            "Microsoft.Authorization/roleAssignments/write"
        ));
        assert!(!azure_action_allowed(
            &[],
            "Microsoft.Resources/subscriptions/read"
        ));
        let storage_only = [AzurePermission {
            actions: strings(&["Microsoft.Storage/*/read"]),
            not_actions: Vec::new(),
        }];
        assert!(!azure_action_allowed(
            &storage_only,
            "Microsoft.Resources/subscriptions/read"
        ));
    }

    #[test]
    fn built_in_roles_are_named_by_bare_or_full_definition_id() {
        assert_eq!(
            azure_built_in_role("ACDD72A7-3385-48EF-BD42-F606FBA81AE7").map(|r| r.name),
            Some("Reader")
        );
        assert_eq!(
            azure_built_in_role("/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c").map(|r| r.name),
            Some("Contributor")
        );
        assert!(azure_built_in_role("00000000-0000-0000-0000-000000000000").is_none());
        for role in crate::azure::KNOWN_ROLES {
            assert!(
                AZURE_BUILT_IN_ROLES.iter().any(|r| r.name == role),
                "{role}"
            );
        }
    }
}
