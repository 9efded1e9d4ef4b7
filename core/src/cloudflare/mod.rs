//! Cloudflare: scoped API tokens (there is no federated option).
//!
//! Step 2's bundle is a dashboard link that pre-fills the token form with the
//! template's permission groups (user-owned or account-owned), plus the same
//! token as Terraform; the customer creates the token and pastes it in step
//! 3. [`token`] refuses the Global API key before anything is sent;
//! [`permissions`] holds each template's baseline (by permission-group id)
//! and turns what Cloudflare reports into per-group verdicts.

pub mod permissions;
pub mod token;

pub use permissions::{GroupCheck, GroupScope, GroupStatus, PermissionGroup};
pub use token::{ApiToken, CloudflareTokenError, check_token_shape, is_global_api_key};

use crate::bundle::{Bundle, Link, NamedValue, Notice, RenderError, hcl_string};
use crate::ids::{CloudKind, IdError, IdKind, OrgId};
use crate::rule::Reason;
use crate::shell::{Command, Commands};
use crate::validated_string;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};

/// The narrowest token templates the wizard offers (seed 001).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum CloudflareTemplate {
    DnsEdit,
    Tunnel,
    Access,
    Worker,
    R2,
}

impl CloudflareTemplate {
    pub const ALL: [CloudflareTemplate; 5] = [
        CloudflareTemplate::DnsEdit,
        CloudflareTemplate::Tunnel,
        CloudflareTemplate::Access,
        CloudflareTemplate::Worker,
        CloudflareTemplate::R2,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CloudflareTemplate::DnsEdit => "dns_edit",
            CloudflareTemplate::Tunnel => "tunnel",
            CloudflareTemplate::Access => "access",
            CloudflareTemplate::Worker => "worker",
            CloudflareTemplate::R2 => "r2",
        }
    }

    /// The card title in the wizard.
    pub fn title(self) -> &'static str {
        match self {
            CloudflareTemplate::DnsEdit => "DNS records",
            CloudflareTemplate::Tunnel => "Cloudflare Tunnel",
            CloudflareTemplate::Access => "Access applications",
            CloudflareTemplate::Worker => "Workers",
            CloudflareTemplate::R2 => "R2 storage",
        }
    }

    /// The baseline's API names ("Write" where the dashboard says "Edit").
    pub fn required_permission_groups(self) -> Vec<&'static str> {
        self.baseline().iter().map(|g| g.name).collect()
    }

    /// DNS permissions are per zone; the others are per account.
    pub fn is_zone_scoped(self) -> bool {
        self.baseline().iter().any(|g| g.scope == GroupScope::Zone)
    }

    /// What a token made from the template may do, in plain words.
    pub fn grants(self) -> &'static str {
        match self {
            CloudflareTemplate::DnsEdit => {
                "list the zones it covers and create, change and delete their DNS records"
            }
            CloudflareTemplate::Tunnel => "create, configure and delete Cloudflare Tunnels",
            CloudflareTemplate::Access => {
                "create and change Access applications and their policies"
            }
            CloudflareTemplate::Worker => "upload, change and delete Workers scripts",
            CloudflareTemplate::R2 => {
                "create and delete R2 buckets and read and write their objects"
            }
        }
    }
}

impl std::str::FromStr for CloudflareTemplate {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        CloudflareTemplate::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                IdError::new(
                    IdKind::CloudflareTemplate,
                    Reason::Format {
                        expected: "dns_edit, tunnel, access, worker or r2",
                    },
                )
            })
    }
}

/// Who owns the token: a user (My Profile > API Tokens) or the account
/// itself (Manage Account > Account API Tokens; survives its creator leaving).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum TokenOwner {
    #[default]
    User,
    Account,
}

impl TokenOwner {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenOwner::User => "user",
            TokenOwner::Account => "account",
        }
    }
}

impl std::str::FromStr for TokenOwner {
    type Err = RenderError;
    fn from_str(s: &str) -> Result<Self, RenderError> {
        match s {
            "user" => Ok(TokenOwner::User),
            "account" => Ok(TokenOwner::Account),
            _ => Err(RenderError::Invalid {
                field: "token_owner",
                message: "expected user or account".to_owned(),
                hint: "Use user (a token under My Profile) or account (a token owned by the account).",
            }),
        }
    }
}

