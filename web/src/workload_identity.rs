//! Settings → Workload identity: a tool for the platform's own clusters.
//! Render one workload's whole wiring (AKS, EKS IRSA or Pod Identity, GKE)
//! and diagnose pasted manifests. The proxy runs the core's renderer and
//! diagnosis (`/admin/tools/workload-identity/…`), so the wizard's wasm
//! carries neither them nor a YAML parser; no cloud is called.

use crate::api::{self, ApiError, WorkloadTool};
use crate::auth::Auth;
use crate::bundle_view::BundleView;
use crate::signal::{BoxedCallback, BoxedSignal, CollectAny, MapAny};
use crate::ui::{ErrorBanner, FieldError};
use alphaswarm_core::Bundle;
use alphaswarm_core::bundle::{File, Notice};
use alphaswarm_core::shell::Shell;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Map, Value};

const AKS: u8 = 1;
const EKS: u8 = 2;
const POD_IDENTITY: u8 = 4;
const GKE: u8 = 8;
const ALL: u8 = AKS | EKS | POD_IDENTITY | GKE;

/// One input: its key in the core's request (camelCase, also the error
/// field), which clouds show it, and where it goes.
struct Field {
    key: &'static str,
    label: &'static str,
    clouds: u8,
    /// In the request's `cloud` object (rendering) or `cloudOutput` (diagnosis).
    nested: bool,
    optional: bool,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Line,
    Text,
    Choice(&'static [(&'static str, &'static str)]),
}

const fn field(key: &'static str, label: &'static str, clouds: u8) -> Field {
    Field {
        key,
        label,
        clouds,
        nested: false,
        optional: false,
        kind: Kind::Line,
    }
}

const fn side(f: Field) -> Field {
    Field { nested: true, ..f }
}
const fn optional(f: Field) -> Field {
    Field {
        optional: true,
        ..f
    }
}
const fn text(f: Field) -> Field {
    Field {
        kind: Kind::Text,
        ..f
    }
}

const CLOUDS: &[(&str, &str)] = &[
    ("aks", "AKS (Azure Workload Identity)"),
    ("eks", "EKS (IAM roles for service accounts)"),
    ("eks_pod_identity", "EKS Pod Identity"),
    ("gke", "GKE (Workload Identity Federation)"),
];

const RENDER_FIELDS: &[Field] = &[
    field("namespace", "Namespace", ALL),
    field("serviceAccount", "Service account", ALL),
    Field {
        kind: Kind::Choice(&[
            ("deployment", "Deployment"),
            ("stateful_set", "StatefulSet"),
            ("daemon_set", "DaemonSet"),
            ("job", "Job"),
            ("cron_job", "CronJob"),
        ]),
        ..field("workloadKind", "Workload kind", ALL)
    },
    optional(field(
        "workloadName",
        "Workload name (default: the service account's)",
        ALL,
    )),
    field(
        "issuer",
        "Cluster OIDC issuer, exactly as reported",
        AKS | EKS,
    ),
    optional(field(
        "clusterName",
        "Cluster name (required for Pod Identity)",
        ALL,
    )),
    text(field(
        "credentialKeys",
        "Credential keys it reads (service:purpose, one per line)",
        ALL,
    )),
    optional(Field {
        kind: Kind::Choice(&[
            ("", "No"),
            ("secret_store", "Yes, with a SecretStore"),
            ("cluster_secret_store", "Yes, with a ClusterSecretStore"),
        ]),
        ..field(
            "externalSecrets",
            "External Secrets Operator manifests",
            AKS | EKS | GKE,
        )
    }),
    optional(field(
        "storePrefix",
        "Secret name prefix (default: the store's)",
        ALL,
    )),
    side(field("subscriptionId", "Subscription id", AKS)),
    side(field("resourceGroup", "Resource group", AKS)),
    side(field("keyVaultName", "Key Vault name", AKS)),
    side(optional(field(
        "keyVaultResourceGroup",
        "Key Vault resource group (default: the same)",
        AKS,
    ))),
    side(optional(field(
        "identityName",
        "Managed identity name (optional)",
        AKS,
    ))),
    side(optional(field(
        "identityClientId",
        "Its client id, if it exists already",
        AKS,
    ))),
    side(field("accountId", "AWS account id", EKS | POD_IDENTITY)),
    side(field("region", "Region", EKS | POD_IDENTITY)),
    side(optional(field(
        "roleName",
        "IAM role name (optional)",
        EKS | POD_IDENTITY,
    ))),
    side(field("projectId", "Project id", GKE)),
    side(field("projectNumber", "Project number", GKE)),
    side(optional(field("location", "Cluster location", GKE))),
    side(optional(field(
        "googleServiceAccount",
        "Google service account (legacy form only)",
        GKE,
    ))),
];

const DIAGNOSE_FIELDS: &[Field] = &[
    text(field(
        "manifests",
        "Manifests (kubectl get deploy,sa -n <namespace> -o yaml)",
        ALL,
    )),
    optional(text(field(
        "errorText",
        "The error the pod logs (optional)",
        ALL,
    ))),
    side(optional(field(
        "clusterIssuer",
        "The cluster's issuer (az aks show / aws eks describe-cluster)",
        AKS | EKS,
    ))),
    side(optional(text(field(
        "identity",
        "az identity show -o json",
        AKS,
    )))),
    side(optional(text(field(
        "federatedCredentials",
        "az identity federated-credential list -o json",
        AKS,
    )))),
    side(optional(text(field(
        "roleAssignments",
        "az role assignment list --scope <vault id> -o json",
        AKS,
    )))),
    side(optional(text(field(
        "role",
        "aws iam get-role --output json",
        EKS | POD_IDENTITY,
    )))),
    side(optional(text(field(
        "podIdentityAssociations",
        "aws eks list-pod-identity-associations --output json",
        POD_IDENTITY,
    )))),
    side(optional(field("projectId", "Project id", GKE))),
    side(optional(field("projectNumber", "Project number", GKE))),
    side(optional(text(field(
        "iamPolicy",
        "gcloud secrets (or iam service-accounts) get-iam-policy --format json",
        GKE,
    )))),
];

const RENDER_KEYS: &[&str] = &[
    "namespace",
    "serviceAccount",
    "workloadKind",
    "workloadName",
    "issuer",
    "clusterName",
    "credentialKeys",
    "externalSecrets",
    "storePrefix",
    "subscriptionId",
    "resourceGroup",
    "keyVaultName",
    "keyVaultResourceGroup",
    "identityName",
    "identityClientId",
    "accountId",
    "region",
    "roleName",
    "projectId",
    "projectNumber",
    "location",
    "googleServiceAccount",
];
/// Diagnosis errors that name an input of the form (the project fields never fail).
const DIAGNOSE_KEYS: &[&str] = &[
    "manifests",
    "errorText",
    "identity",
    "federatedCredentials",
    "roleAssignments",
    "role",
    "podIdentityAssociations",
    "iamPolicy",
];

fn cloud_bit(cloud: &str) -> u8 {
    match cloud {
        "aks" => AKS,
        "eks" => EKS,
        "eks_pod_identity" => POD_IDENTITY,
        _ => GKE,
    }
}

/// The classes that show a field for its clouds (style.css hides the rest
/// through the section's `data-cloud`).
fn classes(clouds: u8) -> String {
    let mut out = String::from("field");
    for (bit, class) in [
        (AKS, " c-aks"),
        (EKS, " c-eks"),
        (POD_IDENTITY, " c-pi"),
        (GKE, " c-gke"),
    ] {
        if clouds & bit != 0 {
            out.push_str(class);
        }
    }
    out
}

/// The current text of the input `id` (inputs keep their own state; only
/// submitting reads them, which keeps the page's wasm small).
fn input_value(id: &str) -> String {
    document()
        .get_element_by_id(id)
        .and_then(|e| js_sys::Reflect::get(&e, &"value".into()).ok())
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// The request: shown fields, blank optional ones left out.
fn request(fields: &[Field], prefix: &str, cloud: &str, nested_key: &str) -> Value {
    let mut top = Map::new();
    let mut nested = Map::new();
    if nested_key == "cloud" {
        nested.insert("kind".into(), cloud.into());
    } else {
        top.insert("cloud".into(), cloud.into());
    }
    for f in fields {
        let value = input_value(&format!("{prefix}{}", f.key));
        if f.clouds & cloud_bit(cloud) == 0 || (f.optional && value.trim().is_empty()) {
            continue;
        }
        let json = if f.key == "credentialKeys" {
            value
                .split(['\n', ','])
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(Value::from)
                .collect()
        } else {
            Value::String(value)
        };
        if f.nested { &mut nested } else { &mut top }.insert(f.key.into(), json);
    }
    top.insert(nested_key.into(), Value::Object(nested));
    Value::Object(top)
}

#[component]
fn Inputs(
    fields: &'static [Field],
    prefix: &'static str,
    error: Signal<Option<ApiError>>,
) -> impl IntoView {
    fields
        .iter()
        .map(|f| {
            let id = format!("{prefix}{}", f.key);
            let described = format!("{}-error", f.key);
            let input = match f.kind {
                Kind::Line => view! {
                    <input id=id.clone() aria-describedby=described autocomplete="off" spellcheck="false"/>
                }
                .into_any(),
                Kind::Text => view! {
                    <textarea id=id.clone() rows="5" aria-describedby=described spellcheck="false"></textarea>
                }
                .into_any(),
                Kind::Choice(choices) => view! {
                    <select id=id.clone()>
                        {choices.iter().map(|(v, label)| view! { <option value=*v>{*label}</option> }).collect_any()}
                    </select>
                }
                .into_any(),
            };
            view! {
                <div class=classes(f.clouds)>
                    <label for=id>{f.label}</label>
                    {input}
                    <FieldError field=f.key error/>
                </div>
            }
        })
        .collect_any()
}

/// One tool of the page: its form, its errors and its result.
#[component]
fn Tool(
    id: &'static str,
    title: &'static str,
    intro: &'static str,
    fields: &'static [Field],
    /// The error fields the form shows next to an input; others go to the banner.
    keys: &'static [&'static str],
    prefix: &'static str,
    button: &'static str,
    cloud: RwSignal<String>,
    /// Calls the core with the request and keeps the result; errors land here.
    on_submit: BoxedCallback<(Value, BoxedSignal<Option<ApiError>>, RwSignal<bool>)>,
    children: Children,
) -> impl IntoView {
    let error = BoxedSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let nested = if prefix.is_empty() {
        "cloud"
    } else {
        "cloudOutput"
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let argument = request(fields, prefix, &cloud.get_untracked(), nested);
        on_submit.run((argument, error, busy));
    };
    view! {
        <h2 id=id>{title}</h2>
        <p class="muted">{intro}</p>
        <form aria-labelledby=id on:submit=submit data-form=nested>
            <Inputs fields prefix error=error.into()/>
            <button type="submit" class="primary" disabled=move || busy.get()>{button}</button>
        </form>
        <ErrorBanner error=error.into() fields=keys/>
        {children()}
    }
}

/// Runs `tool` on the request and hands its JSON result to `done`.
fn run(
    auth: Auth,
    tool: WorkloadTool,
    (argument, error, busy): (Value, BoxedSignal<Option<ApiError>>, RwSignal<bool>),
    done: impl Fn(&str) + 'static,
) {
    busy.set(true);
    error.set(None);
    spawn_local(async move {
        let result = api::workload_identity(&auth.token(), tool, &argument).await;
        busy.try_set(false);
        match result {
            Ok(json) => done(&json),
            Err(e) => {
                error.try_set(Some(e));
            }
        }
    });
}

#[component]
pub fn WorkloadIdentity(auth: Auth) -> impl IntoView {
    let cloud = RwSignal::new("aks".to_owned());
    let bundle = BoxedSignal::new(None::<Bundle>);
    let diagnosis = BoxedSignal::new(None::<Bundle>);
    let shell = BoxedSignal::new(Shell::Bash);
    let render = BoxedCallback::new(move |request| {
        bundle.set(None);
        run(auth, WorkloadTool::Render, request, move |json| {
            bundle.try_set(crate::json::parse(json).ok());
        });
    });
    let diagnose = BoxedCallback::new(move |request| {
        diagnosis.set(None);
        run(auth, WorkloadTool::Diagnose, request, move |json| {
            diagnosis.try_set(
                serde_json::from_str(json)
                    .ok()
                    .map(|d| diagnosis_bundle(&d)),
            );
        });
    });
    view! {
        <section class="panel" aria-labelledby="wi-title" data-view="workload-identity" data-cloud=move || cloud.get()>
            <h1 id="wi-title">"Workload identity"</h1>
            <p class="muted">"For the platform's own clusters: wire a workload to read its secrets with the cluster's identity, or find why a pod gets no credential. No cloud is called and nothing you paste is kept."</p>
            <div class="field">
                <label for="cloud">"Cluster"</label>
                <select id="cloud" on:change=move |ev| cloud.set(event_target_value(&ev))>
                    {CLOUDS.iter().map(|(v, label)| view! { <option value=*v>{*label}</option> }).collect_any()}
                </select>
            </div>
            <Tool id="wi-render-title" title="Wiring" intro="Run the commands in one shell session, or use the Terraform."
                fields=RENDER_FIELDS keys=RENDER_KEYS prefix="" button="Render the wiring" cloud on_submit=render>
                {move || bundle.get().map_any(|bundle| view! { <BundleView bundle shell lead=Vec::new()/> })}
            </Tool>
            <Tool id="wi-diagnose-title" title="Diagnose" intro="Paste the manifests, and the cloud side's output to check it too."
                fields=DIAGNOSE_FIELDS keys=DIAGNOSE_KEYS prefix="d-" button="Diagnose" cloud on_submit=diagnose>
                {move || diagnosis.get().map_any(|bundle| view! { <BundleView bundle shell lead=Vec::new()/> })}
            </Tool>
        </section>
    }
}

/// The core's `Diagnosis` as a bundle the page already knows how to show:
/// each finding a warning (its code, message and fix), each fix snippet a
/// file to copy, and the unchecked pieces as notes.
fn diagnosis_bundle(diagnosis: &Value) -> Bundle {
    let text = |f: &Value, key: &str| f[key].as_str().unwrap_or_default().to_owned();
    let list = |key: &str| diagnosis[key].as_array().cloned().unwrap_or_default();
    let mut bundle = Bundle {
        cloud: alphaswarm_core::CloudKind::Aws,
        org_id: alphaswarm_core::OrgId::platform(),
        values: Vec::new(),
        files: Vec::new(),
        commands: Default::default(),
        links: Vec::new(),
        terraform: String::new(),
        warnings: Vec::new(),
        notes: list("notChecked")
            .iter()
            .filter_map(|n| {
                Some(format!(
                    "Not checked: {} (paste its output to check it).",
                    n.as_str()?
                ))
            })
            .collect(),
    };
    for f in list("findings") {
        let code = text(&f, "code");
        let workload = f["workload"]
            .as_str()
            .map(|w| format!("{w}: "))
            .unwrap_or_default();
        bundle.warnings.push(Notice::new(
            &code,
            format!("{workload}{} Fix: {}", text(&f, "message"), text(&f, "fix")),
        ));
        if let Some(snippet) = f["fixSnippet"].as_str() {
            let shell = ["az ", "aws ", "gcloud "]
                .iter()
                .any(|p| snippet.starts_with(p));
            let (ext, media) = if shell {
                ("sh", "text/x-shellscript")
            } else {
                ("yaml", "application/yaml")
            };
            bundle.files.push(File {
                name: format!("fix-{code}.{ext}"),
                media_type: media.into(),
                contents: snippet.into(),
            });
        }
    }
    if bundle.warnings.is_empty() {
        bundle.notes.insert(
            0,
            "No missing or mismatched piece found in what was given.".into(),
        );
    }
    bundle
}
