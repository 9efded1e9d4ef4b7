//! Azure failures as data ([`AzureError`]: Entra's AADSTS code, ARM's error
//! code), and the one place they become HTTP errors with a stable code and
//! a hint naming the fix ([`AzureError::to_api_error`]). The hints quote
//! what the proxy sent (subject, issuer, audience, key id), never Entra's
//! or ARM's own text.

use crate::error::ApiError;
use alphaswarm_core::azure::{AzureMode, role_assignment_fix};
use alphaswarm_core::ids::Guid;
use alphaswarm_core::shell::Shell;
use axum::http::StatusCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Entra,
    Arm,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Entra => "Microsoft Entra ID",
            Service::Arm => "Azure Resource Manager",
        }
    }
    fn endpoint_var(self) -> &'static str {
        match self {
            Service::Entra => super::LOGIN_ENDPOINT_URL,
            Service::Arm => super::ARM_ENDPOINT_URL,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AzureError {
    /// Entra answered the token request with an error body.
    #[error("Entra refused the token request (HTTP {status}, {error}, AADSTS{})", code.map_or("?".to_owned(), |c| c.to_string()))]
    Entra {
        status: u16,
        /// The first of `error_codes` (or the AADSTS number in the description).
        code: Option<u32>,
        /// OAuth's `error`, e.g. `invalid_client`.
        error: String,
    },
    /// ARM answered with an error body.
    #[error("ARM answered HTTP {status} {code} to {operation}")]
    Arm {
        status: u16,
        code: String,
        /// What was read, e.g. `Microsoft.Resources/subscriptions/read`.
        operation: &'static str,
    },
    #[error("{} could not be reached: {detail}", service.name())]
    Unreachable { service: Service, detail: String },
    #[error("{} answered something unexpected: {detail}", service.name())]
    Unexpected { service: Service, detail: String },
}

/// Entra's answers while a new federated credential propagates (the first
/// minutes after it was created): "no matching federated identity record".
const PROPAGATING: [u32; 5] = [70021, 700211, 700212, 700213, 7002137];

/// What the proxy sent and where, so a hint can quote the exact values.
pub struct ExchangeContext<'a> {
    pub mode: AzureMode,
    pub tenant_id: &'a Guid,
    pub subscription_id: &'a Guid,
    /// The client id the exchange used (the identity's or the shared app's).
    pub client_id: &'a Guid,
    pub subject: &'a str,
    pub issuer: &'a str,
    pub audience: &'a str,
    pub jwks_uri: String,
    pub discovery_uri: String,
    /// The key id of the assertion Entra judged.
    pub kid: Option<&'a str>,
    /// Shared-app mode with the app configured.
    pub admin_consent_url: Option<String>,
    /// Known once a token was obtained: enables the role-assignment fix.
    pub principal_object_id: Option<&'a Guid>,
    /// The baseline role, for the fix command.
    pub required_role: &'a str,
}

impl ExchangeContext<'_> {
    /// The field the operator fixes when the federated credential is wrong:
    /// the identity's client id (managed identity); none for the shared app,
    /// whose credential AlphaSwarm maintains.
    fn credential_field(&self) -> Option<&'static str> {
        match self.mode {
            AzureMode::ManagedIdentity => Some("client_id"),
            AzureMode::SharedApp => None,
        }
    }

    fn credential_holder(&self) -> String {
        match self.mode {
            AzureMode::ManagedIdentity => {
                format!("the managed identity with client id {}", self.client_id)
            }
            AzureMode::SharedApp => format!("the AlphaSwarm app {}", self.client_id),
        }
    }

    fn expected_credential(&self) -> String {
        format!(
            "issuer {}, subject {}, audience {}",
            self.issuer, self.subject, self.audience
        )
    }

    fn consent_hint(&self) -> String {
        match &self.admin_consent_url {
            Some(url) => format!(
                "An administrator of tenant {} grants admin consent at {url} (or runs az ad sp create --id {}), then retry.",
                self.tenant_id, self.client_id
            ),
            None => format!(
                "An administrator of tenant {} consents to the app {} (az ad sp create --id {}), then retry.",
                self.tenant_id, self.client_id, self.client_id
            ),
        }
    }

    fn role_fix(&self) -> String {
        match self.principal_object_id {
            Some(principal) => {
                role_assignment_fix(principal, self.required_role, self.subscription_id)
                    .render_inline(Shell::Bash)
                    .unwrap_or_default()
            }
            None => format!(
                "az role assignment create --role {} --scope /subscriptions/{} for the identity",
                self.required_role, self.subscription_id
            ),
        }
    }
}

impl AzureError {
    /// Whether waiting may help: a federated credential created minutes ago
    /// is not yet visible to every Entra replica.
    pub fn is_retryable_while_settling(&self) -> bool {
        matches!(self, AzureError::Entra { code: Some(c), .. } if PROPAGATING.contains(c))
    }

