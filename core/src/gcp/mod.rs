//! GCP: Workload Identity Federation (a pool + OIDC provider per org) and
//! impersonation of a service account through `roles/iam.workloadIdentityUser`.
//!
//! Isolation has two fences. The provider's attribute condition admits
//! only this org's subject and the binding names that one subject
//! (`principal://…/subject/org:<id>`, never the pool's `principalSet://…/*`),
//! so an assertion the platform signs for another org cannot impersonate
//! this org's account; and each org's provider allows its own audience
//! (the [`AudienceTemplate`] with the org substituted).

mod jwks;
mod render;

pub use jwks::{MAX_UPLOADED_KEYS, UploadedJwks};
pub use render::{
    CONFIG_FILE, JWKS_FILE, add_project_role_command, commands, config_json, render,
    render_validated,
};

use crate::bundle::RenderError;
use crate::ids::{Audience, IdError, IdKind, IssuerUrl, OrgId, check_rule};
use crate::name::{self, DerivedName, NameShape};
use crate::rule::{self, Reason, Rule};
use crate::validated_string;
use serde::{Deserialize, Serialize};

/// Prefix of the pool id; the org id follows it.
pub const POOL_ID_PREFIX: &str = "alphaswarm-broker-";
/// The one OIDC provider in each pool.
pub const PROVIDER_ID: &str = "alphaswarm-oidc";
/// Prefix of the pool's display name; the org id follows it.
pub const DISPLAY_NAME_PREFIX: &str = "AlphaSwarm broker ";
/// Maps the token's `sub` (`org:<org_id>`) to `google.subject`.
pub const ATTRIBUTE_MAPPING: &str = "google.subject=assertion.sub";
/// The role that lets the pool's principals impersonate the service account.
pub const WORKLOAD_IDENTITY_USER_ROLE: &str = "roles/iam.workloadIdentityUser";
/// Prefix of the service account the bundle creates; the org id follows it.
pub const SERVICE_ACCOUNT_PREFIX: &str = "alphaswarm-";
/// What the service account may do on the project unless the request says
/// otherwise: see the project and its IAM policy, read security settings.
pub const DEFAULT_ROLES: [&str; 2] = ["roles/browser", "roles/iam.securityReviewer"];
/// A project binding holds at most this many roles per request (a longer
/// list is a mistake, not a least-privilege grant).
pub const MAX_ROLES: usize = 10;
/// Where `ALPHASWARM_ADMIN_GCP_WIF_AUDIENCE` puts the org id.
pub const ORG_PLACEHOLDER: &str = "{org_id}";
/// Permissions every connection needs, whatever the roles: read the project.
pub const REQUIRED_PERMISSIONS: [&str; 1] = ["resourcemanager.projects.get"];
/// What a predefined role must give, as `testIamPermissions` reports it:
/// a subset of each role's permissions in Google's role reference, the ones
/// AlphaSwarm uses. Custom roles add nothing the core can know.
pub const ROLE_PERMISSIONS: [(&str, &[&str]); 4] = [
    (
        "roles/browser",
        &[
            "resourcemanager.projects.get",
            "resourcemanager.projects.getIamPolicy",
        ],
    ),
    (
        "roles/iam.securityReviewer",
        &[
            "resourcemanager.projects.getIamPolicy",
            "iam.serviceAccounts.list",
            "iam.roles.list",
        ],
    ),
    (
        "roles/viewer",
        &["resourcemanager.projects.get", "compute.regions.list"],
    ),
    ("roles/compute.viewer", &["compute.regions.list"]),
];
/// Roles that give far more than reading; granted only with a warning.
pub const BROAD_ROLES: [&str; 3] = ["roles/owner", "roles/editor", "roles/iam.securityAdmin"];
/// GCP's limit on `google.subject` after mapping, in bytes.
pub const MAX_GOOGLE_SUBJECT_BYTES: usize = 127;

/// `^[a-z][a-z0-9-]{4,28}[a-z0-9]$`.
pub const PROJECT_ID_RULE: Rule = Rule {
    min: 6,
    max: 30,
    allowed: |c| rule::is_lower_alnum(c) || c == '-',
    allowed_desc: "a-z, 0-9 and -",
    first: Some((rule::is_lower_letter, "a lowercase letter")),
    last: Some((rule::is_lower_alnum, "a lowercase letter or digit")),
};

