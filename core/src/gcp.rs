//! GCP: Workload Identity Federation (a pool + OIDC provider per org) and
//! impersonation of a service account through `roles/iam.workloadIdentityUser`.

use crate::bundle::{self, Bundle, File, NamedValue, Notice, RenderError, hcl_string};
use crate::ids::{Audience, CloudKind, IdError, IdKind, IssuerUrl, OrgId, check_rule};
use crate::name::{self, DerivedName, NameShape};
use crate::rule::{self, Reason, Rule};
use crate::shell::{Command, Commands};
use crate::validated_string;
use serde::{Deserialize, Serialize};

/// Prefix of the pool id; the org id follows it.
pub const POOL_ID_PREFIX: &str = "alphaswarm-broker-";
/// The one OIDC provider in each pool.
pub const PROVIDER_ID: &str = "alphaswarm-oidc";
/// Prefix of the pool's display name; the org id follows it.
pub const DISPLAY_NAME_PREFIX: &str = "AlphaSwarm broker ";
/// Maps the token's `sub` (`org:<org_id>`) to `google.subject`.
pub const ATTRIBUTE_MAPPING: &str = "google.subject=assertion.sub";
/// The role that lets the pool's principals impersonate the service account.
pub const WORKLOAD_IDENTITY_USER_ROLE: &str = "roles/iam.workloadIdentityUser";
/// The config file holding the pool and provider definitions.
pub const CONFIG_FILE: &str = "workload_identity_federation.json";
/// GCP's limit on `google.subject` after mapping, in bytes.
pub const MAX_GOOGLE_SUBJECT_BYTES: usize = 127;

/// `^[a-z][a-z0-9-]{4,28}[a-z0-9]$`.
pub const PROJECT_ID_RULE: Rule = Rule {
    min: 6,
    max: 30,
    allowed: |c| rule::is_lower_alnum(c) || c == '-',
    allowed_desc: "a-z, 0-9 and -",
    first: Some((rule::is_lower_letter, "a lowercase letter")),
    last: Some((rule::is_lower_alnum, "a lowercase letter or digit")),
};

/// Pool and provider ids: 4-32 of `[a-z0-9-]`, starting with a letter
/// (the stricter reading); the `gcp-` prefix is checked separately.
pub const POOL_ID_RULE: Rule = Rule {
    min: 4,
    max: 32,
    allowed: |c| rule::is_lower_alnum(c) || c == '-',
    allowed_desc: "a-z, 0-9 and -",
    first: Some((rule::is_lower_letter, "a lowercase letter")),
    last: None,
};

/// Pool display names: at most 32 characters. Ours are built from the
/// prefix and an org id, so letters, digits, space, `-` and `_` suffice.
pub const DISPLAY_NAME_RULE: Rule = Rule {
    min: 1,
    max: 32,
    allowed: |c| rule::is_alnum(c) || matches!(c, ' ' | '-' | '_'),
    allowed_desc: "letters, digits, space, - and _",
    first: None,
    last: None,
};

fn format_error(kind: IdKind, expected: &'static str) -> IdError {
    IdError::new(kind, Reason::Format { expected })
}

validated_string!(
    /// A project id such as `my-project` (not the project number).
    GcpProjectId,
    |s| {
        if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format_error(IdKind::GcpProjectId, "the project id, but this is all digits: it looks like the project number"));
        }
        check_rule(IdKind::GcpProjectId, &PROJECT_ID_RULE, s)
    }
);

validated_string!(
    /// A project number: digits only (the audience and member need it).
    GcpProjectNumber,
    |s| {
        if PROJECT_ID_RULE.accepts(s) {
            return Err(format_error(IdKind::GcpProjectNumber, "the project number (digits only), but this looks like the project id"));
        }
        if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err(format_error(IdKind::GcpProjectNumber, "1-20 digits"))
        }
    }
);

validated_string!(
    /// A workload identity pool or provider id.
    GcpPoolId,
    |s| {
        check_rule(IdKind::GcpPoolId, &POOL_ID_RULE, s)?;
        if s.starts_with("gcp-") {
            return Err(format_error(IdKind::GcpPoolId, "an id not starting with gcp- (reserved by Google)"));
        }
        Ok(())
    }
);

