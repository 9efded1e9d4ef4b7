//! Cloudflare permission groups: the baseline of each template, and the
//! step-4 verdict on each group (granted, missing, or could not be verified).
//!
//! Groups are matched by their public id (stable across accounts); names
//! drift ("Argo Tunnel Write" became "Cloudflare Tunnel Write") and are
//! only shown. Ids are Cloudflare's (`GET /user/tokens/permission_groups`;
//! federation-formats.md §4.4). Two ways to decide:
//! - the token's own policies (token details endpoint), when the token may
//!   read them: exact, so each group is granted or missing;
//! - otherwise one read-only probe per group: a refused read proves the
//!   group missing, a successful read proves a *read* group granted, but a
//!   *write* group cannot be proven without changing something, so it stays
//!   "could not be verified". Nothing is shown green on a guess.

use super::{CloudflareTemplate, TokenOwner};
use serde::{Deserialize, Serialize};

/// Where a permission group applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum GroupScope {
    Zone,
    Account,
    User,
}

impl GroupScope {
    /// The API's scope string (`com.cloudflare.api.account.zone`, ...).
    pub fn api_scope(self) -> &'static str {
        match self {
            GroupScope::Zone => "com.cloudflare.api.account.zone",
            GroupScope::Account => "com.cloudflare.api.account",
            GroupScope::User => "com.cloudflare.api.user",
        }
    }

    /// The dashboard's first column ("Zone", "Account", "User").
    pub fn dashboard_label(self) -> &'static str {
        match self {
            GroupScope::Zone => "Zone",
            GroupScope::Account => "Account",
            GroupScope::User => "User",
        }
    }
}

/// The read-only call that tells whether a group is held, when the token
/// may not read its own policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// `GET /zones`: lists only the zones the token may read.
    Zones,
    /// `GET /zones/{zone}/dns_records`.
    DnsRecords,
    /// `GET /accounts/{account}/cfd_tunnel`.
    Tunnels,
    /// `GET /accounts/{account}/access/apps`.
    AccessApps,
    /// `GET /accounts/{account}/workers/scripts`.
    WorkersScripts,
    /// `GET /accounts/{account}/r2/buckets`.
    R2Buckets,
}

impl Probe {
    /// What the probe needs to be sent: a zone, an account, or nothing.
    pub fn needs(self) -> Option<GroupScope> {
        match self {
            Probe::Zones => None,
            Probe::DnsRecords => Some(GroupScope::Zone),
            _ => Some(GroupScope::Account),
        }
    }

    /// The API path (relative to `/client/v4`) for the zone or account id
    /// the probe needs (ignored for [`Probe::Zones`]).
    pub fn path(self, id: &str) -> String {
        match self {
            Probe::Zones => "/zones".to_owned(),
            Probe::DnsRecords => format!("/zones/{id}/dns_records"),
            Probe::Tunnels => format!("/accounts/{id}/cfd_tunnel"),
            Probe::AccessApps => format!("/accounts/{id}/access/apps"),
            Probe::WorkersScripts => format!("/accounts/{id}/workers/scripts"),
            Probe::R2Buckets => format!("/accounts/{id}/r2/buckets"),
        }
    }

    /// How the probe is described to an operator.
    pub fn describe(self) -> &'static str {
        match self {
            Probe::Zones => "listing zones",
            Probe::DnsRecords => "reading DNS records",
            Probe::Tunnels => "listing tunnels",
            Probe::AccessApps => "listing Access applications",
            Probe::WorkersScripts => "listing Workers scripts",
            Probe::R2Buckets => "listing R2 buckets",
        }
    }
}

