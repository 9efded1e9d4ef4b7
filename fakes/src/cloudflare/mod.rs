//! A loopback fake of the Cloudflare API (`/client/v4`), for the tests and
//! the sandbox.
//!
//! It speaks the real envelope `{success, errors, messages, result}` and
//! checks what Cloudflare checks (federation-formats.md §4):
//! - the `Authorization: Bearer` format (6003 with 6111; a token in
//!   `X-Auth-Key` gives 6003 with 6103), unknown tokens (1000);
//! - user and account tokens: an account token at the user verify endpoint
//!   is 1000, and a user token at an account's is too;
//! - each token's policies, per permission group and resource: a call the
//!   token may not make is 403 10000 (9109 on the token endpoints); zones
//!   and accounts are listed per token;
//! - `status`, `not_before` and `expires_on`: verify reports them, every
//!   other endpoint refuses a token outside its window (1000).
//!
//! Tokens are minted the way a customer makes them: from the dashboard link
//! the core rendered ([`CloudflareFake::mint_from_link`]), whose
//! `permissionGroupKeys` the fake maps to groups as the dashboard does, or
//! from explicit policies ([`CloudflareFake::mint`]). The handle also
//! revokes, expires, disables and edits tokens; its [`Traffic`] counts
//! requests and injects 429s (code 971) and outages (the edge's HTML page).
//!
//! Modelled from the schema, not observed: verify of an expired or disabled
//! token answers 200 with that `status` (the docs list the values); 404s
//! use code 7003.

mod api;
pub mod policy;

use crate::server::{Running, serve};
use crate::shared::Shared;
use crate::traffic::Traffic;
use alphaswarm_core::cloudflare::{
    CloudflareBootstrapRequest, CloudflareTemplate, TokenOwner, template_url,
};
use percent_encoding::percent_decode_str;
use policy::{CATALOG, Effect, Policy, link_key_group};
use rand::Rng;
use serde_json::{Map, Value, json};
use std::sync::MutexGuard;
use time::OffsetDateTime;

pub use policy::{CatalogGroup, Scope, Target};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    pub id: String,
    pub name: String,
    pub account_id: String,
}

/// Who owns a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    User,
    Account(String),
}

/// How a minted token's value looks (federation-formats.md §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenFormat {
    /// 40 characters of `[A-Za-z0-9_-]`.
    #[default]
    Legacy,
    /// `cfut_` / `cfat_` + 40 characters + a checksum. The real checksum's
    /// algorithm is unconfirmed; the fake appends 8 random characters and
    /// checks only the shape.
    Scannable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Disabled,
    Expired,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Disabled => "disabled",
            Status::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Token {
    pub id: String,
    value: String,
    pub owner: Owner,
    pub name: String,
    pub status: Status,
    pub issued_on: OffsetDateTime,
    pub not_before: Option<OffsetDateTime>,
    pub expires_on: Option<OffsetDateTime>,
    pub policies: Vec<Policy>,
}

impl Token {
    /// Usable now: active and inside its validity window.
    fn usable(&self, now: OffsetDateTime) -> bool {
        self.status == Status::Active
            && self.not_before.is_none_or(|n| now >= n)
            && self.expires_on.is_none_or(|e| now < e)
    }
}

/// What a mint returns: the token's id and its value (shown once, as
/// Cloudflare does).
#[derive(Clone, PartialEq, Eq)]
pub struct MintedToken {
    pub id: String,
    pub value: String,
    /// Link keys the dashboard did not recognise (and so did not pre-select).
    pub ignored_keys: Vec<String>,
}

impl std::fmt::Debug for MintedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedToken")
            .field("id", &self.id)
            .field("ignored_keys", &self.ignored_keys)
            .finish_non_exhaustive()
    }
}

/// A token to mint from explicit policies.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    pub owner: Owner,
    pub name: String,
    /// `(effect, group ids, resources)`.
    pub policies: Vec<(Effect, Vec<String>, Value)>,
    pub not_before: Option<OffsetDateTime>,
    pub expires_on: Option<OffsetDateTime>,
    pub format: TokenFormat,
}

/// Choices the customer makes in the dashboard form after opening a link.
#[derive(Debug, Clone, Default)]
pub struct MintOptions {
    /// The account picked when the link is the account form (`:account`).
    pub account_id: Option<String>,
    pub not_before: Option<OffsetDateTime>,
    pub expires_on: Option<OffsetDateTime>,
    pub format: TokenFormat,
    /// Permission keys unticked before creating (to make a token lack one).
    pub drop_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    #[error("the link is not a Cloudflare token template link")]
    NotATemplateLink,
    #[error("the account form needs an account to be picked")]
    AccountRequired,
    #[error("no account {0} in the fake")]
    UnknownAccount(String),
    #[error("the core could not render the template: {0}")]
    Render(String),
}

