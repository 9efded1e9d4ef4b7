//! The loopback AWS of the web UI's end-to-end run (scripts/test-web.sh):
//! the AWS fake of `alphaswarm-fakes` (STS, IAM, EC2 on one endpoint; its
//! own SigV4 verification; every call authorised as IAM does), with
//! AlphaSwarm's platform user in the partner account and a customer
//! administrator in the customer account. No customer role exists yet: the
//! e2e creates them by running the commands the wizard rendered, as that
//! administrator, with the venv's awscli.
//!
//! Azure: the loopback Entra + ARM fake of `alphaswarm-fakes` with
//! AlphaSwarm's multi-tenant app and two customer tenants; an issuer front
//! that forwards `/oidc/…` to the proxy (as the public reverse proxy does in
//! production), so the proxy's issuer URL is known before the proxy binds
//! its own ephemeral port; and a control listener where the e2e runs the
//! `az` commands the wizard rendered (`POST /az`) and clicks the
//! admin-consent link (`POST /admin-consent`), as the customer would.
//!
//! GCP: the loopback STS + IAM Credentials + Resource Manager + Compute
//! fake of `alphaswarm-fakes` with two customer projects; it reads the same
//! issuer through the front. The control listener applies the
//! `workload_identity_federation.json` the wizard rendered (`POST
//! /gcp/apply`), as running the rendered `gcloud` commands would, and
//! grants a project role as step 4's fix does (`POST /gcp/grant`).
//!
//! Cloudflare: the loopback Cloudflare API fake of `alphaswarm-fakes` (one
//! user, two accounts with zones) and a control listener where the e2e
//! creates a token from the dashboard link the wizard showed (`POST
//! /mint`, as the customer does in the dashboard, optionally unticking
//! permissions) and edits one (`POST /add-group`).
//!
//! HuggingFace and Docker Hub: their loopback fakes with one user each
//! (HuggingFace `alice`, admin of `acme-quant`; Docker Hub `acmeops`, member
//! of `acme`). The control listener mints and revokes their tokens
//! (`POST /accounts/{huggingface|dockerhub}/{issue|revoke}`), as the
//! user does in each product's settings.
//!
//! Prints one JSON line (endpoints, account ids, the platform user's keys
//! for the proxy, the customer administrator's keys for the awscli, the
//! Azure ids). The first line read on stdin is the proxy's base URL (for the
//! issuer front); it stays up until stdin closes or SIGTERM/SIGINT arrives.

use alphaswarm_fakes::aws::{AwsFake, AwsFakeConfig};
use alphaswarm_fakes::azure::{AzLogin, AzureFake};
use alphaswarm_fakes::cloudflare::{CloudflareFake, MintOptions, RunningCloudflare};
use alphaswarm_fakes::dockerhub::{DockerHub, PatScope};
use alphaswarm_fakes::gcp::GcpFake;
use alphaswarm_fakes::huggingface::{HuggingFace, TokenRole};
use alphaswarm_fakes::server::{Running, serve};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::{Arc, OnceLock};

const PARTNER_ACCOUNT: &str = "111122223333";
const CUSTOMER_ACCOUNT: &str = "444455556666";
const ALLOW_ASSUME_ROLE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#;
/// The customer's administrator may do anything in the customer account.
const ALLOW_EVERYTHING: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// AlphaSwarm's own tenant and multi-tenant app (shared-app mode).
const AZ_PLATFORM_TENANT: &str = "a1a1a1a1-0000-4000-8000-000000000001";
const AZ_APP_OBJECT_ID: &str = "a1a1a1a1-0000-4000-8000-0000000000a0";
const AZ_APP_CLIENT_ID: &str = "a1a1a1a1-0000-4000-8000-0000000000c0";
/// The customer tenants: one per mode, so each connects its own subscription.
const AZ_TENANTS: [(&str, &str, &str); 2] = [
    (
        "aaaaaaaa-1111-4111-8111-111111111111",
        "aaaaaaaa-2222-4222-8222-222222222222",
        "Contoso production",
    ),
    (
        "bbbbbbbb-1111-4111-8111-111111111111",
        "bbbbbbbb-2222-4222-8222-222222222222",
        "Fabrikam",
    ),
];