/// One Cloudflare permission group as the wizard knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermissionGroup {
    /// Cloudflare's public id: what matching uses.
    pub id: &'static str,
    /// The API's current name ("Write" where the dashboard says "Edit").
    pub name: &'static str,
    /// Older names the API may still return for the same id.
    pub former_names: &'static [&'static str],
    /// Ids of broader groups that include this one (Zone Write includes Zone Read).
    pub implied_by: &'static [&'static str],
    pub scope: GroupScope,
    /// The dashboard's permission column and level: ("DNS", "Edit").
    pub dashboard: (&'static str, &'static str),
    /// The dashboard template link's `{"key", "type"}`.
    pub link_key: (&'static str, &'static str),
    pub probe: Option<Probe>,
    /// A write group: a successful read probe does not prove it.
    pub write: bool,
}

impl PermissionGroup {
    /// "Zone > DNS > Edit", as the dashboard's token form shows it.
    pub fn dashboard_path(&self) -> String {
        format!(
            "{} > {} > {}",
            self.scope.dashboard_label(),
            self.dashboard.0,
            self.dashboard.1
        )
    }

    /// Whether a group id the API reported is this group (or includes it).
    pub fn satisfied_by(&self, id: &str) -> bool {
        let id = id.trim();
        id.eq_ignore_ascii_case(self.id)
            || self.implied_by.iter().any(|i| id.eq_ignore_ascii_case(i))
    }

    /// Whether a group *name* is this group's, current or former
    /// (case-insensitive). Only for inputs that carry no id.
    pub fn has_name(&self, name: &str) -> bool {
        let name = name.trim();
        name.eq_ignore_ascii_case(self.name)
            || self
                .former_names
                .iter()
                .any(|n| name.eq_ignore_ascii_case(n))
    }
}

pub const ZONE_READ: PermissionGroup = PermissionGroup {
    id: "c8fed203ed3043cba015a93ad1616f1f",
    name: "Zone Read",
    former_names: &[],
    implied_by: &[ZONE_WRITE_ID],
    scope: GroupScope::Zone,
    dashboard: ("Zone", "Read"),
    link_key: ("zone", "read"),
    probe: Some(Probe::Zones),
    write: false,
};
const ZONE_WRITE_ID: &str = "e6d2666161e84845a636613608cee8d5";

pub const DNS_WRITE: PermissionGroup = PermissionGroup {
    id: "4755a26eedb94da69e1066d98aa820be",
    name: "DNS Write",
    former_names: &[],
    implied_by: &[],
    scope: GroupScope::Zone,
    dashboard: ("DNS", "Edit"),
    link_key: ("dns", "edit"),
    probe: Some(Probe::DnsRecords),
    write: true,
};

pub const TUNNEL_WRITE: PermissionGroup = PermissionGroup {
    id: "c07321b023e944ff818fec44d8203567",
    name: "Cloudflare Tunnel Write",
    former_names: &["Argo Tunnel Write"],
    implied_by: &[],
    scope: GroupScope::Account,
    dashboard: ("Cloudflare Tunnel", "Edit"),
    link_key: ("argotunnel", "edit"),
    probe: Some(Probe::Tunnels),
    write: true,
};

pub const ACCESS_APPS_WRITE: PermissionGroup = PermissionGroup {
    id: "1e13c5124ca64b72b1969a67e8829049",
    name: "Access: Apps and Policies Write",
    former_names: &[],
    implied_by: &[],
    scope: GroupScope::Account,
    dashboard: ("Access: Apps and Policies", "Edit"),
    link_key: ("access", "edit"),
    probe: Some(Probe::AccessApps),
    write: true,
};

pub const WORKERS_SCRIPTS_WRITE: PermissionGroup = PermissionGroup {
    id: "e086da7e2179491d91ee5f35b3ca210a",
    name: "Workers Scripts Write",
    former_names: &[],
    implied_by: &[],
    scope: GroupScope::Account,
    dashboard: ("Workers Scripts", "Edit"),
    link_key: ("workers_scripts", "edit"),
    probe: Some(Probe::WorkersScripts),
    write: true,
};

pub const R2_STORAGE_WRITE: PermissionGroup = PermissionGroup {
    id: "bf7481a1826f439697cb59a20b22293e",
    name: "Workers R2 Storage Write",
    former_names: &[],
    implied_by: &[],
    scope: GroupScope::Account,
    dashboard: ("Workers R2 Storage", "Edit"),
    link_key: ("workers_r2", "edit"),
    probe: Some(Probe::R2Buckets),
    write: true,
};

