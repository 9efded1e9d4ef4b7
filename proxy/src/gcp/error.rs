//! GCP failures as data ([`GcpError`]: STS's refusal, Google's status and
//! `ErrorInfo` reason), and the one place they become HTTP errors with a
//! stable code and a hint naming the fix ([`GcpError::to_api_error`]). The
//! hints quote what the proxy sent (provider, subject, audience, account)
//! and the exact `gcloud` command, never Google's own text.

use crate::error::ApiError;
use alphaswarm_core::shell::{Command, Shell};
use axum::http::StatusCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcpService {
    Sts,
    IamCredentials,
    ResourceManager,
    Compute,
}

impl GcpService {
    fn name(self) -> &'static str {
        match self {
            GcpService::Sts => "Google's Security Token Service",
            GcpService::IamCredentials => "Google's IAM Service Account Credentials API",
            GcpService::ResourceManager => "Google's Resource Manager",
            GcpService::Compute => "Google's Compute Engine API",
        }
    }
    fn slug(self) -> &'static str {
        match self {
            GcpService::Sts => "sts",
            GcpService::IamCredentials => "iamcredentials",
            GcpService::ResourceManager => "resource_manager",
            GcpService::Compute => "compute",
        }
    }
    fn endpoint_var(self) -> &'static str {
        match self {
            GcpService::Sts => super::STS_ENDPOINT_URL,
            GcpService::IamCredentials => super::IAMCREDENTIALS_ENDPOINT_URL,
            GcpService::ResourceManager => super::CRM_ENDPOINT_URL,
            GcpService::Compute => super::COMPUTE_ENDPOINT_URL,
        }
    }
}

/// What STS's `error` + `error_description` mean, read once where the body
/// is parsed so the description itself is never kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StsRefusal {
    /// `invalid_request` about the `audience` parameter.
    AudienceParameter,
    /// `invalid_target`: the pool or provider is disabled, deleted or missing.
    ProviderUnavailable,
    /// The token's `aud` is not one the provider allows.
    AudienceClaim,
    /// The token's `iss` is not the provider's issuer.
    Issuer,
    /// `iat` too far in the past, in the future, or `exp` passed.
    Stale,
    /// Signature, `kid`, or the issuer's keys could not be fetched.
    Keys,
    /// `unauthorized_client`: the attribute condition said no.
    Condition,
    Other,
}