validated_string!(
    /// A pool display name (derived by us, never typed; the rule guards the
    /// derivation, so an error here is labelled as the pool it belongs to).
    GcpDisplayName,
    |s| check_rule(IdKind::GcpPoolId, &DISPLAY_NAME_RULE, s)
);

/// The local part of a service account: GCP's account ids are 6-30 of
/// `[a-z0-9-]`; default accounts (`<number>-compute@developer...`) start
/// with a digit, so the first character may be a letter or digit.
const SERVICE_ACCOUNT_LOCAL_RULE: Rule = Rule {
    min: 1,
    max: 64,
    allowed: |c| rule::is_lower_alnum(c) || c == '-',
    allowed_desc: "a-z, 0-9 and -",
    first: Some((rule::is_lower_alnum, "a lowercase letter or digit")),
    last: Some((rule::is_lower_alnum, "a lowercase letter or digit")),
};

/// The domain: `<project>.iam.gserviceaccount.com` or another
/// `*.gserviceaccount.com` domain of Google's default accounts.
const SERVICE_ACCOUNT_DOMAIN_RULE: Rule = Rule {
    min: 21,
    max: 253,
    allowed: |c| rule::is_lower_alnum(c) || c == '-' || c == '.',
    allowed_desc: "a-z, 0-9, - and .",
    first: Some((rule::is_lower_alnum, "a lowercase letter or digit")),
    last: None,
};

validated_string!(
    /// A service account email, e.g. `broker@my-project.iam.gserviceaccount.com`.
    GcpServiceAccountEmail,
    |s| {
        let (local, domain) = s.split_once('@').ok_or_else(|| format_error(IdKind::GcpServiceAccountEmail, "an email address (name@project.iam.gserviceaccount.com)"))?;
        check_rule(IdKind::GcpServiceAccountEmail, &SERVICE_ACCOUNT_LOCAL_RULE, local)?;
        check_rule(IdKind::GcpServiceAccountEmail, &SERVICE_ACCOUNT_DOMAIN_RULE, domain)?;
        let labels_ok = domain.split('.').all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
        if !labels_ok || !domain.ends_with(".gserviceaccount.com") {
            return Err(format_error(IdKind::GcpServiceAccountEmail, "a service account domain ending in .gserviceaccount.com"));
        }
        Ok(())
    }
);

impl GcpServiceAccountEmail {
    /// The project a user-managed account lives in (`<project>.iam.gserviceaccount.com`).
    pub fn project(&self) -> Option<&str> {
        self.as_str()
            .split_once('@')
            .and_then(|(_, d)| d.strip_suffix(".iam.gserviceaccount.com"))
    }
}

/// Step 2 input as the wizard sends it: raw strings, validated by [`Self::validate`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct GcpBootstrapRequest {
    pub org_id: String,
    pub project_id: String,
    pub project_number: String,
    /// The platform's OIDC issuer, exactly as its discovery document states it.
    pub issuer: String,
    /// The audience the platform's tokens for this provider carry.
    pub allowed_audience: String,
    /// The service account the pool's principals impersonate.
    pub service_account_email: String,
}

/// A request whose every value passed its rule; the only input of rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedGcpRequest {
    pub org_id: OrgId,
    pub project_id: GcpProjectId,
    pub project_number: GcpProjectNumber,
    pub issuer: IssuerUrl,
    pub allowed_audience: Audience,
    pub service_account_email: GcpServiceAccountEmail,
    pub pool_id: GcpPoolId,
    pub provider_id: GcpPoolId,
    pub display_name: GcpDisplayName,
    /// How the pool id and display name were derived (shortened or not).
    pub pool_id_derivation: DerivedName,
    pub display_name_derivation: DerivedName,
}

