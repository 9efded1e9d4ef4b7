//! What the fake AWS holds: accounts with their users and roles, every
//! issued access key, the AWS managed policies, and the deliberate
//! breakages a test (or the sandbox) switches on.
//!
//! [`AwsState`] is the handle: the same operations the IAM API offers
//! (`create_role` with a trust policy, `put_role_policy`, …) with the same
//! validation, so a test builds state by applying the artifacts the core
//! rendered exactly as a customer's administrator would.

use super::policy::{self, Kind, Policy};
use super::{Partition, regions};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use time::OffsetDateTime;

/// An AWS error answer: HTTP status, error code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl Fault {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Fault {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub fn malformed(message: String) -> Self {
        Fault::new(400, "MalformedPolicyDocument", message)
    }

    pub fn no_such_entity(message: impl Into<String>) -> Self {
        Fault::new(404, "NoSuchEntity", message)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Fault::new(400, "ValidationError", message)
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for Fault {}

/// A long-term access key, as `CreateAccessKey` returns it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// One request the fake answered, for assertions ("no call reached AWS").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `sts`, `iam`, `ec2`, or `unknown`.
    pub service: &'static str,
    pub action: String,
    /// The region the request was signed for (empty when unsigned).
    pub region: String,
    /// The caller's ARN, once authenticated.
    pub caller: Option<String>,
    pub status: u16,
    pub error_code: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Document {
    pub text: String,
    pub policy: Policy,
}

impl Document {
    fn parse(text: &str, kind: Kind) -> Result<Document, Fault> {
        let policy = Policy::parse(text, kind).map_err(Fault::malformed)?;
        Ok(Document {
            text: text.to_owned(),
            policy,
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: String,
    pub arn: String,
    pub inline: BTreeMap<String, Document>,
}

#[derive(Debug, Clone)]
pub(crate) struct Role {
    pub name: String,
    pub path: String,
    pub id: String,
    pub arn: String,
    pub created: OffsetDateTime,
    pub description: Option<String>,
    pub max_session_seconds: u32,
    pub trust: Document,
    pub inline: BTreeMap<String, Document>,
    pub attached: Vec<String>,
    /// Copied from a moto server ([`super::moto`]), refreshed on each request.
    pub mirrored: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Account {
    pub users: BTreeMap<String, User>,
    pub roles: BTreeMap<String, Role>,
    /// Regions whose STS endpoint the account deactivated.
    pub sts_deactivated: BTreeSet<String>,
    /// Opt-in regions the account enabled.
    pub opted_in: BTreeSet<String>,
}

/// Who an access key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owner {
    User {
        account: String,
        name: String,
    },
    Session {
        account: String,
        role_name: String,
        role_arn: String,
        role_id: String,
        session_name: String,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub secret: String,
    pub session_token: Option<String>,
    pub owner: Owner,
    pub expires: Option<OffsetDateTime>,
    pub mirrored: bool,
}

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub account: String,
    /// `arn:…:iam::…:user/…` or `arn:…:sts::…:assumed-role/<role>/<session>`.
    pub arn: String,
    /// What `GetCallerIdentity` calls `UserId`.
    pub user_id: String,
    /// Every ARN a trust policy may name the caller by.
    pub names: Vec<String>,
    /// The user or role whose policies decide (`None`: the role is gone).
    pub policy_holder: Option<(String, String)>,
    pub is_session: bool,
}

pub(crate) struct Model {
    pub partition: Partition,
    /// IAM's page size for SimulatePrincipalPolicy.
    pub max_items: usize,
    pub accounts: BTreeMap<String, Account>,
    pub keys: BTreeMap<String, Key>,
    pub aws_managed: BTreeMap<String, Document>,
    /// AssumeRole of these roles is refused this many more times (IAM settling).
    pub settling: BTreeMap<String, u32>,
    /// GetCallerIdentity reports this account instead of the real one.
    pub misreported_account: Option<String>,
    /// The next this-many requests are throttled.
    pub throttle_next: u32,
    pub calls: Vec<Call>,
}

/// The state of one fake AWS, shared by its server and its handles.
#[derive(Clone)]
pub struct AwsState(pub(crate) Arc<Mutex<Model>>);

const KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub(crate) fn random(prefix: &str, alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    let mut out = prefix.to_owned();
    out.extend((0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char));
    out
}

pub(crate) fn new_secret() -> String {
    random("", SECRET_ALPHABET, 40)
}

pub(crate) fn new_key_id(prefix: &str) -> String {
    random(prefix, KEY_ALPHABET, 16)
}

fn valid_name(name: &str, max: usize) -> bool {
    (1..=max).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

fn valid_path(path: &str) -> bool {
    path == "/"
        || (path.len() <= 512
            && path.starts_with('/')
            && path.ends_with('/')
            && !path.contains("//")
            && path.chars().all(|c| ('!'..='~').contains(&c)))
}

/// `arn:<p>:iam::<account>:role<path><name>` → (account, name).
pub(crate) fn parse_role_arn(arn: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", _, "iam", "", account, resource] = parts[..] else {
        return None;
    };
    let rest = resource.strip_prefix("role/")?;
    let name = rest.rsplit('/').next()?;
    (!name.is_empty()).then(|| (account.to_owned(), name.to_owned()))
}

/// The inline policies IAM allows per role, counted without whitespace.
const ROLE_INLINE_QUOTA: usize = 10_240;
/// The default "role trust policy length" quota.
const TRUST_POLICY_QUOTA: usize = 2_048;

impl Model {
    pub(crate) fn new(partition: Partition, max_items: usize) -> Model {
        let mut aws_managed = BTreeMap::new();
        for (name, text) in [
            (
                "ReadOnlyAccess",
                include_str!("managed/ReadOnlyAccess.json"),
            ),
            (
                "AdministratorAccess",
                include_str!("managed/AdministratorAccess.json"),
            ),
        ] {
            let document = Document::parse(text, Kind::Identity)
                .unwrap_or_else(|e| panic!("managed policy {name} does not parse: {e}"));
            aws_managed.insert(
                format!("arn:{}:iam::aws:policy/{name}", partition.as_str()),
                document,
            );
        }
        Model {
            partition,
            max_items: max_items.max(1),
            accounts: BTreeMap::new(),
            keys: BTreeMap::new(),
            aws_managed,
            settling: BTreeMap::new(),
            misreported_account: None,
            throttle_next: 0,
            calls: Vec::new(),
        }
    }

    pub(crate) fn account(&mut self, id: &str) -> &mut Account {
        self.accounts.entry(id.to_owned()).or_default()
    }

    pub(crate) fn role(&self, account: &str, name: &str) -> Option<&Role> {
        self.accounts.get(account)?.roles.get(name)
    }

    pub(crate) fn role_by_arn(&self, arn: &str) -> Option<&Role> {
        let (account, name) = parse_role_arn(arn)?;
        self.role(&account, &name).filter(|r| r.arn == arn)
    }

    fn role_mut(&mut self, account: &str, name: &str) -> Result<&mut Role, Fault> {
        self.accounts
            .get_mut(account)
            .and_then(|a| a.roles.get_mut(name))
            .ok_or_else(|| {
                Fault::no_such_entity(format!("The role with name {name} cannot be found."))
            })
    }

    fn role_arn(&self, account: &str, path: &str, name: &str) -> String {
        format!(
            "arn:{}:iam::{account}:role{path}{name}",
            self.partition.as_str()
        )
    }

    /// IAM checks that a trust policy's user and role principals exist.
    fn check_principals_exist(&self, trust: &Policy) -> Result<(), Fault> {
        for arn in trust.principal_arns() {
            let parts: Vec<&str> = arn.splitn(6, ':').collect();
            let exists = match parts[..] {
                ["arn", _, "iam", "", _, "root"] => true,
                ["arn", _, "iam", "", account, resource] => {
                    let name = resource.rsplit('/').next().unwrap_or_default();
                    self.accounts.get(account).is_some_and(|a| {
                        if resource.starts_with("role/") {
                            a.roles.get(name).is_some_and(|r| r.arn == arn)
                        } else {
                            a.users.get(name).is_some_and(|u| u.arn == arn)
                        }
                    })
                }
                _ => true,
            };
            if !exists {
                return Err(Fault::malformed(format!(
                    "Invalid principal in policy: \"AWS\":\"{arn}\""
                )));
            }
        }
        Ok(())
    }

    pub(crate) fn create_role(
        &mut self,
        account: &str,
        name: &str,
        path: &str,
        trust_text: &str,
        description: Option<&str>,
    ) -> Result<Role, Fault> {
        if !valid_name(name, 64) {
            return Err(Fault::validation(format!(
                "1 validation error detected: Value '{name}' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
            )));
        }
        if !valid_path(path) {
            return Err(Fault::validation(
                "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.",
            ));
        }
        if policy::quota_length(trust_text) > TRUST_POLICY_QUOTA {
            return Err(Fault::new(
                409,
                "LimitExceeded",
                format!("Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_QUOTA}"),
            ));
        }
        let trust = Document::parse(trust_text, Kind::Trust)?;
        self.check_principals_exist(&trust.policy)?;
        if self.role(account, name).is_some() {
            return Err(Fault::new(
                409,
                "EntityAlreadyExists",
                format!("Role with name {name} already exists."),
            ));
        }
        let role = Role {
            name: name.to_owned(),
            path: path.to_owned(),
            id: random("AROA", KEY_ALPHABET, 17),
            arn: self.role_arn(account, path, name),
            created: OffsetDateTime::now_utc(),
            description: description.map(str::to_owned),
            max_session_seconds: 3600,
            trust,
            inline: BTreeMap::new(),
            attached: Vec::new(),
            mirrored: false,
        };
        self.account(account)
            .roles
            .insert(name.to_owned(), role.clone());
        Ok(role)
    }

    pub(crate) fn update_trust(
        &mut self,
        account: &str,
        name: &str,
        text: &str,
    ) -> Result<(), Fault> {
        let trust = Document::parse(text, Kind::Trust)?;
        self.check_principals_exist(&trust.policy)?;
        self.role_mut(account, name)?.trust = trust;
        Ok(())
    }

    pub(crate) fn put_role_policy(
        &mut self,
        account: &str,
        role: &str,
        policy_name: &str,
        text: &str,
    ) -> Result<(), Fault> {
        if !valid_name(policy_name, 128) {
            return Err(Fault::validation(format!(
                "The specified value for policyName is invalid: {policy_name}"
            )));
        }
        let document = Document::parse(text, Kind::Identity)?;
        let role = self.role_mut(account, role)?;
        // Put replaces a same-named policy; the quota counts the rest too.
        let others: usize = role
            .inline
            .iter()
            .filter(|(name, _)| *name != policy_name)
            .map(|(_, d)| policy::quota_length(&d.text))
            .sum();
        if others + policy::quota_length(text) > ROLE_INLINE_QUOTA {
            return Err(Fault::new(
                409,
                "LimitExceeded",
                format!(
                    "Maximum policy size of {ROLE_INLINE_QUOTA} bytes exceeded for role {}",
                    role.name
                ),
            ));
        }
        role.inline.insert(policy_name.to_owned(), document);
        Ok(())
    }

    pub(crate) fn delete_role_policy(
        &mut self,
        account: &str,
        role: &str,
        policy_name: &str,
    ) -> Result<(), Fault> {
        let role = self.role_mut(account, role)?;
        role.inline.remove(policy_name).map(|_| ()).ok_or_else(|| {
            Fault::no_such_entity(format!(
                "The role policy with name {policy_name} cannot be found."
            ))
        })
    }

    pub(crate) fn attach_role_policy(
        &mut self,
        account: &str,
        role: &str,
        policy_arn: &str,
    ) -> Result<(), Fault> {
        if !self.aws_managed.contains_key(policy_arn) {
            return Err(Fault::no_such_entity(format!(
                "Policy {policy_arn} does not exist or is not attachable."
            )));
        }
        let role = self.role_mut(account, role)?;
        if !role.attached.iter().any(|a| a == policy_arn) {
            role.attached.push(policy_arn.to_owned());
        }
        Ok(())
    }

    pub(crate) fn detach_role_policy(
        &mut self,
        account: &str,
        role: &str,
        policy_arn: &str,
    ) -> Result<(), Fault> {
        let role = self.role_mut(account, role)?;
        let before = role.attached.len();
        role.attached.retain(|a| a != policy_arn);
        if role.attached.len() == before {
            return Err(Fault::no_such_entity(format!(
                "Policy {policy_arn} was not found."
            )));
        }
        Ok(())
    }

    /// IAM's DeleteRole: refused while policies are attached or inline.
    pub(crate) fn delete_role(&mut self, account: &str, name: &str) -> Result<(), Fault> {
        let role = self.role_mut(account, name)?;
        if !role.inline.is_empty() || !role.attached.is_empty() {
            return Err(Fault::new(
                409,
                "DeleteConflict",
                "Cannot delete entity, must delete policies first.",
            ));
        }
        self.account(account).roles.remove(name);
        Ok(())
    }

    /// The documents that decide for `holder` (inline first, then managed),
    /// each with the id and type SimulatePrincipalPolicy reports.
    pub(crate) fn policies_of(
        &self,
        holder: &(String, String),
        is_role: bool,
    ) -> Vec<(String, &'static str, &Policy)> {
        let (account, name) = holder;
        let Some(account) = self.accounts.get(account) else {
            return Vec::new();
        };
        let (inline, attached): (&BTreeMap<String, Document>, &[String]) = if is_role {
            match account.roles.get(name) {
                Some(role) => (&role.inline, &role.attached),
                None => return Vec::new(),
            }
        } else {
            match account.users.get(name) {
                Some(user) => (&user.inline, &[]),
                None => return Vec::new(),
            }
        };
        let kind = if is_role { "role" } else { "user" };
        let mut out: Vec<(String, &'static str, &Policy)> = inline
            .iter()
            .map(|(id, d)| (id.clone(), kind, &d.policy))
            .collect();
        for arn in attached {
            if let Some(d) = self.aws_managed.get(arn) {
                out.push((arn.clone(), "aws-managed", &d.policy));
            }
        }
        out
    }

    /// The caller behind `access_key_id`, or why there is none.
    pub(crate) fn principal(&self, key: &Key) -> Principal {
        let partition = self.partition.as_str();
        match &key.owner {
            Owner::User { account, name } => {
                let user = self.accounts.get(account).and_then(|a| a.users.get(name));
                let arn = user.map_or_else(
                    || format!("arn:{partition}:iam::{account}:user/{name}"),
                    |u| u.arn.clone(),
                );
                Principal {
                    account: account.clone(),
                    user_id: user.map_or_else(String::new, |u| u.id.clone()),
                    names: vec![arn.clone()],
                    arn,
                    policy_holder: user.map(|_| (account.clone(), name.clone())),
                    is_session: false,
                }
            }
            Owner::Session {
                account,
                role_name,
                role_arn,
                role_id,
                session_name,
            } => {
                let arn = format!(
                    "arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}"
                );
                let role_exists = self
                    .role(account, role_name)
                    .is_some_and(|r| &r.arn == role_arn);
                Principal {
                    account: account.clone(),
                    user_id: format!("{role_id}:{session_name}"),
                    names: vec![role_arn.clone(), arn.clone()],
                    arn,
                    policy_holder: role_exists.then(|| (account.clone(), role_name.clone())),
                    is_session: true,
                }
            }
        }
    }

    /// Whether the caller's own policies allow `action` on `resource`.
    pub(crate) fn identity_decision(
        &self,
        principal: &Principal,
        action: &str,
        resource: &str,
        context: &policy::Context,
    ) -> policy::Decision {
        let Some(holder) = &principal.policy_holder else {
            return policy::Decision::ImplicitDeny;
        };
        let policies = self.policies_of(holder, principal.is_session);
        let ask = policy::Ask {
            action,
            resource,
            caller: None,
            context,
        };
        policy::decide(policies.iter().map(|(id, _, p)| (id.as_str(), *p)), &ask).0
    }

    pub(crate) fn regions(&self, account: &str) -> Vec<(&'static str, &'static str)> {
        let opted_in = self.accounts.get(account).map(|a| &a.opted_in);
        regions::of(self.partition)
            .iter()
            .map(|(name, opt_in)| {
                let status = match (*opt_in, opted_in.is_some_and(|set| set.contains(*name))) {
                    (false, _) => "opt-in-not-required",
                    (true, true) => "opted-in",
                    (true, false) => "not-opted-in",
                };
                (*name, status)
            })
            .collect()
    }
}

impl AwsState {
    /// Empty state: no accounts, no keys, the AWS managed policies.
    pub fn new(partition: Partition, max_items: usize) -> Self {
        AwsState(Arc::new(Mutex::new(Model::new(partition, max_items))))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Model> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An IAM user with one inline identity policy and an access key: e.g.
    /// the platform's user allowed `sts:AssumeRole`, or a customer's
    /// administrator who runs the rendered commands.
    pub fn create_user(&self, account: &str, name: &str, policy: &str) -> Result<AccessKey, Fault> {
        if !valid_name(name, 64) {
            return Err(Fault::validation(format!("invalid user name {name}")));
        }
        let document = Document::parse(policy, Kind::Identity)?;
        let mut model = self.lock();
        let arn = format!(
            "arn:{}:iam::{account}:user/{name}",
            model.partition.as_str()
        );
        let user = User {
            id: random("AIDA", KEY_ALPHABET, 17),
            arn,
            inline: BTreeMap::from([(format!("{name}-policy"), document)]),
        };
        if model.account(account).users.contains_key(name) {
            return Err(Fault::new(
                409,
                "EntityAlreadyExists",
                format!("User with name {name} already exists."),
            ));
        }
        model.account(account).users.insert(name.to_owned(), user);
        let key = AccessKey {
            access_key_id: new_key_id("AKIA"),
            secret_access_key: new_secret(),
        };
        model.keys.insert(
            key.access_key_id.clone(),
            Key {
                secret: key.secret_access_key.clone(),
                session_token: None,
                owner: Owner::User {
                    account: account.to_owned(),
                    name: name.to_owned(),
                },
                expires: None,
                mirrored: false,
            },
        );
        Ok(key)
    }

    /// `iam create-role` with `trust_policy` (e.g. the bundle's
    /// `trust_policy.json`); returns the role ARN.
    pub fn create_role(
        &self,
        account: &str,
        name: &str,
        path: &str,
        trust_policy: &str,
    ) -> Result<String, Fault> {
        Ok(self
            .lock()
            .create_role(account, name, path, trust_policy, None)?
            .arn)
    }

    /// `iam update-assume-role-policy`.
    pub fn update_trust_policy(&self, role_arn: &str, trust_policy: &str) -> Result<(), Fault> {
        let (account, name) = arn_parts(role_arn)?;
        self.lock().update_trust(&account, &name, trust_policy)
    }

    /// `iam put-role-policy` (e.g. the bundle's least-privilege policy).
    pub fn put_role_policy(
        &self,
        role_arn: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), Fault> {
        let (account, name) = arn_parts(role_arn)?;
        self.lock()
            .put_role_policy(&account, &name, policy_name, document)
    }

    /// `iam delete-role-policy`.
    pub fn delete_role_policy(&self, role_arn: &str, policy_name: &str) -> Result<(), Fault> {
        let (account, name) = arn_parts(role_arn)?;
        self.lock().delete_role_policy(&account, &name, policy_name)
    }

    /// `iam attach-role-policy` of an AWS managed policy (ReadOnlyAccess, …).
    pub fn attach_role_policy(&self, role_arn: &str, policy_arn: &str) -> Result<(), Fault> {
        let (account, name) = arn_parts(role_arn)?;
        self.lock().attach_role_policy(&account, &name, policy_arn)
    }

    /// Deletes the role as the console does: its policies first, then the role.
    pub fn delete_role(&self, role_arn: &str) -> Result<(), Fault> {
        let (account, name) = arn_parts(role_arn)?;
        let mut model = self.lock();
        let role = model.role_mut(&account, &name)?;
        role.inline.clear();
        role.attached.clear();
        model.delete_role(&account, &name)
    }

    /// IAM eventual consistency, on purpose: the next `times` AssumeRole
    /// calls for the role are refused with AccessDenied, as for a role
    /// created seconds ago.
    pub fn settle_after(&self, role_arn: &str, times: u32) {
        self.lock().settling.insert(role_arn.to_owned(), times);
    }

    /// The account deactivates STS in `region` (IAM account settings):
    /// STS calls signed for it answer RegionDisabledException.
    pub fn deactivate_sts_region(&self, account: &str, region: &str) {
        self.lock()
            .account(account)
            .sts_deactivated
            .insert(region.to_owned());
    }

    /// The account enables an opt-in region.
    pub fn enable_region(&self, account: &str, region: &str) {
        self.lock()
            .account(account)
            .opted_in
            .insert(region.to_owned());
    }

    /// Every issued session expires now (ExpiredToken on its next use).
    pub fn expire_sessions(&self) {
        let past = OffsetDateTime::now_utc() - time::Duration::seconds(1);
        for key in self.lock().keys.values_mut() {
            if key.session_token.is_some() {
                key.expires = Some(past);
            }
        }
    }

    /// Broken on purpose (no real AWS does this): GetCallerIdentity reports
    /// `account`, so the proxy's account check can be seen to work.
    pub fn misreport_caller_account(&self, account: Option<&str>) {
        self.lock().misreported_account = account.map(str::to_owned);
    }

    /// The next `requests` requests answer `Throttling`.
    pub fn throttle_next(&self, requests: u32) {
        self.lock().throttle_next = requests;
    }

    /// The requests answered so far, in order (the latest 10,000 at most).
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// How many requests reached the fake (of the latest 10,000).
    pub fn call_count(&self) -> usize {
        self.lock().calls.len()
    }

    /// The role's inline policy names and attached managed policy ARNs.
    pub fn role_policies(&self, role_arn: &str) -> Option<(Vec<String>, Vec<String>)> {
        let model = self.lock();
        let role = model.role_by_arn(role_arn)?;
        Some((role.inline.keys().cloned().collect(), role.attached.clone()))
    }
}

fn arn_parts(role_arn: &str) -> Result<(String, String), Fault> {
    parse_role_arn(role_arn)
        .ok_or_else(|| Fault::validation(format!("{role_arn} is not a role ARN")))
}
