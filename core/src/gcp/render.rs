//! The GCP bundle: ordered `gcloud` commands, the JSON the IAM API would
//! hold afterwards, and Terraform that creates the same thing.

use super::{
    ATTRIBUTE_MAPPING, BROAD_ROLES, ValidatedGcpRequest, WORKLOAD_IDENTITY_USER_ROLE,
    attribute_condition, pool_resource, principal, provider_audience, service_account_member,
    subject,
};
use crate::bundle::{self, Bundle, File, NamedValue, Notice, RenderError, hcl_string};
use crate::ids::{CloudKind, OrgId};
use crate::shell::{Command, Commands};

/// The config file holding the pool, provider and bindings.
pub const CONFIG_FILE: &str = "workload_identity_federation.json";
/// The private-issuer variant's uploaded keys (`--jwk-json-path`).
pub const JWKS_FILE: &str = "jwks.json";

fn pool_description(org: &OrgId) -> String {
    format!("AlphaSwarm broker access for organisation {org}")
}

/// The pool, provider and bindings as the IAM API defines them: what a
/// project holds once the commands have run.
pub fn config_json(v: &ValidatedGcpRequest) -> serde_json::Value {
    let mut oidc = serde_json::json!({
        "issuerUri": v.issuer.as_str(),
        "allowedAudiences": [v.allowed_audience.as_str()],
    });
    if let Some(jwks) = &v.jwks {
        oidc["jwksJson"] = jwks.as_json().into();
    }
    let service_account = match &v.service_account.created {
        Some(id) => serde_json::json!({
            "email": v.service_account.email.as_str(),
            "accountId": id.value,
            "displayName": v.display_name.as_str(),
            "create": true,
        }),
        None => serde_json::json!({
            "email": v.service_account.email.as_str(),
            "create": false,
        }),
    };
    serde_json::json!({
        "project": {
            "projectId": v.project_id.as_str(),
            "projectNumber": v.project_number.as_str(),
        },
        "serviceAccount": service_account,
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
            "attributeCondition": attribute_condition(&v.org_id),
            "oidc": oidc,
        },
        "serviceAccountBinding": {
            "serviceAccount": v.service_account.email.as_str(),
            "role": WORKLOAD_IDENTITY_USER_ROLE,
            "member": principal(v),
        },
        "projectBindings": v.roles.iter().map(|role| serde_json::json!({
            "role": role.as_str(),
            "member": service_account_member(v),
        })).collect::<Vec<_>>(),
    })
}

/// `gcloud projects add-iam-policy-binding` granting `role` to the service
/// account: a bundle line, and step 4's fix for a missing permission.
/// `--condition=None` keeps gcloud from prompting on projects whose policy
/// already has conditional bindings.
pub fn add_project_role_command(project_id: &str, member: &str, role: &str) -> Command {
    Command::new(&["gcloud", "projects", "add-iam-policy-binding"])
        .arg(project_id)
        .assign("--member", member)
        .assign("--role", role)
        .assign("--condition", "None")
}

/// The `gcloud` commands, in the order they must run. Every flag is one
/// `--flag=value` argument, gcloud's documented form (a value can then never
/// be read as a flag).
pub fn commands(v: &ValidatedGcpRequest) -> Vec<Command> {
    let mut out = Vec::new();
    if let Some(id) = &v.service_account.created {
        out.push(
            Command::new(&["gcloud", "iam", "service-accounts", "create"])
                .arg(id.value.as_str())
                .assign("--project", v.project_id.as_str())
                .assign("--display-name", v.display_name.as_str()),
        );
    }
    out.push(
        Command::new(&["gcloud", "iam", "workload-identity-pools", "create"])
            .arg(v.pool_id.as_str())
            .assign("--project", v.project_id.as_str())
            .assign("--location", "global")
            .assign("--display-name", v.display_name.as_str())
            .assign("--description", pool_description(&v.org_id)),
    );
    let mut provider = Command::new(&[
        "gcloud",
        "iam",
        "workload-identity-pools",
        "providers",
        "create-oidc",
    ])
    .arg(v.provider_id.as_str())
    .assign("--project", v.project_id.as_str())
    .assign("--location", "global")
    .assign("--workload-identity-pool", v.pool_id.as_str())
    .assign("--issuer-uri", v.issuer.as_str())
    .assign("--allowed-audiences", v.allowed_audience.as_str())
    .assign("--attribute-mapping", ATTRIBUTE_MAPPING)
    .assign("--attribute-condition", attribute_condition(&v.org_id));
    if v.jwks.is_some() {
        provider = provider.assign("--jwk-json-path", JWKS_FILE);
    }
    out.push(provider);
    out.push(
        Command::new(&[
            "gcloud",
            "iam",
            "service-accounts",
            "add-iam-policy-binding",
        ])
        .arg(v.service_account.email.as_str())
        .assign("--project", v.service_account.project(&v.project_id))
        .assign("--role", WORKLOAD_IDENTITY_USER_ROLE)
        .assign("--member", principal(v))
        .assign("--condition", "None"),
    );
    let member = service_account_member(v);
    out.extend(
        v.roles
            .iter()
            .map(|role| add_project_role_command(v.project_id.as_str(), &member, role.as_str())),
    );
    out
}

