//! The npm package `alphaswarm-core`: a thin wasm-bindgen shell over
//! `alphaswarm-core`. Each export converts its input, calls the core and
//! converts the output; all rules, names and rendering live in the core.
//!
//! Types come from the core's `tsify` feature, so the `.d.ts` is generated
//! from the Rust types. Objects cross as `tsify::Ts<T>` (a plain JS handle)
//! and are (de)serialised inside the function, so a malformed argument is
//! an ordinary thrown error, never a panic or a leak at the ABI boundary.

mod error;

use alphaswarm_core::aws::{self, AwsBootstrapRequest, RoleArn};
use alphaswarm_core::azure::{self, AzureBootstrapRequest, AzureConnectionRequest};
use alphaswarm_core::baseline::{self, BaselineReport};
use alphaswarm_core::cloudflare::{self, CloudflareBootstrapRequest, CloudflareTemplate};
use alphaswarm_core::gcp::{self, GcpBootstrapRequest};
use alphaswarm_core::k8s::{self, DiagnoseRequest, Diagnosis, WorkloadIdentityRequest};
use alphaswarm_core::keys::{self, Collision, CredentialKey, Store, StoreName};
use alphaswarm_core::secret::SecretValue;
use alphaswarm_core::wizard::{self, StepInfo};
use alphaswarm_core::{Bundle, CloudKind, OrgId, external_id};
use error::{InvalidArgument, OrThrow, js_error};
use serde::{Serialize, de::DeserializeOwned};
use tsify::{Ts, Tsify};
use wasm_bindgen::prelude::*;

/// The version of the core this package was built from.
#[wasm_bindgen]
pub fn version() -> String {
    alphaswarm_core::VERSION.to_owned()
}

/// The `sts:ExternalId` (and every cloud's equivalent) for one org:
/// lowercase hex HMAC-SHA256 of `cloud_<kind>:<orgId>` under `secret`.
/// A string secret is used as its UTF-8 bytes. Server-side only: the secret
/// must never reach a browser.
#[wasm_bindgen(js_name = deriveExternalId)]
pub fn derive_external_id(
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array")] secret: JsValue,
    #[wasm_bindgen(js_name = cloudKind, unchecked_param_type = "CloudKind")] cloud_kind: &str,
    #[wasm_bindgen(js_name = orgId)] org_id: &str,
) -> Result<String, JsValue> {
    let secret = match secret.as_string() {
        Some(text) => text.into_bytes(),
        None => secret
            .dyn_into::<js_sys::Uint8Array>()
            .map_err(|_| invalid("secret", "expected a string or a Uint8Array"))?
            .to_vec(),
    };
    let cloud = cloud_kind.parse::<CloudKind>().or_throw()?;
    let org = OrgId::parse(org_id).or_throw()?;
    let id = external_id::derive_external_id(&secret, cloud, &org).or_throw_at("secret")?;
    Ok(id.into())
}

/// A credential key `(service, purpose)`, validated; as a string `service:purpose`.
#[wasm_bindgen(js_name = credentialKey)]
pub fn credential_key(service: &str, purpose: &str) -> Result<Ts<CredentialKey>, JsValue> {
    to_js(&CredentialKey::new(service, purpose).or_throw()?)
}

/// The name `key` has in `store` (env var, file, vault secret, ...).
#[wasm_bindgen(js_name = storeName)]
pub fn store_name(
    #[wasm_bindgen(unchecked_param_type = "CredentialKey")] key: &str,
    store: Ts<Store>,
) -> Result<Ts<StoreName>, JsValue> {
    let key = key.parse::<CredentialKey>().or_throw_at("key")?;
    let store = from_js(&store, "store")?;
    to_js(&keys::store_name(&key, &store).or_throw()?)
}