impl GcpBootstrapRequest {
    pub fn validate(&self) -> Result<ValidatedGcpRequest, RenderError> {
        let org_id = OrgId::parse(&self.org_id).map_err(|e| e.at("org_id"))?;
        // Pasted ids often carry surrounding whitespace; the ids never do.
        let project_id =
            GcpProjectId::parse(self.project_id.trim()).map_err(|e| e.at("project_id"))?;
        let project_number = GcpProjectNumber::parse(self.project_number.trim())
            .map_err(|e| e.at("project_number"))?;
        // The issuer and audience are compared exactly: no trimming.
        let issuer = IssuerUrl::parse(&self.issuer).map_err(|e| e.at("issuer"))?;
        let allowed_audience =
            Audience::parse(&self.allowed_audience).map_err(|e| e.at("allowed_audience"))?;
        // gcloud splits --allowed-audiences on commas and would read a
        // leading '-' as a flag.
        if allowed_audience.as_str().contains(',') || allowed_audience.as_str().starts_with('-') {
            return Err(IdError::new(
                IdKind::Audience,
                Reason::Format {
                    expected: "one audience without commas, not starting with -",
                },
            )
            .at("allowed_audience")
            .into());
        }
        let service_account_email =
            GcpServiceAccountEmail::parse(self.service_account_email.trim())
                .map_err(|e| e.at("service_account_email"))?;
        let pool_id_derivation = pool_id(&org_id);
        let display_name_derivation = display_name(&org_id);
        Ok(ValidatedGcpRequest {
            pool_id: GcpPoolId::parse(&pool_id_derivation.value)?,
            provider_id: GcpPoolId::parse(PROVIDER_ID)?,
            display_name: GcpDisplayName::parse(&display_name_derivation.value)?,
            org_id,
            project_id,
            project_number,
            issuer,
            allowed_audience,
            service_account_email,
            pool_id_derivation,
            display_name_derivation,
        })
    }
}

/// `alphaswarm-broker-<org_id>`, shortened when the pool rule refuses it.
pub fn pool_id(org: &OrgId) -> DerivedName {
    name::derive(
        &NameShape {
            prefix: POOL_ID_PREFIX,
            suffix: "",
            rule: &POOL_ID_RULE,
            sanitise: name::sanitise_lower_dash,
        },
        org,
    )
}

/// `AlphaSwarm broker <org_id>`, shortened to GCP's 32-character limit.
pub fn display_name(org: &OrgId) -> DerivedName {
    name::derive(
        &NameShape {
            prefix: DISPLAY_NAME_PREFIX,
            suffix: "",
            rule: &DISPLAY_NAME_RULE,
            sanitise: Some,
        },
        org,
    )
}

/// The subject the platform's tokens for this org carry (`google.subject`).
pub fn subject(org: &OrgId) -> String {
    org.purpose()
}

fn pool_resource(v: &ValidatedGcpRequest) -> String {
    format!(
        "projects/{}/locations/global/workloadIdentityPools/{}",
        v.project_number, v.pool_id
    )
}

/// The provider's full name, used as the STS `audience` in the token exchange.
pub fn provider_audience(v: &ValidatedGcpRequest) -> String {
    format!(
        "//iam.googleapis.com/{}/providers/{}",
        pool_resource(v),
        v.provider_id
    )
}

/// Every identity of the pool: the member granted `workloadIdentityUser`.
pub fn principal_set(v: &ValidatedGcpRequest) -> String {
    format!("principalSet://iam.googleapis.com/{}/*", pool_resource(v))
}

/// The pool and provider as the IAM API defines them.
pub fn config_json(v: &ValidatedGcpRequest) -> serde_json::Value {
    serde_json::json!({
        "pool": {
            "name": pool_resource(v),
            "workloadIdentityPoolId": v.pool_id.as_str(),
            "displayName": v.display_name.as_str(),
            "description": pool_description(&v.org_id),
        },
        "provider": {
            "name": format!("{}/providers/{}", pool_resource(v), v.provider_id),
            "workloadIdentityPoolProviderId": v.provider_id.as_str(),
            "attributeMapping": { "google.subject": "assertion.sub" },
            "oidc": {
                "issuerUri": v.issuer.as_str(),
                "allowedAudiences": [v.allowed_audience.as_str()],
            },
        },
        "serviceAccountBinding": {
            "serviceAccount": v.service_account_email.as_str(),
            "role": WORKLOAD_IDENTITY_USER_ROLE,
            "member": principal_set(v),
        },
    })
}

fn pool_description(org: &OrgId) -> String {
    format!("AlphaSwarm broker access for organisation {org}")
}