// ---------------------------------------------------------------- account id

validated_string!(
    /// A Cloudflare account id: 32 lowercase hex characters.
    CloudflareAccountId,
    |s| {
        if s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(())
        } else {
            Err(IdError::new(IdKind::CloudflareAccountId, Reason::Format { expected: "32 lowercase hexadecimal characters" }))
        }
    }
);

impl CloudflareAccountId {
    /// Accepts surrounding whitespace and uppercase hex, as pasted.
    pub fn parse_normalised(s: &str) -> Result<Self, IdError> {
        CloudflareAccountId::parse(&s.trim().to_ascii_lowercase())
    }
}

// ---------------------------------------------------------------- bootstrap

/// The dashboard page that creates user API tokens.
pub const API_TOKENS_PAGE: &str = "https://dash.cloudflare.com/profile/api-tokens";
/// The dashboard page that creates account API tokens; `:account` makes the
/// dashboard ask which account (documented form of the template URL).
pub const ACCOUNT_API_TOKENS_PAGE: &str = "https://dash.cloudflare.com/?to=/:account/api-tokens";
/// The API every call goes to (overridable in the proxy for tests).
pub const API_BASE: &str = "https://api.cloudflare.com/client/v4";
/// The environment variable the verify example reads the token from.
pub const TOKEN_ENV_VAR: &str = "CLOUDFLARE_API_TOKEN";
/// Prefix of the pre-filled token name.
pub const TOKEN_NAME_PREFIX: &str = "AlphaSwarm";

/// Query values: everything but RFC 3986 unreserved characters is encoded;
/// `*` stays literal because the dashboard's documented links use `accountId=*`.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'*');

/// Step 2 input as the wizard sends it: raw strings, validated by [`Self::validate`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct CloudflareBootstrapRequest {
    /// One of `dns_edit`, `tunnel`, `access`, `worker`, `r2`.
    pub template: String,
    /// Limits a user token to one account; required for an account-owned token.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Names the token; absent means the admin tenant (`__platform__`),
    /// whose routes use that synthetic org id.
    #[serde(default)]
    pub org_id: Option<String>,
    /// `user` (default) or `account`.
    #[serde(default)]
    pub token_owner: Option<String>,
    /// Also grant the token read access to its own permissions (API Tokens
    /// Read), so step 4 checks them exactly instead of probing (default true).
    #[serde(default)]
    pub self_check: Option<bool>,
}

/// A request whose every value passed its rule; the only input of rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedCloudflareRequest {
    pub template: CloudflareTemplate,
    pub account_id: Option<CloudflareAccountId>,
    pub org_id: OrgId,
    pub owner: TokenOwner,
    pub self_check: bool,
}

impl CloudflareBootstrapRequest {
    pub fn validate(&self) -> Result<ValidatedCloudflareRequest, RenderError> {
        let template: CloudflareTemplate = self.template.parse()?;
        let account_id = self
            .account_id
            .as_deref()
            .filter(|a| !a.trim().is_empty())
            .map(|a| CloudflareAccountId::parse_normalised(a).map_err(|e| e.at("account_id")))
            .transpose()?;
        let org_id = match self.org_id.as_deref().filter(|o| !o.is_empty()) {
            Some(o) => OrgId::parse(o).map_err(|e| e.at("org_id"))?,
            None => OrgId::platform(),
        };
        let owner = match self.token_owner.as_deref().filter(|o| !o.is_empty()) {
            Some(o) => o.parse()?,
            None => TokenOwner::User,
        };
        if owner == TokenOwner::Account && account_id.is_none() {
            return Err(RenderError::Missing {
                field: "account_id",
            });
        }
        Ok(ValidatedCloudflareRequest {
            template,
            account_id,
            org_id,
            owner,
            self_check: self.self_check.unwrap_or(true),
        })
    }
}

