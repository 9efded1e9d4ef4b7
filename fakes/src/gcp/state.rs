//! The GCP world the fake serves: projects with their IAM policies and
//! enabled APIs, service accounts with theirs, workload identity pools and
//! providers. Built by [`GcpWorld::apply_config`] from the bundle's own
//! `workload_identity_federation.json`, the same validation the IAM API
//! applies to a create call.

use super::cel;
use serde_json::Value;
use std::collections::BTreeMap;

/// How long a deleted pool keeps its id (and can be undeleted).
pub const POOL_ID_RESERVATION_SECONDS: i64 = 30 * 24 * 3600;
pub const WORKLOAD_IDENTITY_USER: &str = "roles/iam.workloadIdentityUser";
pub const TOKEN_CREATOR: &str = "roles/iam.serviceAccountTokenCreator";

/// Permissions of the predefined roles the fake knows, from Google's role
/// reference (the parts `testIamPermissions` and the APIs here look at).
pub fn role_permissions(role: &str) -> &'static [&'static str] {
    match role {
        "roles/browser" => &[
            "resourcemanager.folders.get",
            "resourcemanager.folders.list",
            "resourcemanager.organizations.get",
            "resourcemanager.projects.get",
            "resourcemanager.projects.getIamPolicy",
            "resourcemanager.projects.list",
        ],
        "roles/iam.securityReviewer" => &[
            "iam.roles.get",
            "iam.roles.list",
            "iam.serviceAccounts.get",
            "iam.serviceAccounts.getIamPolicy",
            "iam.serviceAccounts.list",
            "resourcemanager.folders.getIamPolicy",
            "resourcemanager.organizations.getIamPolicy",
            "resourcemanager.projects.getIamPolicy",
        ],
        "roles/compute.viewer" => &[
            "compute.regions.get",
            "compute.regions.list",
            "compute.zones.list",
            "resourcemanager.projects.get",
        ],
        "roles/viewer" => &[
            "compute.regions.get",
            "compute.regions.list",
            "compute.zones.list",
            "iam.roles.list",
            "iam.serviceAccounts.list",
            "resourcemanager.projects.get",
        ],
        _ => &[],
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub member: String,
    /// IAM is eventually consistent: a new binding counts from here on.
    pub effective_at: i64,
}

/// An IAM policy: role → members.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub bindings: BTreeMap<String, Vec<Member>>,
}

impl Policy {
    pub fn add(&mut self, role: &str, member: &str, effective_at: i64) {
        let members = self.bindings.entry(role.to_owned()).or_default();
        if !members.iter().any(|m| m.member == member) {
            members.push(Member {
                member: member.to_owned(),
                effective_at,
            });
        }
    }

    pub fn remove(&mut self, role: &str, member: &str) -> bool {
        let Some(members) = self.bindings.get_mut(role) else {
            return false;
        };
        let before = members.len();
        members.retain(|m| m.member != member);
        before != members.len()
    }

    /// The roles whose binding names `matches` (effective at `now`).
    pub fn roles_of(&self, now: i64, matches: impl Fn(&str) -> bool) -> Vec<&str> {
        self.bindings
            .iter()
            .filter(|(_, members)| {
                members
                    .iter()
                    .any(|m| m.effective_at <= now && matches(&m.member))
            })
            .map(|(role, _)| role.as_str())
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct Project {
    pub id: String,
    pub number: String,
    pub compute_enabled: bool,
    pub policy: Policy,
}

#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub project_id: String,
    pub display_name: String,
    pub policy: Policy,
}

#[derive(Debug, Clone)]
pub struct Provider {
    pub issuer_uri: String,
    pub allowed_audiences: Vec<String>,
    pub jwks_json: Option<String>,
    pub attribute_mapping: BTreeMap<String, cel::Expr>,
    pub attribute_condition: Option<cel::Expr>,
    pub disabled: bool,
}

#[derive(Debug, Clone)]
pub struct Pool {
    pub disabled: bool,
    /// When it was deleted: its id stays taken for 30 days.
    pub deleted_at: Option<i64>,
    pub providers: BTreeMap<String, Provider>,
}

/// Why a config could not be applied, in the IAM API's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("INVALID_ARGUMENT: {0}")]
    Invalid(String),
    #[error("NOT_FOUND: {0}")]
    NotFound(String),
    #[error("ALREADY_EXISTS: {0}")]
    AlreadyExists(String),
}