/// Lets a user-owned token read its own policies (`GET /user/tokens/{id}`).
pub const API_TOKENS_READ: PermissionGroup = PermissionGroup {
    id: "0cc3a61731504c89b99ec1be78b77aa0",
    name: "API Tokens Read",
    former_names: &[],
    implied_by: &["686d18d5ac6c441c867cbf6771e58a0a"],
    scope: GroupScope::User,
    dashboard: ("API Tokens", "Read"),
    link_key: ("api_tokens", "read"),
    probe: None,
    write: false,
};

/// Lets an account-owned token read its own policies.
pub const ACCOUNT_API_TOKENS_READ: PermissionGroup = PermissionGroup {
    id: "eb56a6953c034b9d97dd838155666f06",
    name: "Account API Tokens Read",
    former_names: &[],
    implied_by: &["5bc3f8b21c554832afc660159ab75fa4"],
    scope: GroupScope::Account,
    dashboard: ("Account API Tokens", "Read"),
    link_key: ("account_api_tokens", "read"),
    probe: None,
    write: false,
};

/// Every group the wizard knows.
pub const ALL_GROUPS: [PermissionGroup; 8] = [
    ZONE_READ,
    DNS_WRITE,
    TUNNEL_WRITE,
    ACCESS_APPS_WRITE,
    WORKERS_SCRIPTS_WRITE,
    R2_STORAGE_WRITE,
    API_TOKENS_READ,
    ACCOUNT_API_TOKENS_READ,
];

/// The group with this current API name.
pub fn by_name(name: &str) -> Option<&'static PermissionGroup> {
    ALL_GROUPS.iter().find(|g| g.name == name)
}

impl CloudflareTemplate {
    /// The groups a token made from this template must hold.
    pub fn baseline(self) -> &'static [PermissionGroup] {
        match self {
            // Zone Read resolves zone names to ids; DNS Write alone lists no zone.
            CloudflareTemplate::DnsEdit => &[ZONE_READ, DNS_WRITE],
            CloudflareTemplate::Tunnel => &[TUNNEL_WRITE],
            CloudflareTemplate::Access => &[ACCESS_APPS_WRITE],
            CloudflareTemplate::Worker => &[WORKERS_SCRIPTS_WRITE],
            CloudflareTemplate::R2 => &[R2_STORAGE_WRITE],
        }
    }
}

impl TokenOwner {
    /// The group that lets a token of this owner read its own policies.
    pub fn self_check_group(self) -> &'static PermissionGroup {
        match self {
            TokenOwner::User => &API_TOKENS_READ,
            TokenOwner::Account => &ACCOUNT_API_TOKENS_READ,
        }
    }

    /// Where the dashboard lists tokens of this owner.
    pub fn dashboard_page(self) -> &'static str {
        match self {
            TokenOwner::User => "My Profile > API Tokens",
            TokenOwner::Account => "Manage Account > Account API Tokens",
        }
    }
}

// ---------------------------------------------------------------- verdicts

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum GroupStatus {
    Granted,
    Missing,
    /// Neither proven nor disproven; never counted as granted.
    Unverified,
}

/// How a verdict was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// The token's own policies (token details endpoint).
    TokenPolicies,
    /// A read-only call per group.
    Probe,
}

/// The verdict on one baseline group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub struct GroupCheck {
    pub id: String,
    /// The current API name.
    pub name: String,
    /// The name the API reported for this id, when it differs (older name).
    pub reported_name: Option<String>,
    /// "Zone > DNS > Edit".
    pub dashboard: String,
    pub scope: GroupScope,
    pub status: GroupStatus,
    pub evidence: Evidence,
    /// Why, in a sentence.
    pub reason: String,
    /// For missing groups: the exact dashboard edit that adds it.
    pub fix: Option<String>,
}