impl StsRefusal {
    pub fn classify(error: &str, description: &str) -> Self {
        let d = description.to_ascii_lowercase();
        match error {
            "invalid_target" => StsRefusal::ProviderUnavailable,
            "unauthorized_client" if d.contains("attribute condition") => StsRefusal::Condition,
            "invalid_request" if d.contains("\"audience\"") => StsRefusal::AudienceParameter,
            "invalid_grant" | "invalid_token" => {
                if d.contains("audience") {
                    StsRefusal::AudienceClaim
                } else if d.contains("stale") || d.contains("expired") || d.contains("future") {
                    StsRefusal::Stale
                } else if d.contains("issuer") && !d.contains("retrieve") {
                    StsRefusal::Issuer
                } else if d.contains("kid")
                    || d.contains("signature")
                    || d.contains("jwks")
                    || d.contains("retrieve")
                {
                    StsRefusal::Keys
                } else {
                    StsRefusal::Other
                }
            }
            _ => StsRefusal::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GcpError {
    /// STS refused the token exchange.
    #[error("STS refused the exchange (HTTP {status}, {error}, {refusal:?})")]
    Sts {
        status: u16,
        /// OAuth's `error`, e.g. `invalid_grant`.
        error: String,
        refusal: StsRefusal,
    },
    /// A Google API answered with `google.rpc.Status`.
    #[error("{} answered HTTP {status} {google_status} {reason}", service.name())]
    Google {
        service: GcpService,
        status: u16,
        /// e.g. `PERMISSION_DENIED`.
        google_status: String,
        /// `ErrorInfo.reason`, e.g. `IAM_PERMISSION_DENIED`, `SERVICE_DISABLED`.
        reason: String,
        /// `ErrorInfo.metadata.permission`.
        permission: Option<String>,
        /// `ErrorInfo.metadata.service` of a disabled API.
        disabled_service: Option<String>,
    },
    #[error("{} could not be reached: {detail}", service.name())]
    Unreachable { service: GcpService, detail: String },
    #[error("{} answered something unexpected: {detail}", service.name())]
    Unexpected { service: GcpService, detail: String },
}

/// What the proxy sent and where, so a hint can quote the exact values.
pub struct StepContext<'a> {
    pub project_id: &'a str,
    pub project_number: &'a str,
    pub service_account: &'a str,
    /// The provider's full name (STS's `audience` parameter).
    pub provider: &'a str,
    /// `projects/<n>/locations/global/workloadIdentityPools/<pool>`.
    pub pool: &'a str,
    pub pool_id: &'a str,
    pub provider_id: &'a str,
    /// `principal://…/subject/<subject>`.
    pub principal: &'a str,
    pub subject: &'a str,
    pub issuer: &'a str,
    /// The audience the assertion carried (the org's).
    pub audience: &'a str,
    pub condition: &'a str,
    pub jwks_uri: &'a str,
}

impl StepContext<'_> {
    /// The binding that lets this org's subject impersonate the account.
    pub fn binding_fix(&self) -> String {
        Command::new(&[
            "gcloud",
            "iam",
            "service-accounts",
            "add-iam-policy-binding",
        ])
        .arg(self.service_account)
        .assign("--project", self.project_id)
        .assign("--role", alphaswarm_core::gcp::WORKLOAD_IDENTITY_USER_ROLE)
        .assign("--member", self.principal)
        .render_inline(Shell::Bash)
        .unwrap_or_default()
    }

    fn update_provider(&self, flag: &'static str, value: &str) -> String {
        Command::new(&[
            "gcloud",
            "iam",
            "workload-identity-pools",
            "providers",
            "update-oidc",
        ])
        .arg(self.provider_id)
        .assign("--project", self.project_id)
        .assign("--location", "global")
        .assign("--workload-identity-pool", self.pool_id)
        .assign(flag, value)
        .render_inline(Shell::Bash)
        .unwrap_or_default()
    }

    fn enable_service(&self, service: &str) -> String {
        Command::new(&["gcloud", "services", "enable"])
            .arg(service)
            .assign("--project", self.project_id)
            .render_inline(Shell::Bash)
            .unwrap_or_default()
    }
}

impl GcpError {
    /// Whether waiting may help: a binding made minutes ago is not yet
    /// seen by every IAM replica (impersonation denied), nor a new pool.
    pub fn is_retryable_while_settling(&self) -> bool {
        match self {
            GcpError::Google {
                service: GcpService::IamCredentials,
                reason,
                ..
            } => reason == "IAM_PERMISSION_DENIED",
            GcpError::Sts { refusal, .. } => *refusal == StsRefusal::ProviderUnavailable,
            _ => false,
        }
    }

    /// STS refused the assertion or IAM refused the impersonation: what an
    /// assertion for a foreign subject must meet.
    pub fn refusal_of_foreign_subject(&self) -> Option<&'static str> {
        match self {
            GcpError::Sts {
                refusal: StsRefusal::Condition,
                ..
            } => Some("STS, by the provider's attribute condition"),
            GcpError::Google {
                service: GcpService::IamCredentials,
                reason,
                ..
            } if reason == "IAM_PERMISSION_DENIED" => {
                Some("IAM, because the account's binding names only this organisation's subject")
            }
            _ => None,
        }
    }