/// Pool and provider ids: 4-32 of `[a-z0-9-]`, starting with a letter
/// (the stricter reading); the `gcp-` prefix is checked separately.
pub const POOL_ID_RULE: Rule = Rule {
    min: 4,
    max: 32,
    allowed: |c| rule::is_lower_alnum(c) || c == '-',
    allowed_desc: "a-z, 0-9 and -",
    first: Some((rule::is_lower_letter, "a lowercase letter")),
    last: None,
};

/// Pool display names: at most 32 characters. Ours are built from the
/// prefix and an org id, so letters, digits, space, `-` and `_` suffice.
pub const DISPLAY_NAME_RULE: Rule = Rule {
    min: 1,
    max: 32,
    allowed: |c| rule::is_alnum(c) || matches!(c, ' ' | '-' | '_'),
    allowed_desc: "letters, digits, space, - and _",
    first: None,
    last: None,
};

fn format_error(kind: IdKind, expected: &'static str) -> IdError {
    IdError::new(kind, Reason::Format { expected })
}

validated_string!(
    /// A project id such as `my-project` (not the project number).
    GcpProjectId,
    |s| {
        if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format_error(IdKind::GcpProjectId, "the project id, but this is all digits: it looks like the project number"));
        }
        check_rule(IdKind::GcpProjectId, &PROJECT_ID_RULE, s)
    }
);

validated_string!(
    /// A project number: digits only (the audience and member need it).
    GcpProjectNumber,
    |s| {
        if PROJECT_ID_RULE.accepts(s) {
            return Err(format_error(IdKind::GcpProjectNumber, "the project number (digits only), but this looks like the project id"));
        }
        if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err(format_error(IdKind::GcpProjectNumber, "1-20 digits"))
        }
    }
);

validated_string!(
    /// A workload identity pool or provider id.
    GcpPoolId,
    |s| {
        check_rule(IdKind::GcpPoolId, &POOL_ID_RULE, s)?;
        if s.starts_with("gcp-") {
            return Err(format_error(IdKind::GcpPoolId, "an id not starting with gcp- (reserved by Google)"));
        }
        Ok(())
    }
);

validated_string!(
    /// A pool display name (derived by us, never typed; the rule guards the
    /// derivation, so an error here is labelled as the pool it belongs to).
    GcpDisplayName,
    |s| check_rule(IdKind::GcpPoolId, &DISPLAY_NAME_RULE, s)
);

/// The local part of a service account: GCP's account ids are 6-30 of
/// `[a-z0-9-]`; default accounts (`<number>-compute@developer...`) start
/// with a digit, so the first character may be a letter or digit.
const SERVICE_ACCOUNT_LOCAL_RULE: Rule = Rule {
    min: 1,
    max: 64,
    allowed: |c| rule::is_lower_alnum(c) || c == '-',
    allowed_desc: "a-z, 0-9 and -",
    first: Some((rule::is_lower_alnum, "a lowercase letter or digit")),
    last: Some((rule::is_lower_alnum, "a lowercase letter or digit")),
};

/// The domain: `<project>.iam.gserviceaccount.com` or another
/// `*.gserviceaccount.com` domain of Google's default accounts.
const SERVICE_ACCOUNT_DOMAIN_RULE: Rule = Rule {
    min: 21,
    max: 253,
    allowed: |c| rule::is_lower_alnum(c) || c == '-' || c == '.',
    allowed_desc: "a-z, 0-9, - and .",
    first: Some((rule::is_lower_alnum, "a lowercase letter or digit")),
    last: None,
};

/// A service account id (the email's local part when we create it):
/// `^[a-z][a-z0-9-]{4,28}[a-z0-9]$`, the same rule as project ids.
pub const SERVICE_ACCOUNT_ID_RULE: Rule = PROJECT_ID_RULE;