#[derive(Debug)]
struct State {
    user_tag: String,
    accounts: Vec<Account>,
    zones: Vec<Zone>,
    tokens: Vec<Token>,
    /// Report renamed groups by their former name (the API drifts).
    former_names: bool,
    /// `(method, path)` of every request, never a header.
    requests: Vec<(String, String)>,
}

/// One user with two accounts: "Acme Production" (two zones) and "Acme
/// Staging" (one zone).
impl Default for State {
    fn default() -> Self {
        let production = Account {
            id: random_hex32(),
            name: "Acme Production".into(),
        };
        let staging = Account {
            id: random_hex32(),
            name: "Acme Staging".into(),
        };
        let zone = |name: &str, account: &Account| Zone {
            id: random_hex32(),
            name: name.into(),
            account_id: account.id.clone(),
        };
        let zones = vec![
            zone("acme.example", &production),
            zone("acme-internal.example", &production),
            zone("staging.acme.example", &staging),
        ];
        State {
            user_tag: random_hex32(),
            accounts: vec![production, staging],
            zones,
            tokens: Vec::new(),
            former_names: false,
            requests: Vec::new(),
        }
    }
}

/// The handle tests and the sandbox use to shape the fake's world; clones
/// share it.
#[derive(Clone, Default)]
pub struct CloudflareFake {
    shared: Shared<State>,
}

/// The fake serving on a loopback port; stops when dropped.
pub struct RunningCloudflare {
    pub server: Running,
    pub fake: CloudflareFake,
}

impl RunningCloudflare {
    /// The API base to configure (`ALPHASWARM_ADMIN_CLOUDFLARE_ENDPOINT_URL`).
    pub fn api_url(&self) -> String {
        format!("{}/client/v4", self.server.url())
    }
}

