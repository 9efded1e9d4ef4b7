//! The fake's own knowledge of permission groups (its "live list", with
//! Cloudflare's real ids, kept apart from the core's constants so a wrong id
//! in the core shows up as a missing group), the dashboard's template-link
//! keys, and policy evaluation: explicit deny, then allow, then implicit
//! deny (federation-formats.md §4.3).

use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Scope {
    Zone,
    Account,
    User,
}

impl Scope {
    pub fn api(self) -> &'static str {
        match self {
            Scope::Zone => "com.cloudflare.api.account.zone",
            Scope::Account => "com.cloudflare.api.account",
            Scope::User => "com.cloudflare.api.user",
        }
    }
}

/// One entry of `GET /user/tokens/permission_groups`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogGroup {
    pub id: &'static str,
    pub name: &'static str,
    /// What the API called the group before a rename, if it was renamed.
    pub former_name: Option<&'static str>,
    pub scope: Scope,
}

const fn group(id: &'static str, name: &'static str, scope: Scope) -> CatalogGroup {
    CatalogGroup {
        id,
        name,
        former_name: None,
        scope,
    }
}

pub const ZONE_READ: &str = "c8fed203ed3043cba015a93ad1616f1f";
pub const ZONE_WRITE: &str = "e6d2666161e84845a636613608cee8d5";
pub const DNS_READ: &str = "82e64a83756745bbbb1c9c2701bf816b";
pub const DNS_WRITE: &str = "4755a26eedb94da69e1066d98aa820be";
pub const TUNNEL_READ: &str = "efea2ab8357b47888938f101ae5e053f";
pub const TUNNEL_WRITE: &str = "c07321b023e944ff818fec44d8203567";
pub const ACCESS_APPS_READ: &str = "7ea222f6d5064cfa89ea366d7c1fee89";
pub const ACCESS_APPS_WRITE: &str = "1e13c5124ca64b72b1969a67e8829049";
pub const WORKERS_SCRIPTS_READ: &str = "1a71c399035b4950a1bd1466bbe4f420";
pub const WORKERS_SCRIPTS_WRITE: &str = "e086da7e2179491d91ee5f35b3ca210a";
pub const R2_READ: &str = "b4992e1108244f5d8bfbd5744320c2e1";
pub const R2_WRITE: &str = "bf7481a1826f439697cb59a20b22293e";
pub const ACCOUNT_SETTINGS_READ: &str = "c1fde68c7bcc44588cbb6ddbc16d6480";
pub const API_TOKENS_READ: &str = "0cc3a61731504c89b99ec1be78b77aa0";
pub const API_TOKENS_WRITE: &str = "686d18d5ac6c441c867cbf6771e58a0a";
pub const ACCOUNT_API_TOKENS_READ: &str = "eb56a6953c034b9d97dd838155666f06";
pub const ACCOUNT_API_TOKENS_WRITE: &str = "5bc3f8b21c554832afc660159ab75fa4";

/// The subset of Cloudflare's permission groups the fake models.
pub const CATALOG: [CatalogGroup; 17] = [
    group(ZONE_READ, "Zone Read", Scope::Zone),
    group(ZONE_WRITE, "Zone Write", Scope::Zone),
    group(DNS_READ, "DNS Read", Scope::Zone),
    group(DNS_WRITE, "DNS Write", Scope::Zone),
    group(TUNNEL_READ, "Cloudflare Tunnel Read", Scope::Account),
    CatalogGroup {
        former_name: Some("Argo Tunnel Write"),
        ..group(TUNNEL_WRITE, "Cloudflare Tunnel Write", Scope::Account)
    },
    group(
        ACCESS_APPS_READ,
        "Access: Apps and Policies Read",
        Scope::Account,
    ),
    group(
        ACCESS_APPS_WRITE,
        "Access: Apps and Policies Write",
        Scope::Account,
    ),
    group(WORKERS_SCRIPTS_READ, "Workers Scripts Read", Scope::Account),
    group(
        WORKERS_SCRIPTS_WRITE,
        "Workers Scripts Write",
        Scope::Account,
    ),
    group(R2_READ, "Workers R2 Storage Read", Scope::Account),
    group(R2_WRITE, "Workers R2 Storage Write", Scope::Account),
    group(
        ACCOUNT_SETTINGS_READ,
        "Account Settings Read",
        Scope::Account,
    ),
    group(API_TOKENS_READ, "API Tokens Read", Scope::User),
    group(API_TOKENS_WRITE, "API Tokens Write", Scope::User),
    group(
        ACCOUNT_API_TOKENS_READ,
        "Account API Tokens Read",
        Scope::Account,
    ),
    group(
        ACCOUNT_API_TOKENS_WRITE,
        "Account API Tokens Write",
        Scope::Account,
    ),
];