    /// The Entra AADSTS code, if any (for logs and tests).
    pub fn aadsts(&self) -> Option<u32> {
        match self {
            AzureError::Entra { code, .. } => *code,
            _ => None,
        }
    }

    /// The HTTP error the wizard shows: stable code, message, field, hint.
    pub fn to_api_error(&self, ctx: &ExchangeContext<'_>) -> ApiError {
        let refused = |code: &str, message: String, hint: String| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message, hint)
        };
        let with_field = |error: ApiError, field: Option<&'static str>| match field {
            Some(f) => error.with_field(f),
            None => error,
        };
        match self {
            AzureError::Entra { status, code, .. } => {
                let holder = ctx.credential_holder();
                let field = ctx.credential_field();
                match code {
                    Some(700213 | 7002137) => with_field(
                        refused(
                            "federated_subject_mismatch",
                            format!(
                                "Entra found no federated credential on {holder} for the subject {}.",
                                ctx.subject
                            ),
                            format!(
                                "Set the federated credential's subject to exactly {} ({}).",
                                ctx.subject,
                                ctx.expected_credential()
                            ),
                        ),
                        field,
                    ),
                    Some(7002138) => with_field(
                        refused(
                            "federated_subject_case_mismatch",
                            format!(
                                "The federated credential on {holder} names the subject {} in a different letter case; Entra compares subjects case-sensitively.",
                                ctx.subject
                            ),
                            format!(
                                "Change the credential's subject to exactly {} (same letter case).",
                                ctx.subject
                            ),
                        ),
                        field,
                    ),
                    Some(700211) => with_field(
                        refused(
                            "federated_issuer_mismatch",
                            format!(
                                "Entra found no federated credential on {holder} for the issuer {}.",
                                ctx.issuer
                            ),
                            format!(
                                "Set the federated credential's issuer to exactly {} (a trailing / counts).",
                                ctx.issuer
                            ),
                        ),
                        field,
                    ),
                    Some(700212) => with_field(
                        refused(
                            "federated_audience_mismatch",
                            format!(
                                "Entra found no federated credential on {holder} for the audience {}.",
                                ctx.audience
                            ),
                            format!(
                                "Set the federated credential's audience to exactly {}.",
                                ctx.audience
                            ),
                        ),
                        field,
                    ),
                    Some(70021) => with_field(
                        refused(
                            "federated_credential_not_found",
                            format!("Entra found no matching federated credential on {holder}."),
                            format!(
                                "The credential must carry exactly: {}. A credential created in the last few minutes may still be propagating: retry shortly.",
                                ctx.expected_credential()
                            ),
                        ),
                        field,
                    ),
                    Some(700016) => match ctx.mode {
                        AzureMode::ManagedIdentity => refused(
                            "identity_not_found",
                            format!(
                                "Tenant {} has no managed identity or application with client id {}.",
                                ctx.tenant_id, ctx.client_id
                            ),
                            "Paste the client id the bootstrap's last command printed (az identity show ... --query clientId), and check that the tenant id is the identity's tenant.".to_owned(),
                        )
                        .with_field("client_id"),
                        AzureMode::SharedApp => refused(
                            "admin_consent_missing",
                            format!(
                                "Tenant {} has not consented to the AlphaSwarm app {}.",
                                ctx.tenant_id, ctx.client_id
                            ),
                            ctx.consent_hint(),
                        )
                        .with_field("tenant_id"),
                    },
                    Some(7000229) => refused(
                        "service_principal_missing",
                        format!(
                            "The app {} has no service principal in tenant {}.",
                            ctx.client_id, ctx.tenant_id
                        ),
                        ctx.consent_hint(),
                    )
                    .with_field("tenant_id"),
                    Some(90002) => refused(
                        "tenant_not_found",
                        format!("Entra knows no tenant {}.", ctx.tenant_id),
                        "Copy the tenant id (Directory ID) from the Entra admin centre's overview page.".to_owned(),
                    )
                    .with_field("tenant_id"),
                    Some(700024) => refused(
                        "assertion_clock_skew",
                        "Entra judged AlphaSwarm's assertion outside its validity window (issued now, valid for five minutes).".to_owned(),
                        "The clocks of the AlphaSwarm proxy host and Entra disagree: synchronise the proxy host's clock (NTP) and retry.".to_owned(),
                    ),
                    Some(7000272) => refused(
                        "signing_key_not_published",
                        format!(
                            "Entra could not find the assertion's signing key {} among the issuer's published keys.",
                            ctx.kid.unwrap_or("(unknown)")
                        ),
                        format!(
                            "Entra still holds an older copy of {}: after a key rotation, keep the overlap (default 24 h) before the new key signs, or wait for Entra to fetch the keys again; check that the issuer serves its current keys there.",
                            ctx.jwks_uri
                        ),
                    ),
                    Some(700027) => refused(
                        "assertion_signature_invalid",
                        "Entra could not verify the assertion's signature with the issuer's published keys.".to_owned(),
                        format!(
                            "Check that {} serves the keys of this proxy (the same state directory and key file on every replica).",
                            ctx.jwks_uri
                        ),
                    ),
                    Some(90061 | 50166) => refused(
                        "issuer_unreachable",
                        format!("Entra cannot reach AlphaSwarm's issuer {}.", ctx.issuer),
                        format!(
                            "{} and the keys it names must be served over public HTTPS (ALPHASWARM_ADMIN_FEDERATION_ISSUER); check DNS, TLS and firewalls.",
                            ctx.discovery_uri
                        ),
                    ),
                    _ if *status == 429 => ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        "throttled",
                        "Microsoft Entra ID is throttling requests.",
                        "Wait a minute and retry.",
                    ),
                    _ if *status >= 500 => ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        "entra_unavailable",
                        "Microsoft Entra ID answered with a server error.",
                        "Retry shortly; see https://status.azure.com if it persists.",
                    ),
                    Some(other) => refused(
                        "entra_refused",
                        format!("Entra refused the token request (AADSTS{other})."),
                        format!("Look the code up at https://login.microsoftonline.com/error?code={other}."),
                    ),
                    None => refused(
                        "entra_refused",
                        "Entra refused the token request without an error code.".to_owned(),
                        "Check the tenant id and client id, then retry.".to_owned(),
                    ),
                }
            }
            AzureError::Arm {
                status,
                code,
                operation,
            } => match (status, code.as_str()) {
                (403, _) => refused(
                    "arm_authorization_failed",
                    format!(
                        "The identity may not perform {operation} in subscription {}.",
                        ctx.subscription_id
                    ),
                    format!("Grant the role: {}", ctx.role_fix()),
                )
                .with_field("subscription_id"),
                (404, _) | (_, "SubscriptionNotFound") => refused(
                    "subscription_not_found",
                    format!(
                        "Subscription {} was not found, or the identity holds no role on it.",
                        ctx.subscription_id
                    ),
                    format!(
                        "Check the subscription id, and grant the identity a role on it: {}",
                        ctx.role_fix()
                    ),
                )
                .with_field("subscription_id"),
                (401, "InvalidAuthenticationTokenTenant") => refused(
                    "subscription_in_other_tenant",
                    format!(
                        "Subscription {} does not belong to tenant {}.",
                        ctx.subscription_id, ctx.tenant_id
                    ),
                    "Use the tenant the subscription belongs to (az account show --subscription <id> --query tenantId).".to_owned(),
                )
                .with_field("tenant_id"),
                (429, _) => ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "throttled",
                    "Azure Resource Manager is throttling requests.",
                    "Wait a minute and retry.",
                ),
                (401, _) => ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "arm_token_rejected",
                    "Azure Resource Manager did not accept the token Entra issued.",
                    "Retry; if it persists, check ALPHASWARM_ADMIN_AZURE_LOGIN_ENDPOINT_URL and ALPHASWARM_ADMIN_AZURE_ARM_ENDPOINT_URL point at the same cloud.",
                ),
                _ => ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "arm_unavailable",
                    format!("Azure Resource Manager failed to answer {operation} (status {status})."),
                    "Retry shortly; see https://status.azure.com if it persists.",
                ),
            },
            AzureError::Unreachable { service, .. } => ApiError::new(
                StatusCode::BAD_GATEWAY,
                match service {
                    Service::Entra => "entra_unreachable",
                    Service::Arm => "arm_unreachable",
                },
                format!("{} could not be reached.", service.name()),
                format!(
                    "Check the proxy's network access to it ({} overrides the address).",
                    service.endpoint_var()
                ),
            ),
            AzureError::Unexpected { service, .. } => ApiError::new(
                StatusCode::BAD_GATEWAY,
                match service {
                    Service::Entra => "entra_unexpected",
                    Service::Arm => "arm_unexpected",
                },
                format!("{} answered something the proxy does not understand.", service.name()),
                format!(
                    "Check that {} points at the real service; see the proxy's log.",
                    service.endpoint_var()
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guid(s: &str) -> Guid {
        Guid::parse(s).unwrap()
    }

    fn classify(error: AzureError, mode: AzureMode) -> ApiError {
        let tenant = guid("72f988bf-86f1-41af-91ab-2d7cd011db47");
        let sub = guid("00000000-1111-2222-3333-444444444444");
        let client = guid("9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d");
        let principal = guid("11111111-2222-3333-4444-555555555555");
        error.to_api_error(&ExchangeContext {
            mode,
            tenant_id: &tenant,
            subscription_id: &sub,
            client_id: &client,
            subject: "org:acme",
            issuer: "https://alpha-swarm.ai/oidc/",
            audience: "api://AzureADTokenExchange",
            jwks_uri: "https://alpha-swarm.ai/oidc/.well-known/jwks.json".into(),
            discovery_uri: "https://alpha-swarm.ai/oidc/.well-known/openid-configuration".into(),
            kid: Some("kid-1"),
            admin_consent_url: Some(
                "https://login.microsoftonline.com/t/adminconsent?client_id=c".into(),
            ),
            principal_object_id: Some(&principal),
            required_role: "Reader",
        })
    }

    fn entra(code: u32) -> AzureError {
        AzureError::Entra {
            status: 401,
            code: Some(code),
            error: "invalid_client".into(),
        }
    }

    #[test]
    fn every_federation_code_has_its_own_code_field_and_exact_values() {
        let cases: [(u32, &str, Option<&str>, &str); 13] = [
            (
                700213,
                "federated_subject_mismatch",
                Some("client_id"),
                "org:acme",
            ),
            (
                7002137,
                "federated_subject_mismatch",
                Some("client_id"),
                "org:acme",
            ),
            (
                7002138,
                "federated_subject_case_mismatch",
                Some("client_id"),
                "org:acme",
            ),
            (
                700211,
                "federated_issuer_mismatch",
                Some("client_id"),
                "https://alpha-swarm.ai/oidc/",
            ),
            (
                700212,
                "federated_audience_mismatch",
                Some("client_id"),
                "api://AzureADTokenExchange",
            ),
            (
                70021,
                "federated_credential_not_found",
                Some("client_id"),
                "subject org:acme",
            ),
            (
                700016,
                "identity_not_found",
                Some("client_id"),
                "az identity show",
            ),
            (
                7000229,
                "service_principal_missing",
                Some("tenant_id"),
                "adminconsent",
            ),
            (90002, "tenant_not_found", Some("tenant_id"), "Directory ID"),
            (700024, "assertion_clock_skew", None, "NTP"),
            (7000272, "signing_key_not_published", None, "jwks.json"),
            (90061, "issuer_unreachable", None, "openid-configuration"),
            (50166, "issuer_unreachable", None, "public HTTPS"),
        ];
        for (aadsts, code, field, in_hint) in cases {
            let e = classify(entra(aadsts), AzureMode::ManagedIdentity);
            assert_eq!(e.code, code, "{aadsts}");
            assert_eq!(e.field.as_deref(), field, "{aadsts}");
            assert!(
                e.hint.contains(in_hint) || e.message.contains(in_hint),
                "{aadsts}: {}",
                e.hint
            );
            assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        let shared = classify(entra(700016), AzureMode::SharedApp);
        assert_eq!(
            (shared.code.as_str(), shared.field.as_deref()),
            ("admin_consent_missing", Some("tenant_id"))
        );
        assert!(shared.hint.contains("adminconsent"));
        assert_eq!(classify(entra(700213), AzureMode::SharedApp).field, None);
        let unknown = classify(entra(12345), AzureMode::SharedApp);
        assert_eq!(unknown.code, "entra_refused");
        assert!(unknown.message.contains("AADSTS12345"));
    }

    #[test]
    fn only_no_matching_credential_is_retried() {
        for code in PROPAGATING {
            assert!(entra(code).is_retryable_while_settling());
        }
        for code in [7002138, 700016, 700024, 7000272, 90061] {
            assert!(!entra(code).is_retryable_while_settling());
        }
    }

    #[test]
    fn arm_failures_name_the_subscription_and_the_fix() {
        let denied = classify(
            AzureError::Arm {
                status: 403,
                code: "AuthorizationFailed".into(),
                operation: "Microsoft.Resources/subscriptions/read",
            },
            AzureMode::ManagedIdentity,
        );
        assert_eq!(denied.code, "arm_authorization_failed");
        assert!(denied.hint.contains(
            "az role assignment create --assignee-object-id 11111111-2222-3333-4444-555555555555"
        ));
        let other_tenant = classify(
            AzureError::Arm {
                status: 401,
                code: "InvalidAuthenticationTokenTenant".into(),
                operation: "Microsoft.Resources/subscriptions/read",
            },
            AzureMode::ManagedIdentity,
        );
        assert_eq!(other_tenant.field.as_deref(), Some("tenant_id"));
        let unreachable = classify(
            AzureError::Unreachable {
                service: Service::Arm,
                detail: "connection refused".into(),
            },
            AzureMode::ManagedIdentity,
        );
        assert_eq!(
            (unreachable.code.as_str(), unreachable.status),
            ("arm_unreachable", StatusCode::BAD_GATEWAY)
        );
        assert!(!unreachable.message.contains("connection refused"));
    }
}