fn random_hex32() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_token_chars(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

impl CloudflareFake {
    pub fn new() -> CloudflareFake {
        CloudflareFake::default()
    }

    /// A fake whose counters and faults are `traffic`'s, which other fakes
    /// may share.
    pub fn with_traffic(traffic: Traffic) -> CloudflareFake {
        CloudflareFake {
            shared: Shared::with_traffic(traffic),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state()
    }

    /// Request counts, latency and injected faults (429s, outages).
    pub fn traffic(&self) -> &Traffic {
        self.shared.traffic()
    }

    /// Serves the fake on an ephemeral loopback port.
    pub async fn start(self) -> std::io::Result<RunningCloudflare> {
        let server = serve(self.router(), 0).await?;
        Ok(RunningCloudflare { server, fake: self })
    }

    /// The API under `/client/v4`, for mounting elsewhere (the sandbox).
    pub fn router(&self) -> axum::Router {
        api::router(self.clone())
    }

    pub fn accounts(&self) -> Vec<Account> {
        self.state().accounts.clone()
    }

    pub fn zones(&self) -> Vec<Zone> {
        self.state().zones.clone()
    }

    /// The first account ("Acme Production").
    pub fn account_id(&self) -> String {
        self.state().accounts[0].id.clone()
    }

    pub fn user_tag(&self) -> String {
        self.state().user_tag.clone()
    }

    /// Adds a zone to an account; returns its id.
    pub fn add_zone(&self, name: &str, account_id: &str) -> String {
        let id = random_hex32();
        self.state().zones.push(Zone {
            id: id.clone(),
            name: name.into(),
            account_id: account_id.into(),
        });
        id
    }

    /// Adds an account without zones (to test an account the token lacks).
    pub fn add_account(&self, name: &str) -> String {
        let id = random_hex32();
        self.state().accounts.push(Account {
            id: id.clone(),
            name: name.into(),
        });
        id
    }

    /// Every request so far: `(method, path)` without the query string.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.state().requests.clone()
    }

    /// How many requests reached the fake (faulted ones included).
    pub fn request_count(&self) -> u64 {
        self.traffic().stats().requests
    }

    /// Report renamed groups by their former name ("Argo Tunnel Write").
    pub fn use_former_group_names(&self, on: bool) {
        self.state().former_names = on;
    }

    fn record(&self, method: &str, path: &str) {
        self.state()
            .requests
            .push((method.to_owned(), path.to_owned()));
    }

    /// Mints a token from explicit policies.
    pub fn mint(&self, spec: TokenSpec) -> MintedToken {
        let mut state = self.state();
        let id = random_hex32();
        let value = match (spec.format, &spec.owner) {
            (TokenFormat::Legacy, _) => random_token_chars(40),
            (TokenFormat::Scannable, Owner::User) => {
                format!("cfut_{}{}", random_token_chars(40), random_token_chars(8))
            }
            (TokenFormat::Scannable, Owner::Account(_)) => {
                format!("cfat_{}{}", random_token_chars(40), random_token_chars(8))
            }
        };
        let policies = spec
            .policies
            .into_iter()
            .map(|(effect, group_ids, resources)| Policy {
                id: random_hex32(),
                effect,
                group_ids,
                resources: resources.as_object().cloned().unwrap_or_default(),
            })
            .collect();
        state.tokens.push(Token {
            id: id.clone(),
            value: value.clone(),
            owner: spec.owner,
            name: spec.name,
            status: Status::Active,
            issued_on: OffsetDateTime::now_utc(),
            not_before: spec.not_before,
            expires_on: spec.expires_on,
            policies,
        });
        MintedToken {
            id,
            value,
            ignored_keys: Vec::new(),
        }
    }

    /// What the dashboard does with a template link: pre-select the link's
    /// permission groups, scope them as the link says (user form:
    /// `accountId`, `zoneId=all`; account form: the picked account), and
    /// create the token.
    pub fn mint_from_link(
        &self,
        url: &str,
        options: MintOptions,
    ) -> Result<MintedToken, MintError> {
        let (page, query) = url.split_once('?').ok_or(MintError::NotATemplateLink)?;
        let params: Vec<(String, String)> = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| {
                (
                    k.to_owned(),
                    percent_decode_str(v).decode_utf8_lossy().into_owned(),
                )
            })
            .collect();
        let param = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let account_form =
            page == "https://dash.cloudflare.com/" && param("to") == Some("/:account/api-tokens");
        if !account_form && page != "https://dash.cloudflare.com/profile/api-tokens" {
            return Err(MintError::NotATemplateLink);
        }
        let keys: Vec<Value> = param("permissionGroupKeys")
            .and_then(|k| serde_json::from_str(k).ok())
            .ok_or(MintError::NotATemplateLink)?;
        let mut ignored_keys = Vec::new();
        let mut groups = Vec::new();
        for k in &keys {
            let (key, kind) = (
                k["key"].as_str().unwrap_or_default(),
                k["type"].as_str().unwrap_or_default(),
            );
            if options.drop_keys.iter().any(|d| d == key) {
                continue;
            }
            match link_key_group(key, kind) {
                Some(id) => groups.push(id),
                None => ignored_keys.push(format!("{key}:{kind}")),
            }
        }
        let user_tag = self.user_tag();
        let (owner, account) = if account_form {
            let account = options
                .account_id
                .clone()
                .ok_or(MintError::AccountRequired)?;
            (Owner::Account(account.clone()), Some(account))
        } else {
            let account = param("accountId").filter(|a| *a != "*").map(str::to_owned);
            (Owner::User, account)
        };
        if let Some(a) = &account
            && !self.accounts().iter().any(|x| &x.id == a)
        {
            return Err(MintError::UnknownAccount(a.clone()));
        }
        let of_scope = |scope: Scope| -> Vec<String> {
            groups
                .iter()
                .filter(|id| policy::catalog_group(id).is_some_and(|g| g.scope == scope))
                .map(|id| (*id).to_owned())
                .collect()
        };
        let mut policies = Vec::new();
        let zone = of_scope(Scope::Zone);
        if !zone.is_empty() {
            let resources = match &account {
                Some(a) => {
                    json!({ format!("com.cloudflare.api.account.{a}"): {"com.cloudflare.api.account.zone.*": "*"} })
                }
                None => json!({"com.cloudflare.api.account.zone.*": "*"}),
            };
            policies.push((Effect::Allow, zone, resources));
        }
        let account_groups = of_scope(Scope::Account);
        if !account_groups.is_empty() {
            let key = format!(
                "com.cloudflare.api.account.{}",
                account.as_deref().unwrap_or("*")
            );
            policies.push((Effect::Allow, account_groups, json!({ key: "*" })));
        }
        let user = of_scope(Scope::User);
        if !user.is_empty() {
            policies.push((
                Effect::Allow,
                user,
                json!({ format!("com.cloudflare.api.user.{user_tag}"): "*" }),
            ));
        }
        let mut minted = self.mint(TokenSpec {
            owner,
            name: param("name").unwrap_or("API token").to_owned(),
            policies,
            not_before: options.not_before,
            expires_on: options.expires_on,
            format: options.format,
        });
        minted.ignored_keys = ignored_keys;
        Ok(minted)
    }

    /// "Apply in the sandbox": renders the core's link for `template` and
    /// mints the token a customer would get from it. An account-owned token
    /// needs `account_id`.
    pub fn mint_from_template(
        &self,
        template: CloudflareTemplate,
        owner: TokenOwner,
        account_id: Option<&str>,
        options: MintOptions,
    ) -> Result<MintedToken, MintError> {
        let request = CloudflareBootstrapRequest {
            template: template.as_str().to_owned(),
            account_id: account_id.map(str::to_owned),
            org_id: None,
            token_owner: Some(owner.as_str().to_owned()),
            self_check: None,
        };
        let validated = request
            .validate()
            .map_err(|e| MintError::Render(e.to_string()))?;
        let options = MintOptions {
            account_id: options.account_id.or(account_id.map(str::to_owned)),
            ..options
        };
        self.mint_from_link(&template_url(&validated), options)
    }

    fn edit(&self, token_id: &str, change: impl FnOnce(&mut Token)) -> bool {
        let mut state = self.state();
        match state.tokens.iter_mut().find(|t| t.id == token_id) {
            Some(token) => {
                change(token);
                true
            }
            None => false,
        }
    }

    /// Deletes the token (Cloudflare: "Delete"); later calls get 1000.
    pub fn revoke(&self, token_id: &str) -> bool {
        let mut state = self.state();
        let before = state.tokens.len();
        state.tokens.retain(|t| t.id != token_id);
        state.tokens.len() < before
    }

    /// Ends the token's life now: `expires_on` one second ago, `status` expired.
    pub fn expire(&self, token_id: &str) -> bool {
        self.edit(token_id, |t| {
            t.expires_on = Some(OffsetDateTime::now_utc() - time::Duration::seconds(1));
            t.status = Status::Expired;
        })
    }

    pub fn disable(&self, token_id: &str) -> bool {
        self.edit(token_id, |t| t.status = Status::Disabled)
    }

    pub fn set_window(
        &self,
        token_id: &str,
        not_before: Option<OffsetDateTime>,
        expires_on: Option<OffsetDateTime>,
    ) -> bool {
        self.edit(token_id, |t| {
            t.not_before = not_before;
            t.expires_on = expires_on;
        })
    }

    /// Removes a permission group from every policy of the token (an
    /// operator editing it in the dashboard; the value stays the same).
    pub fn remove_group(&self, token_id: &str, group_id: &str) -> bool {
        self.edit(token_id, |t| {
            for p in &mut t.policies {
                p.group_ids.retain(|g| g != group_id);
            }
        })
    }

    /// Adds a permission group to the token's first policy of its scope,
    /// or a new policy over every resource of that scope.
    pub fn add_group(&self, token_id: &str, group_id: &str) -> bool {
        let Some(scope) = policy::catalog_group(group_id).map(|g| g.scope) else {
            return false;
        };
        let user_tag = self.user_tag();
        self.edit(token_id, |t| {
            let fits = |p: &Policy| {
                p.effect == Effect::Allow
                    && p.group_ids
                        .iter()
                        .any(|g| policy::catalog_group(g).is_some_and(|c| c.scope == scope))
            };
            if let Some(p) = t.policies.iter_mut().find(|p| fits(p)) {
                p.group_ids.push(group_id.to_owned());
                return;
            }
            let key = match (scope, &t.owner) {
                (Scope::Zone, _) => "com.cloudflare.api.account.zone.*".to_owned(),
                (Scope::Account, Owner::Account(a)) => format!("com.cloudflare.api.account.{a}"),
                (Scope::Account, Owner::User) => "com.cloudflare.api.account.*".to_owned(),
                (Scope::User, _) => format!("com.cloudflare.api.user.{user_tag}"),
            };
            let mut resources = Map::new();
            resources.insert(key, "*".into());
            t.policies.push(Policy {
                id: random_hex32(),
                effect: Effect::Allow,
                group_ids: vec![group_id.to_owned()],
                resources,
            });
        })
    }

    /// The token with this id, as stored (tests inspect policies).
    pub fn token(&self, token_id: &str) -> Option<Token> {
        self.state()
            .tokens
            .iter()
            .find(|t| t.id == token_id)
            .cloned()
    }

    /// The catalog's name for a group id, current or (if switched on) former.
    fn group_name(&self, id: &str, former: bool) -> Option<&'static str> {
        CATALOG.iter().find(|g| g.id == id).map(|g| {
            if former {
                g.former_name.unwrap_or(g.name)
            } else {
                g.name
            }
        })
    }
}
