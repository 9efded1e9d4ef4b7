//! Cloudflare: scoped API token templates (there is no federated option).
//!
//! The bundle is a dashboard link that pre-fills the token form with the
//! template's permissions; the customer creates the token and pastes it in
//! step 3. The deprecated Global API key is recognised and refused.

use crate::bundle::{Bundle, Link, NamedValue, Notice, RenderError, hcl_string};
use crate::error::CoreError;
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

    /// Permission groups as the API names them ("Write" where the dashboard
    /// says "Edit"). Tunnel also accepts its older name, "Argo Tunnel Write".
    pub fn required_permission_groups(self) -> &'static [&'static str] {
        match self {
            CloudflareTemplate::DnsEdit => &["DNS Write"],
            CloudflareTemplate::Tunnel => &["Cloudflare Tunnel Write"],
            CloudflareTemplate::Access => &["Access: Apps and Policies Write"],
            CloudflareTemplate::Worker => &["Workers Scripts Write"],
            CloudflareTemplate::R2 => &["Workers R2 Storage Write"],
        }
    }

    /// Every name a required group may carry in an account's permission
    /// group list: the current names plus older ones Cloudflare still returns.
    pub fn accepted_permission_group_names(self) -> &'static [&'static str] {
        match self {
            CloudflareTemplate::Tunnel => &["Cloudflare Tunnel Write", "Argo Tunnel Write"],
            other => other.required_permission_groups(),
        }
    }

    /// The dashboard's permission keys for the template link (`key`, `type`).
    /// The dashboard's keys are not in the API model; these are the ones its
    /// template URLs are known to accept (Tunnel still uses `argotunnel`).
    pub fn dashboard_permission_keys(self) -> &'static [(&'static str, &'static str)] {
        match self {
            CloudflareTemplate::DnsEdit => &[("dns", "edit")],
            CloudflareTemplate::Tunnel => &[("argotunnel", "edit")],
            CloudflareTemplate::Access => &[("access", "edit")],
            CloudflareTemplate::Worker => &[("workers_scripts", "edit")],
            CloudflareTemplate::R2 => &[("workers_r2", "edit")],
        }
    }

    /// DNS permissions are per zone; the others are per account.
    pub fn is_zone_scoped(self) -> bool {
        matches!(self, CloudflareTemplate::DnsEdit)
    }

    /// What a token made from the template may do, in plain words.
    pub fn grants(self) -> &'static str {
        match self {
            CloudflareTemplate::DnsEdit => {
                "create, change and delete DNS records in the zones it covers"
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

// ---------------------------------------------------------------- tokens

/// Length of the deprecated Global API key (hex).
pub const GLOBAL_API_KEY_LEN: usize = 37;
/// Upper bound on a pasted token; real tokens are far shorter.
pub const MAX_TOKEN_LEN: usize = 1024;

/// Whether `token` has the shape of a Global API key (37 hex characters).
/// Surrounding whitespace, a paste artefact, is ignored.
pub fn is_global_api_key(token: &str) -> bool {
    let token = token.trim();
    token.len() == GLOBAL_API_KEY_LEN && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Why a pasted token is refused before any call to Cloudflare. Messages
/// never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudflareError {
    #[error("no token was given")]
    MissingToken,
    #[error("this is a Global API key, which AlphaSwarm never accepts")]
    GlobalApiKey,
    #[error("the token contains a character no API token has (at position {position})")]
    InvalidTokenShape { position: usize },
    #[error("the token is {len} characters long; API tokens are far shorter")]
    TokenTooLong { len: usize },
}

impl CoreError for CloudflareError {
    fn code(&self) -> &'static str {
        match self {
            CloudflareError::MissingToken => "missing_token",
            CloudflareError::GlobalApiKey => "global_api_key_refused",
            CloudflareError::InvalidTokenShape { .. } => "invalid_token_shape",
            CloudflareError::TokenTooLong { .. } => "invalid_token_shape",
        }
    }
    fn field(&self) -> Option<&str> {
        Some("token")
    }
    fn hint(&self) -> String {
        match self {
            CloudflareError::GlobalApiKey => {
                "Create a scoped API token from the template link instead (My Profile > API Tokens); the Global API key grants everything and cannot be scoped."
            }
            _ => "Paste the API token exactly as Cloudflare showed it when you created it.",
        }
        .to_owned()
    }
}

/// Refuses what cannot be a scoped API token, before it is sent anywhere.
/// Surrounding whitespace is ignored (a paste artefact); inside the token
/// only printable ASCII without spaces is allowed.
pub fn check_token_shape(token: &str) -> Result<(), CloudflareError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(CloudflareError::MissingToken);
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(CloudflareError::TokenTooLong { len: token.len() });
    }
    if let Some(position) = token.chars().position(|c| !c.is_ascii_graphic()) {
        return Err(CloudflareError::InvalidTokenShape { position });
    }
    if is_global_api_key(token) {
        return Err(CloudflareError::GlobalApiKey);
    }
    Ok(())
}