/// The dashboard edit that adds `group` to an existing token. Editing
/// permissions keeps the token's value, so nothing has to be pasted again.
pub fn dashboard_fix(
    group: &PermissionGroup,
    owner: TokenOwner,
    token_name: Option<&str>,
) -> String {
    let token = token_name.map_or_else(|| "the token".to_owned(), |n| format!("the token \"{n}\""));
    let resources = match group.scope {
        GroupScope::Zone => " for the zones it should manage",
        GroupScope::Account => " for the account",
        GroupScope::User => "",
    };
    format!(
        "In the Cloudflare dashboard, open {}, choose Edit on {token}, add the permission {}{resources} (API name: {}), then save; the token's value does not change.",
        owner.dashboard_page(),
        group.dashboard_path(),
        group.name
    )
}

/// `effect` of a token policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyEffect {
    Allow,
    Deny,
}

/// A permission group entry of a policy (`{id, name}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyGroup {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// One policy of a token, as the token details endpoint returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPolicy {
    #[serde(default)]
    pub id: Option<String>,
    pub effect: PolicyEffect,
    #[serde(default)]
    pub permission_groups: Vec<PolicyGroup>,
    /// `{"com.cloudflare.api.account.<id>": "*"}`, possibly nested.
    #[serde(default)]
    pub resources: serde_json::Map<String, serde_json::Value>,
}

const ACCOUNT_PREFIX: &str = "com.cloudflare.api.account.";
const ZONE_PREFIX: &str = "com.cloudflare.api.account.zone.";

/// Whether a policy's resources reach `account` for an account-scoped
/// group: `com.cloudflare.api.account.*` or `com.cloudflare.api.account.<id>`.
fn policy_covers_account(policy: &TokenPolicy, account: &str) -> bool {
    policy.resources.keys().any(|key| {
        key.strip_prefix(ACCOUNT_PREFIX)
            .filter(|rest| !key.starts_with(ZONE_PREFIX) && !rest.contains('.'))
            .is_some_and(|rest| rest == "*" || rest.eq_ignore_ascii_case(account))
    })
}

fn names_group<'a>(policy: &'a TokenPolicy, group: &PermissionGroup) -> Option<&'a PolicyGroup> {
    policy
        .permission_groups
        .iter()
        .find(|g| group.satisfied_by(&g.id))
}

/// Step 4 from the token's own policies: each baseline group granted or
/// missing (unverified only when a deny policy also names it). `account`,
/// when known, must be covered by account-scoped grants.
pub fn check_policies(
    baseline: &[PermissionGroup],
    policies: &[TokenPolicy],
    owner: TokenOwner,
    account: Option<&str>,
    token_name: Option<&str>,
) -> Vec<GroupCheck> {
    baseline
        .iter()
        .map(|group| {
            let allows: Vec<(&TokenPolicy, &PolicyGroup)> = policies
                .iter()
                .filter(|p| p.effect == PolicyEffect::Allow)
                .filter_map(|p| names_group(p, group).map(|g| (p, g)))
                .collect();
            let denied = policies
                .iter()
                .any(|p| p.effect == PolicyEffect::Deny && names_group(p, group).is_some());
            let in_account = |p: &TokenPolicy| match (group.scope, account) {
                (GroupScope::Account, Some(a)) => policy_covers_account(p, a),
                _ => true,
            };
            let reported_name = allows
                .iter()
                .filter_map(|(_, g)| g.name.as_deref())
                .find(|n| !n.eq_ignore_ascii_case(group.name))
                .map(str::to_owned);
            let (status, reason) = match (allows.iter().any(|(p, _)| in_account(p)), allows.is_empty(), denied) {
                (true, _, false) => (GroupStatus::Granted, "The token's policies allow it.".to_owned()),
                (true, _, true) => (
                    GroupStatus::Unverified,
                    "The token's policies allow it, but a deny policy also names it, so it may not apply where it is needed.".to_owned(),
                ),
                (false, false, _) => (
                    GroupStatus::Missing,
                    format!(
                        "The token's policies allow it only for other accounts, not {}.",
                        account.unwrap_or("this account")
                    ),
                ),
                (false, true, _) => (GroupStatus::Missing, "The token's policies do not include it.".to_owned()),
            };
            verdict(group, status, Evidence::TokenPolicies, reason, reported_name, owner, token_name)
        })
        .collect()
}