impl ValidatedCloudflareRequest {
    /// The baseline, then the self-check group when asked for.
    pub fn groups(&self) -> Vec<&'static PermissionGroup> {
        let mut groups: Vec<&'static PermissionGroup> = self.template.baseline().iter().collect();
        if self.self_check {
            groups.push(self.owner.self_check_group());
        }
        groups
    }
}

/// `AlphaSwarm <org_id> <template>`: findable in the dashboard's token list.
pub fn token_name(v: &ValidatedCloudflareRequest) -> String {
    format!("{TOKEN_NAME_PREFIX} {} {}", v.org_id, v.template.as_str())
}

/// `[{"key":"zone","type":"read"},{"key":"dns","type":"edit"}]` for the request.
pub fn permission_group_keys_json(v: &ValidatedCloudflareRequest) -> String {
    let keys: Vec<serde_json::Value> = v
        .groups()
        .iter()
        .map(|g| serde_json::json!({ "key": g.link_key.0, "type": g.link_key.1 }))
        .collect();
    serde_json::Value::Array(keys).to_string()
}

/// The dashboard link that pre-fills the token form (Cloudflare's "API
/// token template URLs"): the user form with account and zone scope, or the
/// account form, where the dashboard asks for the account.
pub fn template_url(v: &ValidatedCloudflareRequest) -> String {
    let encode = |s: &str| utf8_percent_encode(s, QUERY_VALUE).to_string();
    let keys = encode(&permission_group_keys_json(v));
    let name = encode(&token_name(v));
    match v.owner {
        TokenOwner::User => format!(
            "{API_TOKENS_PAGE}?permissionGroupKeys={keys}&accountId={}&zoneId=all&name={name}",
            encode(v.account_id.as_ref().map_or("*", |a| a.as_str())),
        ),
        TokenOwner::Account => {
            format!("{ACCOUNT_API_TOKENS_PAGE}&permissionGroupKeys={keys}&name={name}")
        }
    }
}

/// The verify endpoint for a user-owned token, or for one owned by `account`.
pub fn verify_url(owner: TokenOwner, account: Option<&CloudflareAccountId>) -> String {
    match (owner, account) {
        (TokenOwner::Account, Some(a)) => format!("{API_BASE}/accounts/{a}/tokens/verify"),
        _ => format!("{API_BASE}/user/tokens/verify"),
    }
}

/// Cloudflare needs no commands: the token is created in the dashboard. The
/// verify example is a note, because it must expand an environment variable
/// that the quoted rendering would (rightly) keep literal.
pub fn commands(_: &ValidatedCloudflareRequest) -> Vec<Command> {
    Vec::new()
}

/// `permission_groups = [{ id = "…" }, …]` with each group's name as a comment.
fn hcl_groups(groups: &[&PermissionGroup], indent: &str) -> String {
    let lines: Vec<String> = groups
        .iter()
        .map(|g| format!("{indent}  {{ id = {} }}, # {}", hcl_string(g.id), g.name))
        .collect();
    format!("[\n{}\n{indent}]", lines.join("\n"))
}

fn hcl_policy(groups: &[&PermissionGroup], resources: &str) -> String {
    format!(
        "    {{\n      effect            = \"allow\"\n      permission_groups = {}\n      resources = {{\n        {resources}\n      }}\n    }}",
        hcl_groups(groups, "      ")
    )
}