/// The three `gcloud` commands of seed 001, in order.
pub fn commands(v: &ValidatedGcpRequest) -> Vec<Command> {
    vec![
        Command::new(&["gcloud", "iam", "workload-identity-pools", "create"])
            .arg(v.pool_id.as_str())
            .opt("--project", v.project_id.as_str())
            .opt("--location", "global")
            .opt("--display-name", v.display_name.as_str()),
        Command::new(&[
            "gcloud",
            "iam",
            "workload-identity-pools",
            "providers",
            "create-oidc",
        ])
        .arg(v.provider_id.as_str())
        .opt("--project", v.project_id.as_str())
        .opt("--location", "global")
        .opt("--workload-identity-pool", v.pool_id.as_str())
        .opt("--issuer-uri", v.issuer.as_str())
        .opt("--allowed-audiences", v.allowed_audience.as_str())
        .opt("--attribute-mapping", ATTRIBUTE_MAPPING),
        Command::new(&[
            "gcloud",
            "iam",
            "service-accounts",
            "add-iam-policy-binding",
        ])
        .arg(v.service_account_email.as_str())
        .opt("--project", v.project_id.as_str())
        .opt("--role", WORKLOAD_IDENTITY_USER_ROLE)
        .opt("--member", principal_set(v)),
    ]
}

fn terraform(v: &ValidatedGcpRequest) -> Result<String, RenderError> {
    Ok(format!(
        r#"terraform {{
  required_providers {{
    google = {{ source = "hashicorp/google", version = ">= 5.0" }}
  }}
}}

resource "google_iam_workload_identity_pool" "alphaswarm" {{
  project                   = {project}
  workload_identity_pool_id = {pool}
  display_name              = {display}
  description               = {description}
}}

resource "google_iam_workload_identity_pool_provider" "alphaswarm" {{
  project                            = {project}
  workload_identity_pool_id          = google_iam_workload_identity_pool.alphaswarm.workload_identity_pool_id
  workload_identity_pool_provider_id = {provider}
  attribute_mapping = {{
    "google.subject" = "assertion.sub"
  }}
  oidc {{
    issuer_uri        = {issuer}
    allowed_audiences = [{audience}]
  }}
}}

resource "google_service_account_iam_member" "alphaswarm" {{
  service_account_id = {service_account}
  role               = {role}
  member             = {member}
}}
"#,
        project = hcl_string(v.project_id.as_str()),
        pool = hcl_string(v.pool_id.as_str()),
        display = hcl_string(v.display_name.as_str()),
        description = hcl_string(&pool_description(&v.org_id)),
        provider = hcl_string(v.provider_id.as_str()),
        issuer = hcl_string(v.issuer.as_str()),
        audience = hcl_string(v.allowed_audience.as_str()),
        // "-" lets IAM infer the project from the account's email.
        service_account = hcl_string(&format!(
            "projects/-/serviceAccounts/{}",
            v.service_account_email
        )),
        role = hcl_string(WORKLOAD_IDENTITY_USER_ROLE),
        member = hcl_string(&principal_set(v)),
    ))
}