/// The customer projects (id, number): one per e2e organisation, so each
/// connects its own.
const GCP_PROJECTS: [(&str, &str); 2] = [
    ("contoso-prod", "246813579024"),
    ("fabrikam-data", "135792468013"),
];

/// The proxy's base URL, read from stdin once the proxy listens.
type ProxyUrl = Arc<OnceLock<String>>;

/// `GET /oidc/{rest}` forwarded to the proxy: the issuer's discovery
/// document and JWKS, status, type and cache headers as the proxy sent them.
async fn forward_issuer(State(proxy): State<ProxyUrl>, Path(rest): Path<String>) -> Response {
    let Some(base) = proxy.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "the proxy is not up yet").into_response();
    };
    let upstream = match reqwest::get(format!("{base}/oidc/{rest}")).await {
        Ok(r) => r,
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    let status =
        StatusCode::from_u16(upstream.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut headers = axum::http::HeaderMap::new();
    for name in [header::CONTENT_TYPE, header::CACHE_CONTROL] {
        if let Some(v) = upstream.headers().get(name.as_str())
            && let Ok(v) = v.as_bytes().try_into()
        {
            headers.insert(name, v);
        }
    }
    let body = upstream.bytes().await.unwrap_or_default();
    (status, headers, body.to_vec()).into_response()
}

/// `POST /az {as: "customer"|"platform", tenant, subscription?, command,
/// files?}`: one rendered bash `az` command run against the fake; answers
/// `{stdout}` or 422 `{error}` (what az prints on stderr).
async fn run_az(State(azure): State<Arc<AzureFake>>, Json(body): Json<Value>) -> Response {
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let login = match text("as").as_deref() {
        Some("platform") => AzLogin {
            tenant: AZ_PLATFORM_TENANT.to_owned(),
            subscription: None,
        },
        _ => AzLogin {
            tenant: text("tenant").unwrap_or_default(),
            subscription: text("subscription"),
        },
    };
    let files: BTreeMap<String, String> = body
        .get("files")
        .and_then(Value::as_object)
        .map(|f| {
            f.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    match azure.az_with_files(&login, &text("command").unwrap_or_default(), &files) {
        Ok(stdout) => Json(json!({ "stdout": stdout })).into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}

/// `POST /admin-consent {url}`: an administrator's click on the consent link.
async fn admin_consent(State(azure): State<Arc<AzureFake>>, Json(body): Json<Value>) -> Response {
    let url = body.get("url").and_then(Value::as_str).unwrap_or_default();
    match azure.follow_admin_consent_link(url) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}

/// `POST /gcp/apply {config}`: the rendered `workload_identity_federation.json`
/// (as text) applied to the GCP fake; 204, or 422 `{error}` (what gcloud
/// would print).
async fn apply_gcp(State(gcp): State<GcpFake>, Json(body): Json<Value>) -> Response {
    let text = body
        .get("config")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let applied = serde_json::from_str::<Value>(text)
        .map_err(|e| e.to_string())
        .and_then(|config| gcp.world().apply_config(&config).map_err(|e| e.to_string()));
    match applied {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": error })),
        )
            .into_response(),
    }
}

/// `POST /gcp/grant {project, role, member}`: `gcloud projects
/// add-iam-policy-binding` as the customer runs step 4's fix; 204.
async fn grant_gcp(State(gcp): State<GcpFake>, Json(body): Json<Value>) -> StatusCode {
    let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or_default();
    gcp.grant_project_role(text("project"), text("role"), text("member"));
    StatusCode::NO_CONTENT
}

/// `POST /mint {link, account_id?, drop_keys?, expires_in_days?}`: the
/// customer opens the wizard's dashboard link, unticks `drop_keys`, sets
/// an expiry and creates the token; answers `{id, value}` (the value is
/// shown once, as Cloudflare does) or 422 `{error}`.
async fn cloudflare_mint(
    State(cloudflare): State<CloudflareFake>,
    Json(body): Json<Value>,
) -> Response {
    let options = MintOptions {
        account_id: body["account_id"].as_str().map(str::to_owned),
        drop_keys: body["drop_keys"]
            .as_array()
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| Some(k.as_str()?.to_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        expires_on: body["expires_in_days"]
            .as_i64()
            .map(|days| time::OffsetDateTime::now_utc() + time::Duration::days(days)),
        ..MintOptions::default()
    };
    match cloudflare.mint_from_link(body["link"].as_str().unwrap_or_default(), options) {
        Ok(token) => Json(json!({ "id": token.id, "value": token.value })).into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}

/// `POST /add-group {token_id, group_id}`: the customer edits the token in
/// the dashboard (its value stays the same).
async fn cloudflare_add_group(
    State(cloudflare): State<CloudflareFake>,
    Json(body): Json<Value>,
) -> StatusCode {
    let field = |key: &str| body[key].as_str().unwrap_or_default();
    if cloudflare.add_group(field("token_id"), field("group_id")) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// The Cloudflare fake and its control listener.
async fn start_cloudflare() -> (RunningCloudflare, Running) {
    let cloudflare = CloudflareFake::new()
        .start()
        .await
        .expect("the Cloudflare fake starts");
    let control = axum::Router::new()
        .route("/mint", post(cloudflare_mint))
        .route("/add-group", post(cloudflare_add_group))
        .with_state(cloudflare.fake.clone());
    let control = serve(control, 0)
        .await
        .expect("the Cloudflare control listener starts");
    (cloudflare, control)
}

/// The HuggingFace and Docker Hub fakes, each with its one user.
#[derive(Clone)]
struct Accounts {
    hf: HuggingFace,
    docker: DockerHub,
}

const HF_USER: &str = "alice";
const DOCKER_USER: &str = "acmeops";

/// `POST /accounts/{product}/issue` answers `{token}` (a new token of the
/// product's user); `…/revoke {token}` revokes one.
async fn account_token(
    State(accounts): State<Accounts>,
    Path((product, action)): Path<(String, String)>,
    body: Option<Json<Value>>,
) -> Response {
    let token = body
        .as_ref()
        .and_then(|b| b.get("token"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    match (product.as_str(), action.as_str()) {
        ("huggingface", "issue") => {
            Json(json!({ "token": accounts.hf.issue_token(HF_USER, TokenRole::Read) }))
                .into_response()
        }
        ("dockerhub", "issue") => {
            Json(json!({ "token": accounts.docker.issue_pat(DOCKER_USER, PatScope::Read) }))
                .into_response()
        }
        ("huggingface", "revoke") => {
            accounts.hf.revoke(token);
            StatusCode::NO_CONTENT.into_response()
        }
        ("dockerhub", "revoke") => {
            accounts.docker.revoke(token);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Both account fakes and their control routes.
async fn start_accounts() -> (Running, Running, axum::Router) {
    let accounts = Accounts {
        hf: HuggingFace::new(),
        docker: DockerHub::new(),
    };
    accounts.hf.add_user(HF_USER, Some("alice@acme.example"));
    accounts.hf.add_org("acme-quant", &[(HF_USER, "admin")]);
    accounts
        .docker
        .add_user(DOCKER_USER, "ops@acme.example", None);
    accounts.docker.add_org("acme", &[DOCKER_USER]);
    accounts.docker.add_repository(DOCKER_USER, "tools", true);
    accounts.docker.add_repository("acme", "models", true);
    let hf = accounts
        .hf
        .start()
        .await
        .expect("the HuggingFace fake starts");
    let docker = accounts
        .docker
        .start()
        .await
        .expect("the Docker Hub fake starts");
    let control = axum::Router::new()
        .route("/accounts/{product}/{action}", post(account_token))
        .with_state(accounts);
    (hf, docker, control)
}

/// The Azure fake, the issuer front and the control listener (Azure's
/// routes and GCP's).
async fn start_azure(
    proxy: ProxyUrl,
    gcp: GcpFake,
    accounts: axum::Router,
) -> (Arc<AzureFake>, Running, Running) {
    let azure = AzureFake::start().await.expect("the Azure fake starts");
    for (tenant, subscription, name) in AZ_TENANTS {
        azure.add_subscription(tenant, subscription, name);
    }
    azure.register_app(AZ_PLATFORM_TENANT, AZ_APP_OBJECT_ID, AZ_APP_CLIENT_ID);
    let azure = Arc::new(azure);
    let front = axum::Router::new()
        .route("/oidc/{*rest}", get(forward_issuer))
        .with_state(proxy);
    let control = axum::Router::new()
        .route("/az", post(run_az))
        .route("/admin-consent", post(admin_consent))
        .with_state(azure.clone())
        .merge(
            axum::Router::new()
                .route("/gcp/apply", post(apply_gcp))
                .route("/gcp/grant", post(grant_gcp))
                .with_state(gcp),
        )
        .merge(accounts);
    let front = serve(front, 0).await.expect("the issuer front starts");
    let control = serve(control, 0)
        .await
        .expect("the control listener starts");
    (azure, front, control)
}

#[tokio::main]
async fn main() {
    let aws = AwsFake::start(AwsFakeConfig::default())
        .await
        .expect("the AWS fake starts on loopback");
    let platform = aws
        .state()
        .create_user(PARTNER_ACCOUNT, "alphaswarm-platform", ALLOW_ASSUME_ROLE)
        .expect("platform user");
    let admin = aws
        .state()
        .create_user(CUSTOMER_ACCOUNT, "e2e-customer-admin", ALLOW_EVERYTHING)
        .expect("customer administrator");
    let gcp = GcpFake::new();
    gcp.allow_loopback_issuers();
    for (id, number) in GCP_PROJECTS {
        gcp.add_project(id, number);
    }
    let gcp_server = gcp.serve().await.expect("the GCP fake starts on loopback");
    let proxy_url: ProxyUrl = Arc::default();
    let (huggingface, dockerhub, accounts_control) = start_accounts().await;
    let (azure, issuer_front, azure_control) =
        start_azure(proxy_url.clone(), gcp, accounts_control).await;
    let (cloudflare, cloudflare_control) = start_cloudflare().await;
    let env = serde_json::json!({
        "aws_url": aws.url(),
        "partner_account_id": PARTNER_ACCOUNT,
        "customer_account_id": CUSTOMER_ACCOUNT,
        "platform_access_key_id": platform.access_key_id,
        "platform_secret_access_key": platform.secret_access_key,
        "customer_access_key_id": admin.access_key_id,
        "customer_secret_access_key": admin.secret_access_key,
        // The proxy's issuer, as Entra and the GCP fake fetch it.
        "federation_issuer": format!("{}/oidc/", issuer_front.url()),
        "azure_login_url": azure.login_url(),
        "azure_arm_url": azure.arm_url(),
        "azure_control_url": azure_control.url(),
        "accounts_control_url": azure_control.url(),
        "azure_app_client_id": AZ_APP_CLIENT_ID,
        "azure_app_object_id": AZ_APP_OBJECT_ID,
        "huggingface_url": huggingface.url(),
        "dockerhub_url": dockerhub.url(),
        "azure_tenants": AZ_TENANTS.iter().map(|(t, s, n)| json!({ "tenant": t, "subscription": s, "name": n })).collect::<Vec<_>>(),
        "cloudflare_api_url": cloudflare.api_url(),
        "cloudflare_control_url": cloudflare_control.url(),
        "cloudflare_account_id": cloudflare.fake.account_id(),
        "gcp_url": gcp_server.url(),
        // The same control listener serves GCP's /gcp/apply.
        "gcp_control_url": azure_control.url(),
        "gcp_projects": GCP_PROJECTS.iter().map(|(id, number)| json!({ "id": id, "number": number })).collect::<Vec<_>>(),
    });
    println!("{env}");

    // The first line is the proxy's URL; EOF means stop.
    let stdin_closed = tokio::task::spawn_blocking(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let line = line.trim().trim_end_matches('/').to_owned();
            if !line.is_empty() {
                let _ = proxy_url.set(line);
            }
        }
    });
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = stdin_closed => {}
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    // Dropping them stops the fakes.
    drop((issuer_front, azure_control, azure, gcp_server));
    drop((cloudflare_control, cloudflare));
    drop((huggingface, dockerhub));
    drop(aws);
}