/// Predefined (`roles/<name>`) or custom (`projects/<id>/roles/<name>`,
/// `organizations/<number>/roles/<name>`) role names.
const ROLE_NAME_RULE: Rule = Rule {
    min: 1,
    max: 64,
    allowed: |c| rule::is_alnum(c) || c == '_' || c == '.',
    allowed_desc: "letters, digits, _ and .",
    first: Some((rule::is_letter, "a letter")),
    last: Some((rule::is_alnum, "a letter or digit")),
};

validated_string!(
    /// A role to grant on the project, e.g. `roles/browser`.
    GcpRole,
    |s| {
        let bad = || format_error(IdKind::GcpRole, "roles/<name>, projects/<project id>/roles/<name> or organizations/<number>/roles/<name>");
        let name = if let Some(name) = s.strip_prefix("roles/") {
            name
        } else if let Some(rest) = s.strip_prefix("projects/") {
            let (project, name) = rest.split_once("/roles/").ok_or_else(bad)?;
            PROJECT_ID_RULE.check(project).map_err(|_| bad())?;
            name
        } else if let Some(rest) = s.strip_prefix("organizations/") {
            let (org, name) = rest.split_once("/roles/").ok_or_else(bad)?;
            if org.is_empty() || org.len() > 20 || !org.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            name
        } else {
            return Err(bad());
        };
        check_rule(IdKind::GcpRole, &ROLE_NAME_RULE, name)
    }
);

validated_string!(
    /// `ALPHASWARM_ADMIN_GCP_WIF_AUDIENCE`: an audience with `{org_id}` in
    /// it exactly once, checked so that the longest org id still gives an
    /// audience GCP and gcloud accept.
    AudienceTemplate,
    |s| {
        if s.matches(ORG_PLACEHOLDER).count() != 1 {
            return Err(format_error(IdKind::AudienceTemplate, "an audience containing {org_id} exactly once"));
        }
        let longest = s.replace(ORG_PLACEHOLDER, &"a".repeat(crate::ids::ORG_ID_RULE.max));
        check_audience(&longest).map_err(|e| IdError { kind: IdKind::AudienceTemplate, field: IdKind::AudienceTemplate.default_field(), reason: e.reason })?;
        Ok(())
    }
);

impl AudienceTemplate {
    /// The audience the org's provider allows and its assertions carry.
    /// Checked at parse time with the longest org id, and org ids hold only
    /// characters every audience may hold, so this fails for no valid org.
    pub fn for_org(&self, org: &OrgId) -> Result<Audience, IdError> {
        check_audience(&self.as_str().replace(ORG_PLACEHOLDER, org.as_str()))
    }
}

/// An allowed audience gcloud can carry: one value (`--allowed-audiences`
/// splits on commas), not starting with `-`.
fn check_audience(s: &str) -> Result<Audience, IdError> {
    let audience = Audience::parse(s)?;
    if s.contains(',') || s.starts_with('-') {
        return Err(format_error(
            IdKind::Audience,
            "one audience without commas, not starting with -",
        ));
    }
    Ok(audience)
}

validated_string!(
    /// A service account email, e.g. `broker@my-project.iam.gserviceaccount.com`.
    GcpServiceAccountEmail,
    |s| {
        let (local, domain) = s.split_once('@').ok_or_else(|| format_error(IdKind::GcpServiceAccountEmail, "an email address (name@project.iam.gserviceaccount.com)"))?;
        check_rule(IdKind::GcpServiceAccountEmail, &SERVICE_ACCOUNT_LOCAL_RULE, local)?;
        check_rule(IdKind::GcpServiceAccountEmail, &SERVICE_ACCOUNT_DOMAIN_RULE, domain)?;
        let labels_ok = domain.split('.').all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
        if !labels_ok || !domain.ends_with(".gserviceaccount.com") {
            return Err(format_error(IdKind::GcpServiceAccountEmail, "a service account domain ending in .gserviceaccount.com"));
        }
        Ok(())
    }
);

impl GcpServiceAccountEmail {
    /// The project a user-managed account lives in (`<project>.iam.gserviceaccount.com`).
    pub fn project(&self) -> Option<&str> {
        self.as_str()
            .split_once('@')
            .and_then(|(_, d)| d.strip_suffix(".iam.gserviceaccount.com"))
    }
}