    /// The HTTP error the wizard shows: stable code, message, field, hint.
    pub fn to_api_error(&self, ctx: &StepContext<'_>) -> ApiError {
        let refused = |code: &str, message: String, hint: String| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message, hint)
        };
        match self {
            GcpError::Sts { status, refusal, error } => match refusal {
                StsRefusal::AudienceParameter => refused(
                    "wif_provider_name_invalid",
                    format!("STS did not accept {} as a workload identity provider name.", ctx.provider),
                    format!(
                        "The provider name must use the project NUMBER ({}), not the project id ({}); check the project number on the project's dashboard (gcloud projects describe {} --format='value(projectNumber)').",
                        ctx.project_number, ctx.project_id, ctx.project_id
                    ),
                )
                .with_field("project_number"),
                StsRefusal::ProviderUnavailable => refused(
                    "wif_provider_unavailable",
                    format!(
                        "STS found no enabled workload identity provider {}: the pool or provider is disabled, deleted, or does not exist in project number {}.",
                        ctx.provider, ctx.project_number
                    ),
                    format!(
                        "Check that {} is project {}'s number, then run the bootstrap's pool and provider commands (gcloud iam workload-identity-pools providers describe {} --workload-identity-pool={} --location=global --project={}). A disabled one is re-enabled with gcloud iam workload-identity-pools undelete / providers undelete within 30 days of deletion; a deleted id stays reserved for 30 days, so a pool made again needs another pool id.",
                        ctx.project_number, ctx.project_id, ctx.provider_id, ctx.pool_id, ctx.project_id
                    ),
                )
                .with_field("project_number"),
                StsRefusal::AudienceClaim => refused(
                    "wif_audience_not_allowed",
                    format!(
                        "The provider does not allow the audience {} that AlphaSwarm's assertions for this organisation carry.",
                        ctx.audience
                    ),
                    format!("Allow exactly that audience: {}", ctx.update_provider("--allowed-audiences", ctx.audience)),
                ),
                StsRefusal::Issuer => refused(
                    "wif_issuer_mismatch",
                    format!("The provider's issuer is not AlphaSwarm's issuer {}.", ctx.issuer),
                    format!(
                        "Set the provider's issuer to exactly {} (a trailing / counts): {}",
                        ctx.issuer,
                        ctx.update_provider("--issuer-uri", ctx.issuer)
                    ),
                ),
                StsRefusal::Stale => refused(
                    "assertion_stale",
                    "STS judged AlphaSwarm's fresh assertion stale, expired or issued in the future.".to_owned(),
                    "The clocks of the AlphaSwarm proxy host and Google disagree: synchronise the proxy host's clock (NTP) and retry.".to_owned(),
                ),
                StsRefusal::Keys => refused(
                    "wif_signing_key_unknown",
                    "STS could not verify AlphaSwarm's assertion with the issuer's keys.".to_owned(),
                    format!(
                        "Google must reach {} over public HTTPS, or the provider must hold the current keys uploaded from federation-keys export-jwks (gcloud iam workload-identity-pools providers update-oidc {} --jwk-json-path=jwks.json); after a key rotation upload the new JWKS before the overlap ends.",
                        ctx.jwks_uri, ctx.provider_id
                    ),
                ),
                StsRefusal::Condition => refused(
                    "wif_attribute_condition_refused",
                    format!(
                        "The provider's attribute condition refused this organisation's subject {}.",
                        ctx.subject
                    ),
                    format!(
                        "Set the condition to admit exactly this organisation: {}",
                        ctx.update_provider("--attribute-condition", ctx.condition)
                    ),
                ),
                StsRefusal::Other if *status == 429 => throttled(GcpService::Sts),
                StsRefusal::Other if *status >= 500 => unavailable(GcpService::Sts),
                StsRefusal::Other => refused(
                    "sts_refused",
                    format!("STS refused the token exchange ({error})."),
                    format!(
                        "Compare the provider with the bootstrap: issuer {}, allowed audience {}, attribute mapping google.subject=assertion.sub.",
                        ctx.issuer, ctx.audience
                    ),
                ),
            },
            GcpError::Google {
                service,
                status,
                reason,
                disabled_service,
                permission,
                ..
            } => {
                if reason == "SERVICE_DISABLED" {
                    let api = disabled_service.as_deref().unwrap_or(match service {
                        GcpService::Compute => "compute.googleapis.com",
                        GcpService::ResourceManager => "cloudresourcemanager.googleapis.com",
                        GcpService::IamCredentials => "iamcredentials.googleapis.com",
                        GcpService::Sts => "sts.googleapis.com",
                    });
                    return refused(
                        "gcp_api_disabled",
                        format!("The API {api} is disabled in project {}.", ctx.project_id),
                        format!("Enable it, wait a minute, and retry: {}", ctx.enable_service(api)),
                    )
                    .with_field("project_id");
                }
                match (service, status) {
                    (_, 429) => throttled(*service),
                    (_, 401) => ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        "gcp_token_rejected",
                        format!("{} did not accept the token Google issued.", service.name()),
                        "Retry; if it persists, check that the ALPHASWARM_ADMIN_GCP_*_ENDPOINT_URL overrides point at the same Google Cloud.",
                    ),
                    (GcpService::IamCredentials, 403 | 404) => refused(
                        "impersonation_denied",
                        format!(
                            "This organisation's principal may not impersonate the service account {} ({}), or the account does not exist.",
                            ctx.service_account,
                            permission.as_deref().unwrap_or("iam.serviceAccounts.getAccessToken")
                        ),
                        format!(
                            "Bind roles/iam.workloadIdentityUser for exactly this organisation's principal (not the pool's principalSet, and with the project NUMBER): {}",
                            ctx.binding_fix()
                        ),
                    )
                    .with_field("service_account_email"),
                    // The proxy's only variable input there is the lifetime
                    // a mint asks for (the wizard's is fixed and allowed).
                    (GcpService::IamCredentials, 400) => ApiError::bad_request(
                        "token_lifetime_refused",
                        "Google refused the access token's lifetime: at most 3600 s unless an organization policy allows up to 12 h.",
                        "Ask for 3600 seconds or less, or allow longer ones for this service account with the constraints/iam.allowServiceAccountCredentialLifetimeExtension policy.",
                    )
                    .with_field("duration_seconds"),
                    (GcpService::ResourceManager, 403 | 404) => refused(
                        "project_not_readable",
                        format!(
                            "The service account {} may not read project {}, or the project does not exist.",
                            ctx.service_account, ctx.project_id
                        ),
                        format!(
                            "Check the project id, and grant the account the baseline role: {}",
                            alphaswarm_core::gcp::add_project_role_command(
                                ctx.project_id,
                                &format!("serviceAccount:{}", ctx.service_account),
                                "roles/browser",
                            )
                            .render_inline(Shell::Bash)
                            .unwrap_or_default()
                        ),
                    )
                    .with_field("project_id"),
                    (GcpService::Compute, 403) => refused(
                        "compute_permission_missing",
                        format!(
                            "The service account {} may not list Compute regions in project {}.",
                            ctx.service_account, ctx.project_id
                        ),
                        format!(
                            "Grant it: {}",
                            alphaswarm_core::gcp::add_project_role_command(
                                ctx.project_id,
                                &format!("serviceAccount:{}", ctx.service_account),
                                "roles/compute.viewer",
                            )
                            .render_inline(Shell::Bash)
                            .unwrap_or_default()
                        ),
                    ),
                    _ => unavailable(*service),
                }
            }
            GcpError::Unreachable { service, .. } => ApiError::new(
                StatusCode::BAD_GATEWAY,
                &format!("{}_unreachable", service.slug()),
                format!("{} could not be reached.", service.name()),
                format!(
                    "Check the proxy's network access to it ({} overrides the address).",
                    service.endpoint_var()
                ),
            ),
            GcpError::Unexpected { service, .. } => ApiError::new(
                StatusCode::BAD_GATEWAY,
                &format!("{}_unexpected", service.slug()),
                format!("{} answered something the proxy does not understand.", service.name()),
                format!(
                    "Check that {} points at the real service; see the proxy's log.",
                    service.endpoint_var()
                ),
            ),
        }
    }
}