pub fn catalog_group(id: &str) -> Option<&'static CatalogGroup> {
    CATALOG.iter().find(|g| g.id == id)
}

/// The dashboard's template-link keys (`{"key","type"}`) and the group
/// each pre-selects. `dns` and `zone_dns` are both seen in Cloudflare's
/// own examples.
pub fn link_key_group(key: &str, kind: &str) -> Option<&'static str> {
    Some(match (key, kind) {
        ("zone", "read") => ZONE_READ,
        ("zone", "edit") => ZONE_WRITE,
        ("dns" | "zone_dns", "read") => DNS_READ,
        ("dns" | "zone_dns", "edit") => DNS_WRITE,
        ("argotunnel", "read") => TUNNEL_READ,
        ("argotunnel", "edit") => TUNNEL_WRITE,
        ("access", "read") => ACCESS_APPS_READ,
        ("access", "edit") => ACCESS_APPS_WRITE,
        ("workers_scripts", "read") => WORKERS_SCRIPTS_READ,
        ("workers_scripts", "edit") => WORKERS_SCRIPTS_WRITE,
        ("workers_r2", "read") => R2_READ,
        ("workers_r2", "edit") => R2_WRITE,
        ("account_settings", "read") => ACCOUNT_SETTINGS_READ,
        ("api_tokens", "read") => API_TOKENS_READ,
        ("api_tokens", "edit") => API_TOKENS_WRITE,
        ("account_api_tokens", "read") => ACCOUNT_API_TOKENS_READ,
        ("account_api_tokens", "edit") => ACCOUNT_API_TOKENS_WRITE,
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Allow,
    Deny,
}

/// A token policy as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub id: String,
    pub effect: Effect,
    pub group_ids: Vec<String>,
    pub resources: Map<String, Value>,
}

/// What a call touches.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Zone { zone: &'a str, account: &'a str },
    Account(&'a str),
    User(&'a str),
}

const ACCOUNT_KEY: &str = "com.cloudflare.api.account.";
const ZONE_KEY: &str = "com.cloudflare.api.account.zone.";
const USER_KEY: &str = "com.cloudflare.api.user.";

/// A resource value nested under an account key (`{"…zone.*": "*"}`),
/// possibly JSON-encoded as Terraform writes it.
fn nested_covers_zone(value: &Value, zone: &str) -> bool {
    let nested = match value {
        Value::Object(map) => map.clone(),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(map)) => map,
            _ => return false,
        },
        _ => return false,
    };
    nested
        .keys()
        .any(|k| k == &format!("{ZONE_KEY}*") || k == &format!("{ZONE_KEY}{zone}"))
}

fn covers(resources: &Map<String, Value>, target: Target<'_>) -> bool {
    resources.iter().any(|(key, value)| match target {
        Target::Zone { zone, account } => {
            if let Some(z) = key.strip_prefix(ZONE_KEY) {
                z == "*" || z == zone
            } else if let Some(a) = key.strip_prefix(ACCOUNT_KEY) {
                (a == "*" || a == account) && nested_covers_zone(value, zone)
            } else {
                false
            }
        }
        Target::Account(account) => key
            .strip_prefix(ACCOUNT_KEY)
            .filter(|_| !key.starts_with(ZONE_KEY))
            .is_some_and(|a| (a == "*" || a == account) && value == "*"),
        Target::User(tag) => key.strip_prefix(USER_KEY) == Some(tag),
    })
}

