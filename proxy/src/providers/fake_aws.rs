//! An in-process AWS for tests (and the binary's test-only fake mode): roles
//! with a trust policy that requires (or, when unsafe, ignores) an external
//! id, an account they live in, the actions they are allowed and how many
//! AssumeRole calls fail while IAM "settles". Every call is counted so tests
//! can prove a refused request never reached the cloud.

use super::aws::{
    AssumedCredentials, AwsCallError, AwsCalls, CallerIdentity, PolicyDecision, RegionInfo,
};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone)]
pub struct FakeRole {
    /// The account GetCallerIdentity reports (differs from the ARN's to test mismatch).
    pub account: String,
    /// `Some(id)`: the trust policy requires this external id. `None`: any caller may assume it.
    pub required_external_id: Option<String>,
    /// AssumeRole answers AccessDenied this many times first.
    pub settle_failures: u32,
    pub allowed_actions: Vec<String>,
}

/// How roles not registered with [`FakeAws::add_role`] behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownRoles {
    /// `role_not_found`, as STS says for a missing role.
    NotFound,
    /// Any ARN exists in its own account, needs *some* external id and may do everything
    /// (the binary's fake mode, used by the crash test).
    Permissive,
}

pub struct FakeAws {
    roles: Mutex<HashMap<String, FakeRole>>,
    unknown: UnknownRoles,
    calls: AtomicUsize,
    unreachable: std::sync::atomic::AtomicBool,
}

impl FakeAws {
    pub fn new(unknown: UnknownRoles) -> Self {
        FakeAws {
            roles: Mutex::new(HashMap::new()),
            unknown,
            calls: AtomicUsize::new(0),
            unreachable: false.into(),
        }
    }

    pub fn add_role(&self, arn: &str, role: FakeRole) {
        self.roles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(arn.to_owned(), role);
    }

    /// How many AWS calls were made so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Makes every call fail as if AWS could not be reached.
    pub fn set_unreachable(&self, value: bool) {
        self.unreachable.store(value, Ordering::SeqCst);
    }

    fn enter(&self) -> Result<(), AwsCallError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.unreachable.load(Ordering::SeqCst) {
            return Err(AwsCallError::new(
                "aws_unreachable",
                "Could not connect to sts.amazonaws.com.",
            ));
        }
        Ok(())
    }

    fn role_of(&self, arn: &str) -> Result<FakeRole, AwsCallError> {
        let roles = self.roles.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(role) = roles.get(arn) {
            return Ok(role.clone());
        }
        match self.unknown {
            UnknownRoles::NotFound => Err(AwsCallError::new(
                "role_not_found",
                format!("The role {arn} does not exist."),
            )),
            UnknownRoles::Permissive => Ok(FakeRole {
                account: arn.split(':').nth(4).unwrap_or_default().to_owned(),
                required_external_id: Some(String::new()),
                settle_failures: 0,
                allowed_actions: vec!["*".to_owned()],
            }),
        }
    }

    fn creds_role(creds: &AssumedCredentials) -> String {
        // The fake's access key id carries the role ARN it was issued for.
        creds.access_key_id.trim_start_matches("FAKE/").to_owned()
    }
}

#[async_trait]
impl AwsCalls for FakeAws {
    async fn assume_role(
        &self,
        role_arn: &str,
        external_id: Option<&str>,
        session_name: &str,
    ) -> Result<AssumedCredentials, AwsCallError> {
        self.enter()?;
        let role = self.role_of(role_arn)?;
        if role.settle_failures > 0 {
            let mut roles = self.roles.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(r) = roles.get_mut(role_arn) {
                r.settle_failures -= 1;
            }
            return Err(AwsCallError::new(
                "assume_role_access_denied",
                "User is not authorized to perform: sts:AssumeRole (trust policy not yet propagated).",
            ));
        }
        let allowed = match (&role.required_external_id, external_id) {
            (None, _) => true,
            // Permissive fake roles accept any external id but insist on one.
            (Some(required), Some(given)) => required.is_empty() || required == given,
            (Some(_), None) => false,
        };
        if !allowed {
            return Err(AwsCallError::new(
                "assume_role_access_denied",
                format!(
                    "User is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
                ),
            ));
        }
        let role_name = role_arn.rsplit('/').next().unwrap_or_default();
        Ok(AssumedCredentials {
            access_key_id: format!("FAKE/{role_arn}"),
            secret_access_key: "fake-secret-access-key".to_owned(),
            session_token: "fake-session-token".to_owned(),
            assumed_role_arn: format!(
                "arn:aws:sts::{}:assumed-role/{role_name}/{session_name}",
                role.account
            ),
        })
    }

    async fn caller_identity(
        &self,
        creds: &AssumedCredentials,
    ) -> Result<CallerIdentity, AwsCallError> {
        self.enter()?;
        let role = self.role_of(&Self::creds_role(creds))?;
        Ok(CallerIdentity {
            account: role.account,
            arn: creds.assumed_role_arn.clone(),
            user_id: "AROAFAKEROLEID:alphaswarm".to_owned(),
        })
    }

    async fn simulate_principal_policy(
        &self,
        creds: &AssumedCredentials,
        policy_source_arn: &str,
        actions: &[String],
    ) -> Result<Vec<PolicyDecision>, AwsCallError> {
        self.enter()?;
        let _ = creds;
        let role = self.role_of(policy_source_arn)?;
        Ok(actions
            .iter()
            .map(|action| PolicyDecision {
                action: action.clone(),
                decision: if role.allowed_actions.iter().any(|a| a == "*" || a == action) {
                    "allowed".to_owned()
                } else {
                    "implicitDeny".to_owned()
                },
            })
            .collect())
    }

    async fn describe_regions(
        &self,
        _creds: &AssumedCredentials,
    ) -> Result<Vec<RegionInfo>, AwsCallError> {
        self.enter()?;
        Ok(["us-east-1", "eu-west-1", "ap-southeast-2"]
            .iter()
            .map(|name| RegionInfo {
                name: (*name).to_owned(),
                endpoint: format!("ec2.{name}.amazonaws.com"),
                opt_in_status: "opt-in-not-required".to_owned(),
            })
            .collect())
    }
}