// ---------------------------------------------------------------- bootstrap

/// The dashboard page that creates user API tokens.
pub const API_TOKENS_PAGE: &str = "https://dash.cloudflare.com/profile/api-tokens";
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
    /// Limits the token to one account; all accounts when absent.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Names the token; absent means the admin tenant (`__platform__`),
    /// whose routes use that synthetic org id.
    #[serde(default)]
    pub org_id: Option<String>,
}

/// A request whose every value passed its rule; the only input of rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedCloudflareRequest {
    pub template: CloudflareTemplate,
    pub account_id: Option<CloudflareAccountId>,
    pub org_id: OrgId,
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
        Ok(ValidatedCloudflareRequest {
            template,
            account_id,
            org_id,
        })
    }
}

/// `AlphaSwarm <org_id> <template>`: findable in the dashboard's token list.
pub fn token_name(v: &ValidatedCloudflareRequest) -> String {
    format!("{TOKEN_NAME_PREFIX} {} {}", v.org_id, v.template.as_str())
}

/// `[{"key":"dns","type":"edit"}]` for the template.
pub fn permission_group_keys_json(template: CloudflareTemplate) -> String {
    let keys: Vec<serde_json::Value> = template
        .dashboard_permission_keys()
        .iter()
        .map(|(key, kind)| serde_json::json!({ "key": key, "type": kind }))
        .collect();
    serde_json::Value::Array(keys).to_string()
}

/// The dashboard link that pre-fills the token form (cloud-formats.md).
pub fn template_url(v: &ValidatedCloudflareRequest) -> String {
    let encode = |s: &str| utf8_percent_encode(s, QUERY_VALUE).to_string();
    format!(
        "{API_TOKENS_PAGE}?permissionGroupKeys={}&accountId={}&zoneId=all&name={}",
        encode(&permission_group_keys_json(v.template)),
        encode(v.account_id.as_ref().map_or("*", |a| a.as_str())),
        encode(&token_name(v)),
    )
}

/// The verify endpoint for a user-owned token, or for one owned by the account.
pub fn verify_url(account: Option<&CloudflareAccountId>) -> String {
    match account {
        Some(a) => format!("https://api.cloudflare.com/client/v4/accounts/{a}/tokens/verify"),
        None => "https://api.cloudflare.com/client/v4/user/tokens/verify".to_owned(),
    }
}

/// Cloudflare needs no commands: the token is created in the dashboard. The
/// verify example is a note, because it must expand an environment variable
/// that the quoted rendering would (rightly) keep literal.
pub fn commands(_: &ValidatedCloudflareRequest) -> Vec<Command> {
    Vec::new()
}

fn terraform(v: &ValidatedCloudflareRequest) -> Result<String, RenderError> {
    let scope = if v.template.is_zone_scoped() {
        "com.cloudflare.api.account.zone"
    } else {
        "com.cloudflare.api.account"
    };
    let names = v
        .template
        .accepted_permission_group_names()
        .iter()
        .map(|n| hcl_string(n))
        .collect::<Vec<_>>()
        .join(", ");
    let resources = match (&v.account_id, v.template.is_zone_scoped()) {
        (Some(a), true) => format!(
            "{} = jsonencode({{ \"com.cloudflare.api.account.zone.*\" = \"*\" }})",
            hcl_string(&format!("com.cloudflare.api.account.{a}"))
        ),
        (Some(a), false) => format!(
            "{} = \"*\"",
            hcl_string(&format!("com.cloudflare.api.account.{a}"))
        ),
        (None, true) => "\"com.cloudflare.api.account.zone.*\" = \"*\"".to_owned(),
        (None, false) => "\"com.cloudflare.api.account.*\" = \"*\"".to_owned(),
    };
    Ok(format!(
        // Provider 5.x: `policies` is a list of objects, `resources` a map.
        r#"terraform {{
  required_providers {{
    cloudflare = {{ source = "cloudflare/cloudflare", version = "~> 5.0" }}
  }}
}}

data "cloudflare_api_token_permission_groups_list" "all" {{}}

locals {{
  alphaswarm_permission_groups = [
    for g in data.cloudflare_api_token_permission_groups_list.all.result : {{ id = g.id }}
    if contains([{names}], g.name) && contains(g.scopes, {scope})
  ]
}}

resource "cloudflare_api_token" "alphaswarm" {{
  name = {name}
  policies = [{{
    effect            = "allow"
    permission_groups = local.alphaswarm_permission_groups
    resources = {{
      {resources}
    }}
  }}]
}}
"#,
        scope = hcl_string(scope),
        name = hcl_string(&token_name(v)),
    ))
}