/// Who a bearer token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An STS token: the federated principal and its pool resource.
    Federated { principal: String, pool: String },
    /// A `generateAccessToken` token.
    ServiceAccount { email: String },
}

impl Caller {
    /// Whether an IAM binding's `member` names this caller.
    pub fn is(&self, member: &str) -> bool {
        match self {
            Caller::Federated { principal, pool } => member_matches(member, principal, pool),
            Caller::ServiceAccount { email } => {
                member.strip_prefix("serviceAccount:") == Some(email.as_str())
            }
        }
    }
}

#[derive(Default)]
pub struct GcpWorld {
    /// Project id → project.
    pub projects: BTreeMap<String, Project>,
    /// Email → account.
    pub service_accounts: BTreeMap<String, ServiceAccount>,
    /// `projects/<number>/locations/global/workloadIdentityPools/<id>` → pool.
    pub pools: BTreeMap<String, Pool>,
    /// Seconds added to the real clock (tests move time).
    pub clock_offset: i64,
    /// New bindings take effect this many seconds after they are made.
    pub propagation_seconds: i64,
    /// Loopback issuers on plain http are accepted (tests and the sandbox
    /// serve their issuer on 127.0.0.1; the real service never would).
    pub allow_http_issuers: bool,
    /// STS refuses an assertion issued longer ago than this.
    pub max_assertion_age_seconds: i64,
    /// Access tokens the fake issued: who each speaks for, until when.
    pub tokens: crate::shared::Tokens<(Caller, i64)>,
    /// Every token issued, for tests proving none leaks.
    pub issued: Vec<String>,
}

pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn text<'a>(value: &'a Value, path: &[&str]) -> Result<&'a str, ApplyError> {
    let mut v = value;
    for key in path {
        v = v.get(key).unwrap_or(&Value::Null);
    }
    v.as_str()
        .ok_or_else(|| ApplyError::Invalid(format!("{} is required", path.join("."))))
}

impl GcpWorld {
    pub fn now(&self) -> i64 {
        unix_now() + self.clock_offset
    }

    pub fn project_by_number(&self, number: &str) -> Option<&Project> {
        self.projects.values().find(|p| p.number == number)
    }

    /// What a live, unexpired bearer token speaks for.
    pub fn caller(&self, token: &str) -> Option<Caller> {
        self.tokens
            .live(token)
            .filter(|(_, expires_at)| *expires_at > self.now())
            .map(|(caller, _)| caller.clone())
    }

    pub fn issue(&mut self, prefix: &str, caller: Caller, expires_at: i64) -> String {
        let token = format!("{prefix}{}", crate::oauth2::random_hex(24));
        self.tokens.insert(token.clone(), (caller, expires_at));
        self.issued.push(token.clone());
        token
    }

    /// Permissions `caller` holds on the project (its effective bindings).
    pub fn project_permissions(&self, project: &Project, caller: &Caller) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = project
            .policy
            .roles_of(self.now(), |m| caller.is(m))
            .into_iter()
            .flat_map(role_permissions)
            .copied()
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    pub fn project(&self, id_or_number: &str) -> Option<&Project> {
        self.projects
            .get(id_or_number)
            .or_else(|| self.project_by_number(id_or_number))
    }