fn terraform(v: &ValidatedGcpRequest) -> String {
    let project = hcl_string(v.project_id.as_str());
    let mut tf = String::from(
        r#"terraform {
  required_providers {
    google = { source = "hashicorp/google", version = ">= 5.0" }
  }
}
"#,
    );
    // A created account is referenced, so Terraform creates it first.
    let (account_name, project_member, account_dependency) = match &v.service_account.created {
        Some(id) => {
            tf.push_str(&format!(
                r#"
resource "google_service_account" "alphaswarm" {{
  project      = {project}
  account_id   = {account_id}
  display_name = {display}
}}
"#,
                account_id = hcl_string(&id.value),
                display = hcl_string(v.display_name.as_str()),
            ));
            (
                "google_service_account.alphaswarm.name".to_owned(),
                "\"serviceAccount:${google_service_account.alphaswarm.email}\"".to_owned(),
                "google_service_account.alphaswarm, ".to_owned(),
            )
        }
        None => (
            // "-" lets IAM infer the project from the account's email.
            hcl_string(&format!(
                "projects/-/serviceAccounts/{}",
                v.service_account.email
            )),
            hcl_string(&service_account_member(v)),
            String::new(),
        ),
    };
    let jwks = if v.jwks.is_some() {
        format!("\n    jwks_json         = file(\"${{path.module}}/{JWKS_FILE}\")")
    } else {
        String::new()
    };
    tf.push_str(&format!(
        r#"
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
  attribute_condition = {condition}
  oidc {{
    issuer_uri        = {issuer}
    allowed_audiences = [{audience}]{jwks}
  }}
}}

resource "google_service_account_iam_member" "alphaswarm" {{
  service_account_id = {account_name}
  role               = {role}
  member             = {member}
  depends_on         = [{account_dependency}google_iam_workload_identity_pool_provider.alphaswarm]
}}

resource "google_project_iam_member" "alphaswarm" {{
  for_each = toset([{roles}])
  project  = {project}
  role     = each.value
  member   = {project_member}
}}
"#,
        pool = hcl_string(v.pool_id.as_str()),
        display = hcl_string(v.display_name.as_str()),
        description = hcl_string(&pool_description(&v.org_id)),
        provider = hcl_string(v.provider_id.as_str()),
        condition = hcl_string(&attribute_condition(&v.org_id)),
        issuer = hcl_string(v.issuer.as_str()),
        audience = hcl_string(v.allowed_audience.as_str()),
        role = hcl_string(WORKLOAD_IDENTITY_USER_ROLE),
        member = hcl_string(&principal(v)),
        roles = v
            .roles
            .iter()
            .map(|r| hcl_string(r.as_str()))
            .collect::<Vec<_>>()
            .join(", "),
    ));
    tf
}

/// Renders the GCP bundle for a validated request.
pub fn render_validated(v: &ValidatedGcpRequest) -> Result<Bundle, RenderError> {
    let mut values = vec![
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
            "attribute_condition",
            "Attribute condition",
            attribute_condition(&v.org_id),
        ),
        NamedValue::new(
            "provider_audience",
            "Provider audience (STS)",
            provider_audience(v),
        ),
        NamedValue::new("member", "Principal", principal(v)),
        NamedValue::new(
            "service_account_email",
            "Service account",
            v.service_account.email.as_str(),
        ),
    ];
    values.push(NamedValue::new(
        "roles",
        "Project roles",
        v.roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    ));

    let mut warnings: Vec<Notice> = [
        bundle::shortened_notice("pool id", &v.pool_id_derivation),
        bundle::shortened_notice("pool display name", &v.display_name_derivation),
        v.service_account
            .created
            .as_ref()
            .and_then(|id| bundle::shortened_notice("service account id", id)),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(sa_project) = v.service_account.email.project()
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
    for role in v.roles.iter().filter(|r| BROAD_ROLES.contains(&r.as_str())) {
        warnings.push(Notice::new(
            "broad_role",
            format!(
                "{role} lets the service account change the project, far beyond reading it; grant it only if AlphaSwarm must manage resources."
            ),
        ));
    }

    let mut notes = vec![
        format!(
            "The member and the STS audience use the project NUMBER {}; --project uses the project id {}.",
            v.project_number, v.project_id
        ),
        format!(
            "Only {} may impersonate the service account: the provider's attribute condition refuses every other subject and the binding names that one principal, so a token AlphaSwarm signs for another organisation is refused.",
            subject(&v.org_id)
        ),
        format!(
            "{CONFIG_FILE} records the service account, pool, provider and bindings as the IAM API defines them; the commands and the Terraform create exactly that."
        ),
        "A deleted pool id cannot be reused for 30 days; delete the pool only when disconnecting for good.".to_owned(),
        "No service-account key is created or stored: impersonation through the pool is the only access.".to_owned(),
    ];
    if v.service_account.created.is_none() {
        notes.push(format!(
            "The existing service account {} is used as is; the commands do not create it.",
            v.service_account.email
        ));
    }
    let mut files = vec![File::json(CONFIG_FILE, &config_json(v))];
    if let Some(jwks) = &v.jwks {
        files.push(File {
            name: JWKS_FILE.to_owned(),
            media_type: "application/json".to_owned(),
            contents: format!("{}\n", jwks.as_json()),
        });
        notes.push(format!(
            "Private issuer: the provider trusts the keys uploaded from {JWKS_FILE} (kids {}) instead of fetching them. After the issuer rotates its keys, upload the new set with gcloud iam workload-identity-pools providers update-oidc --jwk-json-path={JWKS_FILE}.",
            jwks.kids().join(", ")
        ));
    }

    Ok(Bundle {
        cloud: CloudKind::Gcp,
        org_id: v.org_id.clone(),
        values,
        files,
        commands: Commands::render(&commands(v))?,
        links: Vec::new(),
        terraform: terraform(v),
        warnings,
        notes,
    })
}

/// Validates the request and renders its bundle.
pub fn render(req: &super::GcpBootstrapRequest) -> Result<Bundle, RenderError> {
    render_validated(&req.validate()?)
}