/// The same token as Terraform (provider 5.x): groups by id, so a renamed
/// group cannot silently drop out.
fn terraform(v: &ValidatedCloudflareRequest) -> String {
    let groups = v.groups();
    let of_scope = |scope: GroupScope| -> Vec<&PermissionGroup> {
        groups
            .iter()
            .copied()
            .filter(|g| g.scope == scope)
            .collect()
    };
    let mut policies = Vec::new();
    let zone = of_scope(GroupScope::Zone);
    if !zone.is_empty() {
        let resources = match &v.account_id {
            Some(a) => format!(
                "{} = jsonencode({{ \"com.cloudflare.api.account.zone.*\" = \"*\" }})",
                hcl_string(&format!("com.cloudflare.api.account.{a}"))
            ),
            None => "\"com.cloudflare.api.account.zone.*\" = \"*\"".to_owned(),
        };
        policies.push(hcl_policy(&zone, &resources));
    }
    let account = of_scope(GroupScope::Account);
    if !account.is_empty() {
        let resources = match &v.account_id {
            Some(a) => format!(
                "{} = \"*\"",
                hcl_string(&format!("com.cloudflare.api.account.{a}"))
            ),
            None => "\"com.cloudflare.api.account.*\" = \"*\"".to_owned(),
        };
        policies.push(hcl_policy(&account, &resources));
    }
    let user = of_scope(GroupScope::User);
    let mut data = String::new();
    if !user.is_empty() {
        data = "data \"cloudflare_user\" \"me\" {}\n\n".to_owned();
        policies.push(hcl_policy(
            &user,
            "\"com.cloudflare.api.user.${data.cloudflare_user.me.id}\" = \"*\"",
        ));
    }
    let (resource, account_line) = match (v.owner, &v.account_id) {
        (TokenOwner::Account, Some(a)) => (
            "cloudflare_account_token",
            format!("  account_id = {}\n", hcl_string(a.as_str())),
        ),
        _ => ("cloudflare_api_token", String::new()),
    };
    format!(
        // Provider 5.x: `policies` is a list of objects, `resources` a map of strings.
        "terraform {{\n  required_providers {{\n    cloudflare = {{ source = \"cloudflare/cloudflare\", version = \"~> 5.0\" }}\n  }}\n}}\n\n{data}resource \"{resource}\" \"alphaswarm\" {{\n{account_line}  name = {}\n  policies = [\n{}\n  ]\n}}\n",
        hcl_string(&token_name(v)),
        policies.join(",\n"),
    )
}