    /// Applies `workload_identity_federation.json` as the rendered commands
    /// would: create the account (when asked), the pool, the provider, then
    /// the bindings. Checks first, so a refused config changes nothing.
    pub fn apply_config(&mut self, config: &Value) -> Result<(), ApplyError> {
        let project_id = text(config, &["project", "projectId"])?;
        let number = text(config, &["project", "projectNumber"])?.to_owned();
        let project = self
            .projects
            .get(project_id)
            .ok_or_else(|| ApplyError::NotFound(format!("project {project_id}")))?;
        if project.number != number {
            return Err(ApplyError::Invalid(format!(
                "project {project_id} has number {}, not {number}",
                project.number
            )));
        }
        let email = text(config, &["serviceAccount", "email"])?.to_owned();
        let create = config["serviceAccount"]["create"].as_bool() == Some(true);
        if create && self.service_accounts.contains_key(&email) {
            return Err(ApplyError::AlreadyExists(format!(
                "Service account {email} already exists within project projects/{project_id}."
            )));
        }
        if !create && !self.service_accounts.contains_key(&email) {
            return Err(ApplyError::NotFound(format!(
                "Service account {email} does not exist."
            )));
        }
        let pool_name = text(config, &["pool", "name"])?.to_owned();
        let expected_prefix = format!("projects/{number}/locations/global/workloadIdentityPools/");
        let pool_id = pool_name
            .strip_prefix(&expected_prefix)
            .filter(|id| *id == text(config, &["pool", "workloadIdentityPoolId"]).unwrap_or(""))
            .ok_or_else(|| {
                ApplyError::Invalid(format!(
                    "pool name {pool_name} does not match the project and pool id"
                ))
            })?;
        if let Some(existing) = self.pools.get(&pool_name) {
            return Err(ApplyError::AlreadyExists(match existing.deleted_at {
                Some(_) => format!(
                    "Requested entity already exists: pool {pool_id} was deleted less than 30 days ago; undelete it or choose another id."
                ),
                None => format!("Requested entity already exists: pool {pool_id}."),
            }));
        }
        let provider_id = text(config, &["provider", "workloadIdentityPoolProviderId"])?.to_owned();
        if text(config, &["provider", "name"])? != format!("{pool_name}/providers/{provider_id}") {
            return Err(ApplyError::Invalid(
                "provider name does not match its pool and id".into(),
            ));
        }
        let provider = self.check_provider(&config["provider"])?;
        let binding = &config["serviceAccountBinding"];
        if text(binding, &["serviceAccount"])? != email {
            return Err(ApplyError::Invalid(
                "the binding names another service account".into(),
            ));
        }
        let binding_role = text(binding, &["role"])?.to_owned();
        let binding_member = text(binding, &["member"])?.to_owned();
        check_member(&binding_member)?;
        let mut project_bindings = Vec::new();
        for b in config["projectBindings"].as_array().into_iter().flatten() {
            let member = text(b, &["member"])?.to_owned();
            check_member(&member)?;
            project_bindings.push((text(b, &["role"])?.to_owned(), member));
        }

        let effective_at = self.now() + self.propagation_seconds;
        if create {
            self.service_accounts.insert(
                email.clone(),
                ServiceAccount {
                    project_id: project_id.to_owned(),
                    display_name: config["serviceAccount"]["displayName"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    policy: Policy::default(),
                },
            );
        }
        self.pools.insert(
            pool_name,
            Pool {
                disabled: false,
                deleted_at: None,
                providers: BTreeMap::from([(provider_id, provider)]),
            },
        );
        if let Some(sa) = self.service_accounts.get_mut(&email) {
            sa.policy.add(&binding_role, &binding_member, effective_at);
        }
        if let Some(project) = self.projects.get_mut(project_id) {
            for (role, member) in project_bindings {
                project.policy.add(&role, &member, effective_at);
            }
        }
        Ok(())
    }

    fn check_provider(&self, provider: &Value) -> Result<Provider, ApplyError> {
        let issuer_uri = text(provider, &["oidc", "issuerUri"])?.to_owned();
        let loopback_http = self.allow_http_issuers
            && ["http://127.0.0.1", "http://localhost"]
                .iter()
                .any(|p| issuer_uri.starts_with(p));
        if !issuer_uri.starts_with("https://") && !loopback_http {
            return Err(ApplyError::Invalid(
                "The OIDC issuer URL must be an HTTPS endpoint.".into(),
            ));
        }
        let allowed_audiences: Vec<String> = provider["oidc"]["allowedAudiences"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| a.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| ApplyError::Invalid("allowedAudiences must be strings".into()))?;
        if allowed_audiences.len() > 10
            || allowed_audiences
                .iter()
                .any(|a| a.is_empty() || a.len() > 256)
        {
            return Err(ApplyError::Invalid(
                "At most 10 allowed audiences of at most 256 characters each.".into(),
            ));
        }
        let jwks_json = provider["oidc"]["jwksJson"].as_str().map(str::to_owned);
        if let Some(jwks) = &jwks_json {
            alphaswarm_core::gcp::UploadedJwks::parse(jwks)
                .map_err(|e| ApplyError::Invalid(format!("jwksJson: {e}")))?;
        }
        let mut attribute_mapping = BTreeMap::new();
        for (key, expr) in provider["attributeMapping"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let expr = expr.as_str().ok_or_else(|| {
                ApplyError::Invalid(format!("attributeMapping {key} must be a string"))
            })?;
            let parsed = cel::parse(expr)
                .map_err(|e| ApplyError::Invalid(format!("attributeMapping {key}: {e}")))?;
            attribute_mapping.insert(key.clone(), parsed);
        }
        if !attribute_mapping.contains_key("google.subject") {
            return Err(ApplyError::Invalid(
                "An OIDC provider's attributeMapping must map google.subject.".into(),
            ));
        }
        let attribute_condition = match provider["attributeCondition"].as_str() {
            Some(c) if c.len() > 4096 => {
                return Err(ApplyError::Invalid(
                    "attributeCondition is longer than 4096 characters.".into(),
                ));
            }
            Some(c) => Some(
                cel::parse(c)
                    .map_err(|e| ApplyError::Invalid(format!("attributeCondition: {e}")))?,
            ),
            None => None,
        };
        Ok(Provider {
            issuer_uri,
            allowed_audiences,
            jwks_json,
            attribute_mapping,
            attribute_condition,
            disabled: provider["disabled"].as_bool() == Some(true),
        })
    }
}

/// Members IAM accepts in a binding (the forms this fake evaluates).
fn check_member(member: &str) -> Result<(), ApplyError> {
    let ok = member.starts_with("serviceAccount:")
        || member.starts_with("user:")
        || member.starts_with("group:")
        || (member.starts_with("principal://iam.googleapis.com/projects/")
            && member.contains("/subject/"))
        || (member.starts_with("principalSet://iam.googleapis.com/projects/")
            && member.ends_with("/*"));
    if ok {
        Ok(())
    } else {
        Err(ApplyError::Invalid(format!("Invalid member {member}.")))
    }
}

/// Whether a binding `member` names the federated `principal`
/// (`principal://iam.googleapis.com/<pool>/subject/<subject>`) as IAM
/// decides: a `principal://` member matches that one subject exactly, a
/// `principalSet://…/<pool>/*` member every identity of the pool.
pub fn member_matches(member: &str, principal: &str, pool: &str) -> bool {
    member == principal
        || member
            .strip_prefix("principalSet://iam.googleapis.com/")
            .and_then(|rest| rest.strip_suffix("/*"))
            == Some(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_match_as_iam_decides() {
        let pool = "projects/1/locations/global/workloadIdentityPools/p";
        let me = format!("principal://iam.googleapis.com/{pool}/subject/org:a");
        assert!(member_matches(&me, &me, pool));
        assert!(!member_matches(
            &format!("principal://iam.googleapis.com/{pool}/subject/org:b"),
            &me,
            pool
        ));
        assert!(!member_matches(
            &format!("principal://iam.googleapis.com/{pool}/subject/ORG:A"),
            &me,
            pool
        ));
        assert!(member_matches(
            &format!("principalSet://iam.googleapis.com/{pool}/*"),
            &me,
            pool
        ));
        assert!(!member_matches(
            "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/q/*",
            &me,
            pool
        ));
        assert!(!member_matches(
            &format!("principalSet://iam.googleapis.com/{pool}/group/g"),
            &me,
            pool
        ));
    }
}