/// Step 2 input as the wizard sends it: raw strings, validated by [`Self::validate`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct GcpBootstrapRequest {
    pub org_id: String,
    pub project_id: String,
    pub project_number: String,
    /// The platform's OIDC issuer, exactly as its discovery document states it.
    pub issuer: String,
    /// The audience the platform's tokens for this org's provider carry
    /// (the proxy substitutes the org into `ALPHASWARM_ADMIN_GCP_WIF_AUDIENCE`).
    pub allowed_audience: String,
    /// An existing service account to impersonate. Absent or empty: the
    /// bundle creates `alphaswarm-<org_id>` in the project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_email: Option<String>,
    /// Roles the service account gets on the project; default [`DEFAULT_ROLES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// The issuer's JWKS, for an issuer GCP cannot reach: uploaded with the
    /// provider (`--jwk-json-path`) instead of fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<String>,
}

/// The account the pool's principal impersonates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    pub email: GcpServiceAccountEmail,
    /// Set when the bundle creates the account: its id and how it was derived.
    pub created: Option<DerivedName>,
}

impl ServiceAccount {
    /// The project whose IAM policy holds the account (`--project` of the
    /// binding): the account's own project when its email names one.
    pub fn project<'a>(&'a self, fallback: &'a GcpProjectId) -> &'a str {
        self.email.project().unwrap_or(fallback.as_str())
    }
}

/// A request whose every value passed its rule; the only input of rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedGcpRequest {
    pub org_id: OrgId,
    pub project_id: GcpProjectId,
    pub project_number: GcpProjectNumber,
    pub issuer: IssuerUrl,
    pub allowed_audience: Audience,
    pub service_account: ServiceAccount,
    /// Deduplicated, in the order given.
    pub roles: Vec<GcpRole>,
    pub jwks: Option<UploadedJwks>,
    pub pool_id: GcpPoolId,
    pub provider_id: GcpPoolId,
    pub display_name: GcpDisplayName,
    /// How the pool id and display name were derived (shortened or not).
    pub pool_id_derivation: DerivedName,
    pub display_name_derivation: DerivedName,
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl GcpBootstrapRequest {
    pub fn validate(&self) -> Result<ValidatedGcpRequest, RenderError> {
        let org_id = OrgId::parse(&self.org_id).map_err(|e| e.at("org_id"))?;
        // Pasted ids often carry surrounding whitespace; the ids never do.
        let project_id =
            GcpProjectId::parse(self.project_id.trim()).map_err(|e| e.at("project_id"))?;
        let project_number = GcpProjectNumber::parse(self.project_number.trim())
            .map_err(|e| e.at("project_number"))?;
        // The issuer and audience are compared exactly: no trimming.
        let issuer = IssuerUrl::parse(&self.issuer).map_err(|e| e.at("issuer"))?;
        let allowed_audience =
            check_audience(&self.allowed_audience).map_err(|e| e.at("allowed_audience"))?;
        let service_account = match present(&self.service_account_email) {
            Some(email) => ServiceAccount {
                email: GcpServiceAccountEmail::parse(email)
                    .map_err(|e| e.at("service_account_email"))?,
                created: None,
            },
            None => {
                let id = service_account_id(&org_id);
                ServiceAccount {
                    email: GcpServiceAccountEmail::parse(&format!(
                        "{}@{project_id}.iam.gserviceaccount.com",
                        id.value
                    ))?,
                    created: Some(id),
                }
            }
        };
        let roles = match &self.roles {
            Some(roles) if !roles.is_empty() => {
                let mut parsed: Vec<GcpRole> = Vec::new();
                for role in roles {
                    let role = GcpRole::parse(role.trim()).map_err(|e| e.at("roles"))?;
                    if !parsed.contains(&role) {
                        parsed.push(role);
                    }
                }
                if parsed.len() > MAX_ROLES {
                    return Err(IdError::new(
                        IdKind::GcpRole,
                        Reason::Format {
                            expected: "at most 10 roles",
                        },
                    )
                    .into());
                }
                parsed
            }
            _ => DEFAULT_ROLES
                .iter()
                .map(|r| GcpRole::parse(r))
                .collect::<Result<_, _>>()?,
        };
        let jwks = present(&self.jwks).map(UploadedJwks::parse).transpose()?;
        let pool_id_derivation = pool_id(&org_id);
        let display_name_derivation = display_name(&org_id);
        Ok(ValidatedGcpRequest {
            pool_id: GcpPoolId::parse(&pool_id_derivation.value)?,
            provider_id: GcpPoolId::parse(PROVIDER_ID)?,
            display_name: GcpDisplayName::parse(&display_name_derivation.value)?,
            org_id,
            project_id,
            project_number,
            issuer,
            allowed_audience,
            service_account,
            roles,
            jwks,
            pool_id_derivation,
            display_name_derivation,
        })
    }
}