fn throttled(service: GcpService) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "throttled",
        format!("{} is throttling requests.", service.name()),
        "Wait a minute and retry.",
    )
}

fn unavailable(service: GcpService) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        &format!("{}_unavailable", service.slug()),
        format!(
            "{} answered with an error it does not explain.",
            service.name()
        ),
        "Retry shortly; see https://status.cloud.google.com if it persists.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> StepContext<'static> {
        StepContext {
            project_id: "acme-prod",
            project_number: "123456789012",
            service_account: "alphaswarm-acme@acme-prod.iam.gserviceaccount.com",
            provider: "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/alphaswarm-broker-acme/providers/alphaswarm-oidc",
            pool: "projects/123456789012/locations/global/workloadIdentityPools/alphaswarm-broker-acme",
            pool_id: "alphaswarm-broker-acme",
            provider_id: "alphaswarm-oidc",
            principal: "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/alphaswarm-broker-acme/subject/org:acme",
            subject: "org:acme",
            issuer: "https://alpha-swarm.ai/oidc/",
            audience: "https://alpha-swarm.ai/gcp/acme",
            condition: "assertion.sub=='org:acme'",
            jwks_uri: "https://alpha-swarm.ai/oidc/.well-known/jwks.json",
        }
    }

    fn sts(error: &str, description: &str) -> GcpError {
        GcpError::Sts {
            status: 400,
            error: error.to_owned(),
            refusal: StsRefusal::classify(error, description),
        }
    }

    #[test]
    fn googles_sts_texts_map_to_codes_fields_and_fixes() {
        let cases: [(&str, &str, &str, Option<&str>, &str); 8] = [
            (
                "invalid_request",
                "Invalid value for \"audience\". This value should be the full resource name of the Identity Provider.",
                "wif_provider_name_invalid",
                Some("project_number"),
                "project NUMBER (123456789012)",
            ),
            (
                "invalid_target",
                "The target service indicated by the \"audience\" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.",
                "wif_provider_unavailable",
                Some("project_number"),
                "reserved for 30 days",
            ),
            (
                "invalid_grant",
                "The audience in ID Token [x] does not match the expected audience.",
                "wif_audience_not_allowed",
                None,
                "--allowed-audiences=https://alpha-swarm.ai/gcp/acme",
            ),
            (
                "invalid_grant",
                "ID Token issued at 1713260741 is stale to sign-in.",
                "assertion_stale",
                None,
                "NTP",
            ),
            (
                "invalid_grant",
                "The issuer in ID Token [x] does not match the expected issuer [y].",
                "wif_issuer_mismatch",
                None,
                "--issuer-uri=https://alpha-swarm.ai/oidc/",
            ),
            (
                "invalid_grant",
                "Unable to retrieve the OIDC discovery document or the JWKS from the issuer.",
                "wif_signing_key_unknown",
                None,
                "jwks.json",
            ),
            (
                "unauthorized_client",
                "The given credential is rejected by the attribute condition.",
                "wif_attribute_condition_refused",
                None,
                "--attribute-condition=",
            ),
            (
                "invalid_scope",
                "Scope is not permitted for this grant.",
                "sts_refused",
                None,
                "google.subject",
            ),
        ];
        for (error, description, code, field, in_hint) in cases {
            let e = sts(error, description).to_api_error(&ctx());
            assert_eq!(e.code, code, "{description}");
            assert_eq!(e.field.as_deref(), field, "{description}");
            assert!(e.hint.contains(in_hint), "{code}: {}", e.hint);
            assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                !e.message.contains(description),
                "Google's text is not echoed"
            );
        }
    }

    #[test]
    fn google_api_failures_name_the_field_and_the_command() {
        let google = |service, status, reason: &str, disabled: Option<&str>| GcpError::Google {
            service,
            status,
            google_status: "PERMISSION_DENIED".into(),
            reason: reason.into(),
            permission: None,
            disabled_service: disabled.map(str::to_owned),
        };
        let denied = google(
            GcpService::IamCredentials,
            403,
            "IAM_PERMISSION_DENIED",
            None,
        );
        assert!(denied.is_retryable_while_settling());
        let e = denied.to_api_error(&ctx());
        assert_eq!(
            (e.code.as_str(), e.field.as_deref()),
            ("impersonation_denied", Some("service_account_email"))
        );
        assert!(e.hint.contains("gcloud iam service-accounts add-iam-policy-binding alphaswarm-acme@acme-prod.iam.gserviceaccount.com --project=acme-prod --role=roles/iam.workloadIdentityUser --member=principal://iam.googleapis.com/projects/123456789012/"), "{}", e.hint);
        let disabled = google(
            GcpService::Compute,
            403,
            "SERVICE_DISABLED",
            Some("compute.googleapis.com"),
        )
        .to_api_error(&ctx());
        assert_eq!(disabled.code, "gcp_api_disabled");
        assert!(
            disabled
                .hint
                .contains("gcloud services enable compute.googleapis.com --project=acme-prod")
        );
        let project = google(GcpService::ResourceManager, 403, "", None).to_api_error(&ctx());
        assert_eq!(
            (project.code.as_str(), project.field.as_deref()),
            ("project_not_readable", Some("project_id"))
        );
        assert!(project.hint.contains("--role=roles/browser"));
        let down = google(GcpService::Compute, 503, "", None).to_api_error(&ctx());
        assert_eq!(
            (down.code.as_str(), down.status),
            ("compute_unavailable", StatusCode::BAD_GATEWAY)
        );
        let unreachable = GcpError::Unreachable {
            service: GcpService::Sts,
            detail: "connection refused".into(),
        }
        .to_api_error(&ctx());
        assert_eq!(unreachable.code, "sts_unreachable");
        assert!(!unreachable.message.contains("connection refused"));
        assert!(unreachable.hint.contains(super::super::STS_ENDPOINT_URL));
    }

    #[test]
    fn only_propagation_is_retried_and_only_real_refusals_prove_isolation() {
        assert!(sts("invalid_target", "").is_retryable_while_settling());
        assert!(
            !sts("unauthorized_client", "rejected by the attribute condition")
                .is_retryable_while_settling()
        );
        assert!(
            sts("unauthorized_client", "rejected by the attribute condition")
                .refusal_of_foreign_subject()
                .is_some()
        );
        assert!(
            sts("invalid_grant", "stale")
                .refusal_of_foreign_subject()
                .is_none()
        );
        assert!(
            GcpError::Unreachable {
                service: GcpService::Sts,
                detail: String::new()
            }
            .refusal_of_foreign_subject()
            .is_none()
        );
    }
}