/// Renders the GCP bundle for a validated request.
pub fn render_validated(v: &ValidatedGcpRequest) -> Result<Bundle, RenderError> {
    let values = vec![
        NamedValue::new("pool_id", "Workload identity pool id", v.pool_id.as_str()),
        NamedValue::new("provider_id", "Provider id", v.provider_id.as_str()),
        NamedValue::new("display_name", "Pool display name", v.display_name.as_str()),
        NamedValue::new("project_id", "Project id", v.project_id.as_str()),
        NamedValue::new(
            "project_number",
            "Project number",
            v.project_number.as_str(),
        ),
        NamedValue::new("issuer", "Issuer URI", v.issuer.as_str()),
        NamedValue::new(
            "allowed_audience",
            "Allowed audience",
            v.allowed_audience.as_str(),
        ),
        NamedValue::new("subject", "google.subject", subject(&v.org_id)),
        NamedValue::new(
            "provider_audience",
            "Provider audience (STS)",
            provider_audience(v),
        ),
        NamedValue::new("member", "Principal set", principal_set(v)),
        NamedValue::new(
            "service_account_email",
            "Service account",
            v.service_account_email.as_str(),
        ),
    ];

    let mut warnings: Vec<Notice> = [
        bundle::shortened_notice("pool id", &v.pool_id_derivation),
        bundle::shortened_notice("pool display name", &v.display_name_derivation),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(sa_project) = v.service_account_email.project()
        && sa_project != v.project_id.as_str()
    {
        warnings.push(Notice::new(
            "service_account_in_other_project",
            format!(
                "The service account belongs to project {sa_project}, not {}: the binding must be run by someone allowed to change that account's IAM policy.",
                v.project_id
            ),
        ));
    }

    let notes = vec![
        format!(
            "The pool, provider and binding use the project NUMBER {} in the member and audience, and the project id {} in --project.",
            v.project_number, v.project_id
        ),
        format!(
            "Every token the issuer signs for the allowed audience maps into this pool (google.subject = {}); keep that audience specific to this organisation.",
            subject(&v.org_id)
        ),
        format!(
            "{CONFIG_FILE} records the pool, provider and binding as the IAM API defines them; the commands create exactly that."
        ),
        "A deleted pool id cannot be reused for 30 days; delete the pool only when disconnecting for good.".to_owned(),
        "No service-account key is created or stored: impersonation through the pool is the only access.".to_owned(),
    ];

    Ok(Bundle {
        cloud: CloudKind::Gcp,
        org_id: v.org_id.clone(),
        values,
        files: vec![File::json(CONFIG_FILE, &config_json(v))],
        commands: Commands::render(&commands(v))?,
        links: Vec::new(),
        terraform: terraform(v)?,
        warnings,
        notes,
    })
}

/// Validates the request and renders its bundle.
pub fn render(req: &GcpBootstrapRequest) -> Result<Bundle, RenderError> {
    render_validated(&req.validate()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CoreError;

    fn request() -> GcpBootstrapRequest {
        GcpBootstrapRequest {
            org_id: "org-acme".into(),
            project_id: "acme-prod".into(),
            project_number: "123456789012".into(),
            issuer: "https://alpha-swarm.ai/oidc/".into(),
            allowed_audience: "https://alpha-swarm.ai/gcp".into(),
            service_account_email: "broker@acme-prod.iam.gserviceaccount.com".into(),
        }
    }

    #[test]
    fn project_id_and_number_pasted_for_each_other() {
        let mut r = request();
        r.project_id = "123456789012".into();
        let e = r.validate().unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            ("invalid_gcp_project_id", Some("project_id"))
        );
        assert!(e.to_string().contains("project number"), "{e}");
        let mut r = request();
        r.project_number = "acme-prod".into();
        let e = r.validate().unwrap_err();
        assert_eq!(e.code(), "invalid_gcp_project_number");
        assert!(e.to_string().contains("project id"), "{e}");
    }

    #[test]
    fn pool_ids_fit_for_edge_orgs() {
        assert_eq!(
            pool_id(&OrgId::parse("org-acme").unwrap()).value,
            "alphaswarm-broker-org-acme"
        );
        for org in [OrgId::platform(), OrgId::parse(&"z".repeat(64)).unwrap()] {
            let p = pool_id(&org);
            assert!(p.is_shortened());
            assert!(GcpPoolId::parse(&p.value).is_ok(), "{}", p.value);
            assert!(GcpDisplayName::parse(&display_name(&org).value).is_ok());
        }
        assert!(subject(&OrgId::parse(&"z".repeat(64)).unwrap()).len() <= MAX_GOOGLE_SUBJECT_BYTES);
    }

    #[test]
    fn pool_id_rules() {
        for bad in ["gcp-pool", "abc", "Pool-x", "1pool", &"a".repeat(33)] {
            assert_eq!(
                GcpPoolId::parse(bad).unwrap_err().code(),
                "invalid_gcp_pool_id",
                "{bad}"
            );
        }
        assert!(GcpPoolId::parse(PROVIDER_ID).is_ok());
    }

    #[test]
    fn audience_with_comma_is_refused() {
        let mut r = request();
        r.allowed_audience = "a,b".into();
        let e = r.validate().unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            ("invalid_audience", Some("allowed_audience"))
        );
    }

    #[test]
    fn service_account_emails() {
        for ok in [
            "broker@acme-prod.iam.gserviceaccount.com",
            "123456789012-compute@developer.gserviceaccount.com",
        ] {
            assert!(GcpServiceAccountEmail::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "broker",
            "broker@gmail.com",
            "Broker@x.iam.gserviceaccount.com",
            "b@-x.gserviceaccount.com",
        ] {
            assert!(GcpServiceAccountEmail::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn audience_and_member_use_the_number() {
        let v = request().validate().unwrap();
        assert_eq!(
            provider_audience(&v),
            "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/alphaswarm-broker-org-acme/providers/alphaswarm-oidc"
        );
        assert_eq!(
            principal_set(&v),
            "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/alphaswarm-broker-org-acme/*"
        );
    }
}