/// Renders the Cloudflare bundle for a validated request.
pub fn render_validated(v: &ValidatedCloudflareRequest) -> Result<Bundle, RenderError> {
    let baseline = v.template.required_permission_groups().join(", ");
    let mut values = vec![
        NamedValue::new("template", "Template", v.template.as_str()),
        NamedValue::new("token_owner", "Token owner", v.owner.as_str()),
        NamedValue::new("token_name", "Token name", token_name(v)),
        NamedValue::new("permission_groups", "Permission groups", baseline.clone()),
        NamedValue::new(
            "permission_group_ids",
            "Permission group ids",
            v.template
                .baseline()
                .iter()
                .map(|g| g.id)
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    if let Some(a) = &v.account_id {
        values.push(NamedValue::new("account_id", "Account id", a.as_str()));
    }
    let scope = match (&v.account_id, v.template.is_zone_scoped()) {
        (Some(_), true) => "every zone of this account",
        (None, true) => {
            "every zone of every account you can reach (narrow it to one zone if you can)"
        }
        (Some(_), false) => "this account",
        (None, false) => "every account you can reach (narrow it to one account if you can)",
    };
    let dashboard: Vec<String> = v.groups().iter().map(|g| g.dashboard_path()).collect();
    let mut notes = vec![
        format!(
            "The {} template asks for {baseline}: the token may {}. Resources: {scope}.",
            v.template.as_str(),
            v.template.grants()
        ),
        format!(
            "The link only pre-fills the form: check that it shows {} before you create the token, then paste the token into the wizard. It is stored encrypted and never shown again.",
            dashboard.join(", ")
        ),
    ];
    let check = v.owner.self_check_group();
    notes.push(if v.self_check {
        format!(
            "{} lets the wizard read this token's own permissions, so each one is checked exactly; it shows token names and permissions, never token values.",
            check.dashboard_path()
        )
    } else {
        format!(
            "Without {} the wizard can only probe with read-only calls: write permissions then show as \"could not be verified\".",
            check.dashboard_path()
        )
    });
    notes.push(
        "Set an expiry (TTL) on the token and rotate it every 60-90 days; the integration list turns amber 14 days before expires_on and red after it.".to_owned(),
    );
    notes.push(match v.owner {
        TokenOwner::User => format!(
            "To check the token yourself without putting it on the command line history: export {TOKEN_ENV_VAR} from a password manager, then run: curl -fsS -H \"Authorization: Bearer ${TOKEN_ENV_VAR}\" {}",
            verify_url(TokenOwner::User, None)
        ),
        TokenOwner::Account => format!(
            "The token is owned by the account: pick account {} when the dashboard asks. To check it yourself: export {TOKEN_ENV_VAR} from a password manager, then run: curl -fsS -H \"Authorization: Bearer ${TOKEN_ENV_VAR}\" {}",
            v.account_id.as_ref().map_or("", |a| a.as_str()),
            verify_url(TokenOwner::Account, v.account_id.as_ref())
        ),
    });
    let link_label = match v.owner {
        TokenOwner::User => "Create the scoped API token in the Cloudflare dashboard (My Profile)",
        TokenOwner::Account => "Create the account-owned API token in the Cloudflare dashboard",
    };
    Ok(Bundle {
        cloud: CloudKind::Cloudflare,
        org_id: v.org_id.clone(),
        values,
        files: Vec::new(),
        commands: Commands::render(&commands(v))?,
        links: vec![Link::new("api_token_template", link_label, template_url(v))],
        terraform: terraform(v),
        warnings: vec![Notice::new(
            "global_api_key_refused",
            "Never paste the Global API key: it is refused, because it grants everything and cannot be scoped.",
        )],
        notes,
    })
}

/// Validates the request and renders its bundle.
pub fn render(req: &CloudflareBootstrapRequest) -> Result<Bundle, RenderError> {
    render_validated(&req.validate()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids() {
        assert!(
            CloudflareAccountId::parse_normalised(" 0123456789ABCDEF0123456789abcdef ").is_ok()
        );
        for bad in [
            "0123456789abcdef0123456789abcde",
            "g123456789abcdef0123456789abcdef",
            "*",
        ] {
            assert_eq!(
                crate::CoreError::code(&CloudflareAccountId::parse_normalised(bad).unwrap_err()),
                "invalid_cloudflare_account_id"
            );
        }
    }

    fn validated(
        template: &str,
        owner: Option<&str>,
        account: Option<&str>,
        self_check: bool,
    ) -> ValidatedCloudflareRequest {
        CloudflareBootstrapRequest {
            template: template.into(),
            account_id: account.map(str::to_owned),
            org_id: Some("org-acme".into()),
            token_owner: owner.map(str::to_owned),
            self_check: Some(self_check),
        }
        .validate()
        .unwrap()
    }

    #[test]
    fn links_match_the_documented_shapes() {
        assert_eq!(
            template_url(&validated("dns_edit", None, None, false)),
            "https://dash.cloudflare.com/profile/api-tokens?permissionGroupKeys=%5B%7B%22key%22%3A%22zone%22%2C%22type%22%3A%22read%22%7D%2C%7B%22key%22%3A%22dns%22%2C%22type%22%3A%22edit%22%7D%5D&accountId=*&zoneId=all&name=AlphaSwarm%20org-acme%20dns_edit"
        );
        assert_eq!(
            template_url(&validated(
                "r2",
                Some("account"),
                Some("0123456789abcdef0123456789abcdef"),
                true
            )),
            "https://dash.cloudflare.com/?to=/:account/api-tokens&permissionGroupKeys=%5B%7B%22key%22%3A%22workers_r2%22%2C%22type%22%3A%22edit%22%7D%2C%7B%22key%22%3A%22account_api_tokens%22%2C%22type%22%3A%22read%22%7D%5D&name=AlphaSwarm%20org-acme%20r2"
        );
    }

    #[test]
    fn an_account_owned_token_needs_the_account_id() {
        let err = CloudflareBootstrapRequest {
            template: "tunnel".into(),
            token_owner: Some("account".into()),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            (crate::CoreError::code(&err), crate::CoreError::field(&err)),
            ("missing_field", Some("account_id"))
        );
        let err = CloudflareBootstrapRequest {
            template: "tunnel".into(),
            token_owner: Some("team".into()),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(crate::CoreError::field(&err), Some("token_owner"));
    }
}