fn scope_fits(group: &CatalogGroup, target: Target<'_>) -> bool {
    matches!(
        (group.scope, target),
        (Scope::Zone, Target::Zone { .. })
            | (Scope::Account, Target::Account(_))
            | (Scope::User, Target::User(_))
    )
}

/// Whether `policies` allow any of `groups` on `target`: a deny naming one
/// of them on the target wins over any allow.
pub fn allows(policies: &[Policy], groups: &[&str], target: Target<'_>) -> bool {
    let applies = |p: &Policy| {
        covers(&p.resources, target)
            && p.group_ids.iter().any(|id| {
                groups.contains(&id.as_str())
                    && catalog_group(id).is_some_and(|g| scope_fits(g, target))
            })
    };
    if policies
        .iter()
        .any(|p| p.effect == Effect::Deny && applies(p))
    {
        return false;
    }
    policies
        .iter()
        .any(|p| p.effect == Effect::Allow && applies(p))
}

/// Whether any allow policy reaches into `account` at all (for `GET /accounts`).
pub fn touches_account(policies: &[Policy], account: &str, zones_of_account: &[&str]) -> bool {
    policies
        .iter()
        .filter(|p| p.effect == Effect::Allow)
        .any(|p| {
            covers(&p.resources, Target::Account(account))
                || p.resources.keys().any(|k| {
                    k.strip_prefix(ACCOUNT_KEY) == Some(account)
                        || k == &format!("{ACCOUNT_KEY}*")
                        || k == &format!("{ZONE_KEY}*")
                })
                || zones_of_account
                    .iter()
                    .any(|z| covers(&p.resources, Target::Zone { zone: z, account }))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(effect: Effect, groups: &[&str], resources: Value) -> Policy {
        Policy {
            id: "p".into(),
            effect,
            group_ids: groups.iter().map(|g| (*g).to_owned()).collect(),
            resources: resources.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn resources_and_scopes() {
        let zone = Target::Zone {
            zone: "z1",
            account: "a1",
        };
        let all_zones = policy(
            Effect::Allow,
            &[DNS_WRITE],
            json!({"com.cloudflare.api.account.zone.*": "*"}),
        );
        assert!(allows(std::slice::from_ref(&all_zones), &[DNS_WRITE], zone));
        assert!(
            !allows(&[all_zones], &[DNS_WRITE], Target::Account("a1")),
            "a zone group does not apply to an account"
        );
        let nested = policy(
            Effect::Allow,
            &[DNS_WRITE],
            json!({"com.cloudflare.api.account.a1": "{\"com.cloudflare.api.account.zone.*\":\"*\"}"}),
        );
        assert!(allows(std::slice::from_ref(&nested), &[DNS_WRITE], zone));
        assert!(!allows(
            &[nested],
            &[DNS_WRITE],
            Target::Zone {
                zone: "z9",
                account: "a2"
            }
        ));
        let account = policy(
            Effect::Allow,
            &[R2_WRITE],
            json!({"com.cloudflare.api.account.a1": "*"}),
        );
        let deny = policy(
            Effect::Deny,
            &[R2_WRITE],
            json!({"com.cloudflare.api.account.*": "*"}),
        );
        assert!(allows(
            std::slice::from_ref(&account),
            &[R2_WRITE, R2_READ],
            Target::Account("a1")
        ));
        assert!(!allows(
            std::slice::from_ref(&account),
            &[R2_WRITE],
            Target::Account("a2")
        ));
        assert!(!allows(
            &[account, deny],
            &[R2_WRITE],
            Target::Account("a1")
        ));
    }

    #[test]
    fn link_keys_map_to_catalog_groups() {
        for (key, kind) in [
            ("zone", "read"),
            ("dns", "edit"),
            ("argotunnel", "edit"),
            ("access", "edit"),
            ("workers_scripts", "edit"),
            ("workers_r2", "edit"),
            ("api_tokens", "read"),
            ("account_api_tokens", "read"),
        ] {
            let id = link_key_group(key, kind).unwrap();
            assert!(catalog_group(id).is_some(), "{key}");
        }
        assert_eq!(link_key_group("dns", "purge"), None);
    }
}