/// `alphaswarm-broker-<org_id>`, shortened when the pool rule refuses it.
pub fn pool_id(org: &OrgId) -> DerivedName {
    name::derive(
        &NameShape {
            prefix: POOL_ID_PREFIX,
            suffix: "",
            rule: &POOL_ID_RULE,
            sanitise: name::sanitise_lower_dash,
        },
        org,
    )
}

/// `alphaswarm-<org_id>`, the id of the service account the bundle creates.
pub fn service_account_id(org: &OrgId) -> DerivedName {
    name::derive(
        &NameShape {
            prefix: SERVICE_ACCOUNT_PREFIX,
            suffix: "",
            rule: &SERVICE_ACCOUNT_ID_RULE,
            sanitise: name::sanitise_lower_dash,
        },
        org,
    )
}

/// `AlphaSwarm broker <org_id>`, shortened to GCP's 32-character limit.
pub fn display_name(org: &OrgId) -> DerivedName {
    name::derive(
        &NameShape {
            prefix: DISPLAY_NAME_PREFIX,
            suffix: "",
            rule: &DISPLAY_NAME_RULE,
            sanitise: Some,
        },
        org,
    )
}

/// The subject the platform's tokens for this org carry (`google.subject`).
pub fn subject(org: &OrgId) -> String {
    org.purpose()
}

/// The provider's attribute condition: only this org's subject passes.
/// CEL single-quoted strings survive both bash and PowerShell quoting, and
/// org ids hold no quote or backslash.
pub fn attribute_condition(org: &OrgId) -> String {
    format!("assertion.sub=='{}'", subject(org))
}

/// `projects/<number>/locations/global/workloadIdentityPools/<pool>`.
pub fn pool_resource(v: &ValidatedGcpRequest) -> String {
    format!(
        "projects/{}/locations/global/workloadIdentityPools/{}",
        v.project_number, v.pool_id
    )
}

/// The provider's full name, used as the STS `audience` in the token exchange.
pub fn provider_audience(v: &ValidatedGcpRequest) -> String {
    format!(
        "//iam.googleapis.com/{}/providers/{}",
        pool_resource(v),
        v.provider_id
    )
}

/// The one principal granted `workloadIdentityUser`: this org's subject.
pub fn principal(v: &ValidatedGcpRequest) -> String {
    format!(
        "principal://iam.googleapis.com/{}/subject/{}",
        pool_resource(v),
        subject(&v.org_id)
    )
}

/// Every identity of the pool. Never rendered into a binding: it admits any
/// assertion the provider accepts. Step 3 reports a binding on it unsafe.
pub fn principal_set(v: &ValidatedGcpRequest) -> String {
    format!("principalSet://iam.googleapis.com/{}/*", pool_resource(v))
}

/// `serviceAccount:<email>`, the member the project roles are granted to.
pub fn service_account_member(v: &ValidatedGcpRequest) -> String {
    format!("serviceAccount:{}", v.service_account.email)
}

/// What step 4 asks `testIamPermissions` for: [`REQUIRED_PERMISSIONS`]
/// plus what each chosen predefined role must give, without repeats.
pub fn required_permissions(roles: &[GcpRole]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = REQUIRED_PERMISSIONS.to_vec();
    for role in roles {
        for (name, permissions) in ROLE_PERMISSIONS {
            if role.as_str() == name {
                out.extend(
                    permissions
                        .iter()
                        .filter(|p| !out.contains(p))
                        .collect::<Vec<_>>(),
                );
            }
        }
    }
    out
}