/// Renders the Cloudflare bundle for a validated request.
pub fn render_validated(v: &ValidatedCloudflareRequest) -> Result<Bundle, RenderError> {
    let groups = v.template.required_permission_groups().join(", ");
    let mut values = vec![
        NamedValue::new("template", "Template", v.template.as_str()),
        NamedValue::new("token_name", "Token name", token_name(v)),
        NamedValue::new("permission_groups", "Permission groups", groups.clone()),
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
    let mut notes = vec![
        format!(
            "The {} template asks for {groups}: the token may {}. Resources: {scope}.",
            v.template.as_str(),
            v.template.grants()
        ),
        "The link only pre-fills the form: check the permissions shown against the list above, then create the token and paste it into the wizard. It is stored encrypted and never shown again.".to_owned(),
        "Rotate the token every 60-90 days; the wizard's health check shows its expires_on date.".to_owned(),
        format!(
            "To check a user token yourself without putting it on the command line history: export {TOKEN_ENV_VAR} from a password manager, then run: curl -fsS -H \"Authorization: Bearer ${TOKEN_ENV_VAR}\" {}",
            verify_url(None)
        ),
    ];
    if let Some(a) = &v.account_id {
        notes.push(format!(
            "A token owned by the account (created under Manage Account > API Tokens) is verified at {} instead.",
            verify_url(Some(a))
        ));
    }
    Ok(Bundle {
        cloud: CloudKind::Cloudflare,
        org_id: v.org_id.clone(),
        values,
        files: Vec::new(),
        commands: Commands::render(&commands(v))?,
        links: vec![Link::new(
            "api_token_template",
            "Create the scoped API token in the Cloudflare dashboard",
            template_url(v),
        )],
        terraform: terraform(v)?,
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
    fn global_api_key_is_refused_without_echo() {
        let key = "0123456789abcdef0123456789abcdef01234";
        assert!(is_global_api_key(key));
        let e = check_token_shape(&format!(" {key}\n")).unwrap_err();
        assert_eq!(e.code(), "global_api_key_refused");
        assert!(!e.to_string().contains(key) && !e.hint().contains(key));
        // A 40-character scoped token is not a Global API key.
        assert!(check_token_shape("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-Ab").is_ok());
        assert!(!is_global_api_key("0123456789abcdef0123456789abcdef0123"));
    }

    #[test]
    fn token_shapes() {
        assert_eq!(check_token_shape("  ").unwrap_err().code(), "missing_token");
        assert_eq!(
            check_token_shape("a b").unwrap_err().code(),
            "invalid_token_shape"
        );
        assert_eq!(
            check_token_shape(&"a".repeat(5000)).unwrap_err().code(),
            "invalid_token_shape"
        );
    }

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
                CloudflareAccountId::parse_normalised(bad)
                    .unwrap_err()
                    .code(),
                "invalid_cloudflare_account_id"
            );
        }
    }

    #[test]
    fn link_matches_the_documented_shape() {
        let v = CloudflareBootstrapRequest {
            template: "dns_edit".into(),
            account_id: None,
            org_id: Some("org-acme".into()),
        }
        .validate()
        .unwrap();
        assert_eq!(
            template_url(&v),
            "https://dash.cloudflare.com/profile/api-tokens?permissionGroupKeys=%5B%7B%22key%22%3A%22dns%22%2C%22type%22%3A%22edit%22%7D%5D&accountId=*&zoneId=all&name=AlphaSwarm%20org-acme%20dns_edit"
        );
    }
}
