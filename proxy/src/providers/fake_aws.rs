//! An in-process AWS for tests (and the binary's test-only fake mode): roles
//! with a trust policy that requires (or, when unsafe, ignores) an external
//! id, an account they live in, the actions they are allowed and how many
//! AssumeRole calls fail while IAM "settles", and regions whose STS is
//! disabled. Every call is counted so tests can prove a refused request never
//! reached the cloud. Failures go through [`AwsError::from_aws`] with the AWS
//! error codes the real services send, so they are classified like real ones.

use crate::aws::{
    AssumedCredentials, AwsApi, AwsError, CallerIdentity, Decision, Operation, RegionInfo,
    SimulationResult,
};
use async_trait::async_trait;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

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

/// Shared by every regional view of one fake.
struct FakeState {
    roles: Mutex<HashMap<String, FakeRole>>,
    unknown: UnknownRoles,
    calls: AtomicUsize,
    unreachable: AtomicBool,
    disabled_regions: Mutex<HashSet<String>>,
    /// Every region a call was made in, in order.
    regions_used: Mutex<Vec<String>>,
}

/// A view of the fake in one region ([`AwsApi::in_region`] makes another).
#[derive(Clone)]
pub struct FakeAws {
    state: Arc<FakeState>,
    region: String,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeAws {
    pub fn new(unknown: UnknownRoles) -> Self {
        FakeAws {
            state: Arc::new(FakeState {
                roles: Mutex::new(HashMap::new()),
                unknown,
                calls: AtomicUsize::new(0),
                unreachable: AtomicBool::new(false),
                disabled_regions: Mutex::new(HashSet::new()),
                regions_used: Mutex::new(Vec::new()),
            }),
            region: crate::aws::DEFAULT_REGION.to_owned(),
        }
    }

    pub fn add_role(&self, arn: &str, role: FakeRole) {
        lock(&self.state.roles).insert(arn.to_owned(), role);
    }

    /// How many AWS calls were made so far.
    pub fn calls(&self) -> usize {
        self.state.calls.load(Ordering::SeqCst)
    }

    /// The regions STS/EC2 calls were made in, in order.
    pub fn regions_used(&self) -> Vec<String> {
        lock(&self.state.regions_used).clone()
    }

    /// Makes every call fail as if AWS could not be reached.
    pub fn set_unreachable(&self, value: bool) {
        self.state.unreachable.store(value, Ordering::SeqCst);
    }

    /// STS in `region` answers RegionDisabledException, as for an account
    /// that has not enabled an opt-in region.
    pub fn disable_region(&self, region: &str) {
        lock(&self.state.disabled_regions).insert(region.to_owned());
    }

    fn enter(&self, operation: Operation) -> Result<(), AwsError> {
        self.state.calls.fetch_add(1, Ordering::SeqCst);
        if self.state.unreachable.load(Ordering::SeqCst) {
            return Err(AwsError::Unreachable {
                operation,
                detail: "the connection failed".to_owned(),
            });
        }
        if operation != Operation::SimulatePrincipalPolicy {
            lock(&self.state.regions_used).push(self.region.clone());
        }
        let sts = matches!(
            operation,
            Operation::AssumeRole | Operation::GetCallerIdentity
        );
        if sts && lock(&self.state.disabled_regions).contains(&self.region) {
            return Err(self.refused(operation, 403, "RegionDisabledException"));
        }
        Ok(())
    }

    fn refused(&self, operation: Operation, status: u16, aws_code: &str) -> AwsError {
        AwsError::from_aws(operation, &self.region, status, aws_code)
    }

    fn role_of(&self, operation: Operation, arn: &str) -> Result<FakeRole, AwsError> {
        if let Some(role) = lock(&self.state.roles).get(arn) {
            return Ok(role.clone());
        }
        match self.state.unknown {
            // STS says AccessDenied for a role that does not exist (it cannot
            // tell "missing" from "not trusted"); IAM says NoSuchEntity.
            UnknownRoles::NotFound if operation == Operation::AssumeRole => {
                Err(self.refused(operation, 400, "InvalidParameterValue"))
            }
            UnknownRoles::NotFound => Err(self.refused(operation, 404, "NoSuchEntity")),
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
impl AwsApi for FakeAws {
    fn in_region(self: Arc<Self>, region: &str) -> Result<Arc<dyn AwsApi>, AwsError> {
        Ok(Arc::new(FakeAws {
            state: self.state.clone(),
            region: region.to_owned(),
        }))
    }

    async fn assume_role(
        &self,
        role_arn: &str,
        external_id: Option<&str>,
        session_name: &str,
    ) -> Result<AssumedCredentials, AwsError> {
        let op = Operation::AssumeRole;
        self.enter(op)?;
        let role = self.role_of(op, role_arn)?;
        if role.settle_failures > 0 {
            if let Some(r) = lock(&self.state.roles).get_mut(role_arn) {
                r.settle_failures -= 1;
            }
            return Err(self.refused(op, 403, "AccessDenied"));
        }
        let allowed = match (&role.required_external_id, external_id) {
            (None, _) => true,
            // Permissive fake roles accept any external id but insist on one.
            (Some(required), Some(given)) => required.is_empty() || required == given,
            (Some(_), None) => false,
        };
        if !allowed {
            return Err(self.refused(op, 403, "AccessDenied"));
        }
        let role_name = role_arn.rsplit('/').next().unwrap_or_default();
        Ok(AssumedCredentials::new(
            format!("FAKE/{role_arn}"),
            "fake-secret-access-key",
            "fake-session-token",
            "2099-01-01T00:00:00Z",
            format!(
                "arn:aws:sts::{}:assumed-role/{role_name}/{session_name}",
                role.account
            ),
        ))
    }

    async fn caller_identity(
        &self,
        creds: &AssumedCredentials,
    ) -> Result<CallerIdentity, AwsError> {
        let op = Operation::GetCallerIdentity;
        self.enter(op)?;
        let role = self.role_of(op, &Self::creds_role(creds))?;
        Ok(CallerIdentity {
            account: role.account,
            arn: creds.assumed_role_arn.clone(),
            user_id: "AROAFAKEROLEID:alphaswarm".to_owned(),
        })
    }

    async fn simulate_principal_policy(
        &self,
        _creds: &AssumedCredentials,
        policy_source_arn: &str,
        actions: &[String],
    ) -> Result<Vec<SimulationResult>, AwsError> {
        let op = Operation::SimulatePrincipalPolicy;
        self.enter(op)?;
        let role = self.role_of(op, policy_source_arn)?;
        Ok(actions
            .iter()
            .map(|action| SimulationResult {
                action: action.clone(),
                decision: if role.allowed_actions.iter().any(|a| a == "*" || a == action) {
                    Decision::Allowed
                } else {
                    Decision::ImplicitDeny
                },
            })
            .collect())
    }

    async fn describe_regions(
        &self,
        _creds: &AssumedCredentials,
    ) -> Result<Vec<RegionInfo>, AwsError> {
        self.enter(Operation::DescribeRegions)?;
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