/// The chosen role that should have given `permission` (the fix step 4
/// names), else the narrowest predefined role that gives it.
pub fn role_for_permission(roles: &[GcpRole], permission: &str) -> Option<&'static str> {
    let gives = |name: &&str| {
        ROLE_PERMISSIONS
            .iter()
            .any(|(n, ps)| n == name && ps.contains(&permission))
    };
    roles
        .iter()
        .filter_map(|r| {
            ROLE_PERMISSIONS
                .iter()
                .map(|(n, _)| *n)
                .find(|n| *n == r.as_str())
        })
        .find(gives)
        .or_else(|| {
            ROLE_PERMISSIONS
                .iter()
                .filter(|(n, ps)| ps.contains(&permission) && *n != "roles/viewer")
                .map(|(n, _)| *n)
                .next()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CoreError;

    fn request() -> GcpBootstrapRequest {
        GcpBootstrapRequest {
            org_id: "org-acme".into(),
            project_id: "acme-prod".into(),
            project_number: "123456789012".into(),
            issuer: "https://alpha-swarm.ai/oidc/".into(),
            allowed_audience: "https://alpha-swarm.ai/gcp/org-acme".into(),
            service_account_email: Some("broker@acme-prod.iam.gserviceaccount.com".into()),
            ..GcpBootstrapRequest::default()
        }
    }

    #[test]
    fn project_id_and_number_pasted_for_each_other() {
        let mut r = request();
        r.project_id = "123456789012".into();
        let e = r.validate().unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            ("invalid_gcp_project_id", Some("project_id"))
        );
        assert!(e.to_string().contains("project number"), "{e}");
        let mut r = request();
        r.project_number = "acme-prod".into();
        let e = r.validate().unwrap_err();
        assert_eq!(e.code(), "invalid_gcp_project_number");
        assert!(e.to_string().contains("project id"), "{e}");
    }

    #[test]
    fn pool_ids_fit_for_edge_orgs() {
        assert_eq!(
            pool_id(&OrgId::parse("org-acme").unwrap()).value,
            "alphaswarm-broker-org-acme"
        );
        for org in [OrgId::platform(), OrgId::parse(&"z".repeat(64)).unwrap()] {
            let p = pool_id(&org);
            assert!(p.is_shortened());
            assert!(GcpPoolId::parse(&p.value).is_ok(), "{}", p.value);
            assert!(GcpDisplayName::parse(&display_name(&org).value).is_ok());
        }
        assert!(subject(&OrgId::parse(&"z".repeat(64)).unwrap()).len() <= MAX_GOOGLE_SUBJECT_BYTES);
    }

    #[test]
    fn pool_id_rules() {
        for bad in ["gcp-pool", "abc", "Pool-x", "1pool", &"a".repeat(33)] {
            assert_eq!(
                GcpPoolId::parse(bad).unwrap_err().code(),
                "invalid_gcp_pool_id",
                "{bad}"
            );
        }
        assert!(GcpPoolId::parse(PROVIDER_ID).is_ok());
    }

    #[test]
    fn audience_with_comma_is_refused() {
        let mut r = request();
        r.allowed_audience = "a,b".into();
        let e = r.validate().unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            ("invalid_audience", Some("allowed_audience"))
        );
    }

    #[test]
    fn service_account_emails() {
        for ok in [
            "broker@acme-prod.iam.gserviceaccount.com",
            "123456789012-compute@developer.gserviceaccount.com",
        ] {
            assert!(GcpServiceAccountEmail::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "broker",
            "a'b@x.iam.gserviceaccount.com",
            "broker@gmail.com",
            "Broker@x.iam.gserviceaccount.com",
            "b@-x.gserviceaccount.com",
        ] {
            assert!(GcpServiceAccountEmail::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn audience_and_member_use_the_number() {
        let v = request().validate().unwrap();
        assert_eq!(
            provider_audience(&v),
            "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/alphaswarm-broker-org-acme/providers/alphaswarm-oidc"
        );
        assert_eq!(
            principal(&v),
            "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/alphaswarm-broker-org-acme/subject/org:org-acme"
        );
        assert_eq!(
            attribute_condition(&v.org_id),
            "assertion.sub=='org:org-acme'"
        );
    }

    #[test]
    fn service_account_is_created_unless_one_is_named() {
        let mut r = request();
        r.service_account_email = None;
        let v = r.validate().unwrap();
        assert_eq!(
            v.service_account.email.as_str(),
            "alphaswarm-org-acme@acme-prod.iam.gserviceaccount.com"
        );
        assert!(v.service_account.created.is_some());
        r.service_account_email = Some("  ".into());
        assert!(r.validate().unwrap().service_account.created.is_some());
        for org in [
            OrgId::platform(),
            OrgId::parse(&"z".repeat(64)).unwrap(),
            OrgId::parse("a").unwrap(),
        ] {
            let id = service_account_id(&org);
            assert!(SERVICE_ACCOUNT_ID_RULE.accepts(&id.value), "{}", id.value);
        }
    }

    #[test]
    fn roles_default_dedupe_and_refuse_bad_names() {
        let v = request().validate().unwrap();
        assert_eq!(
            v.roles.iter().map(GcpRole::as_str).collect::<Vec<_>>(),
            DEFAULT_ROLES
        );
        let mut r = request();
        r.roles = Some(vec![
            "roles/viewer".into(),
            " roles/viewer".into(),
            "projects/acme-prod/roles/alphaswarmReader".into(),
            "organizations/123/roles/x_y.z1".into(),
        ]);
        assert_eq!(r.validate().unwrap().roles.len(), 3);
        for bad in [
            "viewer",
            "roles/",
            "roles/a b",
            "projects/x/roles/r",
            "organizations/abc/roles/r",
            "roles/a;b",
            "roles/--x",
        ] {
            r.roles = Some(vec![bad.into()]);
            let e = r.validate().unwrap_err();
            assert_eq!(
                (e.code(), e.field()),
                ("invalid_gcp_role", Some("roles")),
                "{bad}"
            );
        }
        r.roles = Some((0..11).map(|i| format!("roles/r{i}")).collect());
        assert_eq!(r.validate().unwrap_err().code(), "invalid_gcp_role");
    }

    #[test]
    fn baseline_follows_the_roles() {
        let roles: Vec<GcpRole> = DEFAULT_ROLES
            .iter()
            .map(|r| GcpRole::parse(r).unwrap())
            .collect();
        assert_eq!(
            required_permissions(&roles),
            [
                "resourcemanager.projects.get",
                "resourcemanager.projects.getIamPolicy",
                "iam.serviceAccounts.list",
                "iam.roles.list"
            ]
        );
        assert_eq!(required_permissions(&[]), REQUIRED_PERMISSIONS);
        assert_eq!(
            role_for_permission(&roles, "iam.roles.list"),
            Some("roles/iam.securityReviewer")
        );
        assert_eq!(
            role_for_permission(&roles, "resourcemanager.projects.get"),
            Some("roles/browser")
        );
        assert_eq!(
            role_for_permission(&[], "compute.regions.list"),
            Some("roles/compute.viewer")
        );
        assert_eq!(role_for_permission(&roles, "storage.buckets.list"), None);
    }

    #[test]
    fn audience_templates_give_each_org_its_own_audience() {
        let t = AudienceTemplate::parse("https://alpha-swarm.ai/gcp/{org_id}").unwrap();
        assert_eq!(
            t.for_org(&OrgId::parse("org-acme").unwrap())
                .unwrap()
                .as_str(),
            "https://alpha-swarm.ai/gcp/org-acme"
        );
        assert_eq!(
            t.for_org(&OrgId::platform()).unwrap().as_str(),
            "https://alpha-swarm.ai/gcp/__platform__"
        );
        let long = format!("https://a/{}{{org_id}}", "x".repeat(190));
        for bad in [
            "https://alpha-swarm.ai/gcp",
            "{org_id}/{org_id}",
            "a,{org_id}",
            "-{org_id}",
            "a b{org_id}",
            long.as_str(),
        ] {
            let e = AudienceTemplate::parse(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_audience_template", "{bad}");
        }
    }
}