/// What a probe call answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The call succeeded and listed `items` entries.
    Allowed { items: usize },
    /// Cloudflare refused it for lack of permission (10000 / 9109).
    Denied,
    /// The probe could not run; the reason says why (no zone, no account id).
    NotRun { reason: String },
}

/// Step 4 from a probe when the policies are not readable.
pub fn check_probe(
    group: &PermissionGroup,
    outcome: &ProbeOutcome,
    owner: TokenOwner,
    token_name: Option<&str>,
) -> GroupCheck {
    let what = group.probe.map_or("a read-only call", Probe::describe);
    let (status, reason) = match outcome {
        ProbeOutcome::Denied => (
            GroupStatus::Missing,
            format!("Cloudflare refused {what}, which this permission allows."),
        ),
        ProbeOutcome::Allowed { items } if !group.write && *items > 0 => (
            GroupStatus::Granted,
            format!("{} succeeded ({items} found).", capitalise(what)),
        ),
        ProbeOutcome::Allowed { .. } if !group.write => (
            GroupStatus::Unverified,
            format!(
                "{} found nothing, so it cannot tell whether the permission is held.",
                capitalise(what)
            ),
        ),
        ProbeOutcome::Allowed { .. } => (
            GroupStatus::Unverified,
            format!(
                "{} succeeded, so read access is there; write access cannot be confirmed without changing something. Let the token read its own permissions ({}) to check it exactly.",
                capitalise(what),
                owner.self_check_group().dashboard_path()
            ),
        ),
        ProbeOutcome::NotRun { reason } => (GroupStatus::Unverified, reason.clone()),
    };
    verdict(
        group,
        status,
        Evidence::Probe,
        reason,
        None,
        owner,
        token_name,
    )
}