/// Pairs of keys that map to the same name in `store` (one would overwrite the other).
#[wasm_bindgen(js_name = findCollisions)]
pub fn find_collisions(
    #[wasm_bindgen(unchecked_param_type = "CredentialKey[]")] keys: Vec<String>,
    store: Ts<Store>,
) -> Result<Vec<Ts<Collision>>, JsValue> {
    let keys = keys
        .iter()
        .map(|key| key.parse::<CredentialKey>())
        .collect::<Result<Vec<_>, _>>()
        .or_throw_at("keys")?;
    let store = from_js(&store, "store")?;
    store.validate().or_throw()?;
    keys::find_collisions(&keys, &store)
        .iter()
        .map(to_js)
        .collect()
}

/// The fields of a stored secret's payload, as JavaScript values.
#[derive(Serialize, Tsify)]
pub struct SecretFields {
    /// A JSON object's fields, or the raw text under `credential`.
    #[tsify(type = "Record<string, unknown>")]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// A stored secret's payload: JSON fields, or the canonical `credential`.
#[wasm_bindgen(js_name = parseSecretValue)]
pub fn parse_secret_value(raw: &str) -> Result<Ts<SecretFields>, JsValue> {
    let value = SecretValue::parse(raw);
    let fields = value
        .field_names()
        .filter_map(|name| Some((name.to_owned(), value.get(name)?.clone())))
        .collect();
    to_js(&SecretFields { fields })
}

/// The parts of an IAM role ARN (the core type itself crosses as one string).
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct RoleArnParts {
    /// The ARN in its canonical form.
    pub arn: String,
    pub partition: String,
    pub account_id: String,
    pub path: String,
    pub name: String,
}

/// An IAM role ARN, split into its parts.
#[wasm_bindgen(js_name = parseRoleArn)]
pub fn parse_role_arn(arn: &str) -> Result<Ts<RoleArnParts>, JsValue> {
    let parsed = RoleArn::parse(arn).or_throw_at("arn")?;
    to_js(&RoleArnParts {
        arn: parsed.to_string(),
        partition: parsed.partition.to_string(),
        account_id: parsed.account_id.to_string(),
        path: parsed.path.to_string(),
        name: parsed.name.to_string(),
    })
}

/// Step 2 for AWS: role, trust policy, CloudFormation, commands, Terraform.
#[wasm_bindgen(js_name = renderAwsBootstrap)]
pub fn render_aws_bootstrap(options: Ts<AwsBootstrapRequest>) -> Result<Ts<Bundle>, JsValue> {
    to_js(&aws::render(&from_js(&options, "options")?).or_throw()?)
}

/// Step 2 for Azure: a managed identity in the customer's tenant (default)
/// or a federated credential on AlphaSwarm's shared app, and the role.
#[wasm_bindgen(js_name = renderAzureBootstrap)]
pub fn render_azure_bootstrap(options: Ts<AzureBootstrapRequest>) -> Result<Ts<Bundle>, JsValue> {
    to_js(&azure::render(&from_js(&options, "options")?).or_throw()?)
}

/// Steps 3-5 input for Azure, checked as the proxy checks it (GUIDs, the
/// client id required in managed-identity mode) and normalised.
#[wasm_bindgen(js_name = validateAzureConnection)]
pub fn validate_azure_connection(
    request: Ts<AzureConnectionRequest>,
) -> Result<Ts<AzureConnectionRequest>, JsValue> {
    let request: AzureConnectionRequest = from_js(&request, "request")?;
    to_js(&request.validate().or_throw()?.to_request())
}

/// Step 2 for GCP: workload identity pool, provider, impersonation binding.
#[wasm_bindgen(js_name = renderGcpBootstrap)]
pub fn render_gcp_bootstrap(options: Ts<GcpBootstrapRequest>) -> Result<Ts<Bundle>, JsValue> {
    to_js(&gcp::render(&from_js(&options, "options")?).or_throw()?)
}

/// Step 2 for Cloudflare: the scoped API token to create.
#[wasm_bindgen(js_name = renderCloudflareBootstrap)]
pub fn render_cloudflare_bootstrap(
    options: Ts<CloudflareBootstrapRequest>,
) -> Result<Ts<Bundle>, JsValue> {
    to_js(&cloudflare::render(&from_js(&options, "options")?).or_throw()?)
}

/// Workload identity on Kubernetes (AKS, EKS IRSA or Pod Identity, GKE):
/// one workload's whole wiring, cloud side and cluster side.
#[wasm_bindgen(js_name = renderWorkloadIdentity)]
pub fn render_workload_identity(
    options: Ts<WorkloadIdentityRequest>,
) -> Result<Ts<Bundle>, JsValue> {
    to_js(&k8s::render(&from_js(&options, "options")?).or_throw()?)
}

/// Why a pod cannot get its credential: coded findings with the fix, from
/// its manifests (YAML), pasted cloud output and the error it logs.
#[wasm_bindgen(js_name = diagnoseWorkload)]
pub fn diagnose_workload(request: Ts<DiagnoseRequest>) -> Result<Ts<Diagnosis>, JsValue> {
    to_js(&k8s::diagnose_workload(&from_js(&request, "request")?).or_throw()?)
}

/// Step 5: what the granted permissions lack or add against the baseline.
/// `template` picks the Cloudflare token template (required there only).
#[wasm_bindgen(js_name = compareBaseline)]
pub fn compare_baseline(
    #[wasm_bindgen(js_name = cloudKind, unchecked_param_type = "CloudKind")] cloud_kind: &str,
    granted: Vec<String>,
    #[wasm_bindgen(unchecked_optional_param_type = "CloudflareTemplate")] template: Option<String>,
) -> Result<Ts<BaselineReport>, JsValue> {
    let cloud = cloud_kind.parse::<CloudKind>().or_throw()?;
    let template = template
        .map(|t| t.parse::<CloudflareTemplate>())
        .transpose()
        .or_throw()?;
    to_js(&baseline::compare_baseline(cloud, template, &granted).or_throw()?)
}

/// The wizard's steps, in order (with the optional step 4*).
#[wasm_bindgen(js_name = wizardSteps)]
pub fn wizard_steps() -> Result<Vec<Ts<StepInfo>>, JsValue> {
    wizard::wizard_steps().iter().map(to_js).collect()
}

fn invalid(field: &'static str, detail: impl Into<String>) -> JsValue {
    js_error(
        &InvalidArgument {
            field,
            detail: detail.into(),
        },
        None,
    )
}

/// Objects cross as JSON text: one `JSON.stringify`/`JSON.parse` in the
/// engine and the serde_json code the core links anyway, which is smaller and
/// faster than walking the object property by property. The `.d.ts` matches
/// because the core's tsify feature types values the way serde_json writes
/// them (`null` for `None`).
fn from_js<T: Tsify + DeserializeOwned>(value: &Ts<T>, field: &'static str) -> Result<T, JsValue> {
    let text = js_sys::JSON::stringify(&value.js_value())
        .ok()
        .and_then(|text| text.as_string())
        .ok_or_else(|| invalid(field, "it cannot be written as JSON"))?;
    serde_json::from_str(&text).map_err(|e| invalid(field, serde_message(&e)))
}

fn to_js<T: Tsify + Serialize>(value: &T) -> Result<Ts<T>, JsValue> {
    let text = serde_json::to_string(value).map_err(|e| invalid("result", serde_message(&e)))?;
    let js = js_sys::JSON::parse(&text).map_err(|_| invalid("result", "it is not valid JSON"))?;
    Ok(Ts::new_unchecked(js))
}

/// serde_json's message without its " at line 1 column 9" suffix, which
/// points into text the caller never saw.
fn serde_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.find(" at line ") {
        Some(end) => text[..end].to_owned(),
        None => text,
    }
}