fn verdict(
    group: &PermissionGroup,
    status: GroupStatus,
    evidence: Evidence,
    reason: String,
    reported_name: Option<String>,
    owner: TokenOwner,
    token_name: Option<&str>,
) -> GroupCheck {
    GroupCheck {
        id: group.id.to_owned(),
        name: group.name.to_owned(),
        reported_name,
        dashboard: group.dashboard_path(),
        scope: group.scope,
        status,
        evidence,
        reason,
        fix: (status == GroupStatus::Missing).then(|| dashboard_fix(group, owner, token_name)),
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policies(value: serde_json::Value) -> Vec<TokenPolicy> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn ids_are_cloudflare_ids_and_unique() {
        let all = ALL_GROUPS;
        for g in &all {
            assert_eq!(g.id.len(), 32, "{}", g.name);
            assert!(
                g.id.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
        }
        let mut ids: Vec<_> = all.iter().map(|g| g.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
        for t in CloudflareTemplate::ALL {
            assert!(!t.baseline().is_empty());
            assert!(t.baseline().iter().all(|g| g.probe.is_some()), "{t:?}");
        }
    }

    #[test]
    fn policies_match_by_id_whatever_the_name() {
        let p = policies(json!([{
            "id": "p1", "effect": "allow",
            "resources": {"com.cloudflare.api.account.0123456789abcdef0123456789abcdef": "*"},
            "permission_groups": [{"id": TUNNEL_WRITE.id, "name": "Argo Tunnel Write"}]
        }]));
        let checks = check_policies(
            CloudflareTemplate::Tunnel.baseline(),
            &p,
            TokenOwner::User,
            None,
            None,
        );
        assert_eq!(checks[0].status, GroupStatus::Granted);
        assert_eq!(
            checks[0].reported_name.as_deref(),
            Some("Argo Tunnel Write")
        );
        assert_eq!(checks[0].fix, None);

        // The right name with a wrong id is not the group.
        let p = policies(json!([{
            "effect": "allow", "resources": {"com.cloudflare.api.account.*": "*"},
            "permission_groups": [{"id": "00000000000000000000000000000000", "name": "Cloudflare Tunnel Write"}]
        }]));
        let checks = check_policies(
            CloudflareTemplate::Tunnel.baseline(),
            &p,
            TokenOwner::Account,
            None,
            Some("ci"),
        );
        assert_eq!(checks[0].status, GroupStatus::Missing);
        let fix = checks[0].fix.as_deref().unwrap();
        assert!(
            fix.contains("Manage Account > Account API Tokens")
                && fix.contains("Account > Cloudflare Tunnel > Edit")
                && fix.contains("\"ci\""),
            "{fix}"
        );
    }

    #[test]
    fn implied_groups_other_accounts_and_deny() {
        let zone_write_and_dns = policies(json!([{
            "effect": "allow", "resources": {"com.cloudflare.api.account.zone.*": "*"},
            "permission_groups": [{"id": ZONE_WRITE_ID}, {"id": DNS_WRITE.id}]
        }]));
        let checks = check_policies(
            CloudflareTemplate::DnsEdit.baseline(),
            &zone_write_and_dns,
            TokenOwner::User,
            None,
            None,
        );
        assert!(
            checks.iter().all(|c| c.status == GroupStatus::Granted),
            "{checks:?}"
        );

        let elsewhere = policies(json!([{
            "effect": "allow", "resources": {"com.cloudflare.api.account.ffffffffffffffffffffffffffffffff": "*"},
            "permission_groups": [{"id": R2_STORAGE_WRITE.id}]
        }]));
        let account = "0123456789abcdef0123456789abcdef";
        let checks = check_policies(
            CloudflareTemplate::R2.baseline(),
            &elsewhere,
            TokenOwner::User,
            Some(account),
            None,
        );
        assert_eq!(checks[0].status, GroupStatus::Missing);
        assert!(checks[0].reason.contains(account));

        let denied = policies(json!([
            {"effect": "allow", "resources": {"com.cloudflare.api.account.*": "*"}, "permission_groups": [{"id": R2_STORAGE_WRITE.id}]},
            {"effect": "deny", "resources": {"com.cloudflare.api.account.*": "*"}, "permission_groups": [{"id": R2_STORAGE_WRITE.id}]}
        ]));
        let checks = check_policies(
            CloudflareTemplate::R2.baseline(),
            &denied,
            TokenOwner::User,
            Some(account),
            None,
        );
        assert_eq!(checks[0].status, GroupStatus::Unverified);
    }

    #[test]
    fn probes_never_prove_a_write_group() {
        let owner = TokenOwner::User;
        assert_eq!(
            check_probe(&DNS_WRITE, &ProbeOutcome::Allowed { items: 3 }, owner, None).status,
            GroupStatus::Unverified
        );
        assert_eq!(
            check_probe(&DNS_WRITE, &ProbeOutcome::Denied, owner, None).status,
            GroupStatus::Missing
        );
        assert_eq!(
            check_probe(&ZONE_READ, &ProbeOutcome::Allowed { items: 2 }, owner, None).status,
            GroupStatus::Granted
        );
        assert_eq!(
            check_probe(&ZONE_READ, &ProbeOutcome::Allowed { items: 0 }, owner, None).status,
            GroupStatus::Unverified
        );
        let not_run = check_probe(
            &TUNNEL_WRITE,
            &ProbeOutcome::NotRun {
                reason: "No account id.".into(),
            },
            owner,
            None,
        );
        assert_eq!(
            (not_run.status, not_run.reason.as_str()),
            (GroupStatus::Unverified, "No account id.")
        );
        let json =
            serde_json::to_value(check_probe(&DNS_WRITE, &ProbeOutcome::Denied, owner, None))
                .unwrap();
        assert_eq!(json["status"], "missing");
        assert_eq!(json["evidence"], "probe");
        assert_eq!(json["dashboard"], "Zone > DNS > Edit");
    }
}
