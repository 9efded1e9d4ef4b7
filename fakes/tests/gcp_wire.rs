//! The GCP fake checks what Google checks (federation-formats §3, §7):
//! JWTs signed here (RS256 and ES256) and served from a tiny issuer over
//! HTTP, state built from the core's own rendered bundle.

use alphaswarm_core::gcp::{self, GcpBootstrapRequest};
use alphaswarm_fakes::gcp::GcpFake;
use alphaswarm_fakes::oauth2::JwtIssuer;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use tower::ServiceExt;

const PROJECT: &str = "acme-prod";
const NUMBER: &str = "123456789012";
const ORG: &str = "org-acme";
const SA: &str = "alphaswarm-org-acme@acme-prod.iam.gserviceaccount.com";
const POOL: &str =
    "projects/123456789012/locations/global/workloadIdentityPools/alphaswarm-broker-org-acme";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// An issuer with one RSA and one EC P-256 key, discovery + JWKS over HTTP.
struct Issuer {
    url: String,
    rsa: JwtIssuer,
    ec: EncodingKey,
    jwks: Value,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Issuer {
    async fn start() -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}/oidc/");
        let rsa = JwtIssuer::new(&url);
        let public = rsa::RsaPublicKey::from_public_key_pem(&rsa.public_pem).unwrap();
        let ec_secret = p256::SecretKey::random(&mut rsa::rand_core::OsRng);
        let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
            &ec_secret.public_key(),
            false,
        );
        let ec =
            EncodingKey::from_ec_pem(ec_secret.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes())
                .unwrap();
        let jwks = json!({ "keys": [
            { "kty": "RSA", "use": "sig", "alg": "RS256", "kid": rsa.key_id, "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be()) },
            { "kty": "EC", "use": "sig", "alg": "ES256", "kid": "ec-1", "crv": "P-256", "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()) },
        ]});
        let discovery = json!({
            "issuer": url,
            "jwks_uri": format!("{url}.well-known/jwks.json"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        });
        let keys = jwks.clone();
        let router = Router::new()
            .route(
                "/oidc/.well-known/openid-configuration",
                get(move || async move { Json(discovery) }),
            )
            .route(
                "/oidc/.well-known/jwks.json",
                get(move || async move { Json(keys) }),
            );
        let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Issuer {
            url,
            rsa,
            ec,
            jwks,
            server,
        }
    }

    fn claims(&self, sub: &str) -> Value {
        let t = now();
        json!({ "iss": self.url, "sub": sub, "aud": format!("https://alpha-swarm.ai/gcp/{}", sub.trim_start_matches("org:")), "iat": t, "exp": t + 300 })
    }

    fn rs256(&self, claims: &Value) -> String {
        self.rsa.mint_claims(claims.clone())
    }

    fn es256(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("ec-1".into());
        jsonwebtoken::encode(&header, claims, &self.ec).unwrap()
    }
}

fn request(issuer: &str) -> GcpBootstrapRequest {
    GcpBootstrapRequest {
        org_id: ORG.into(),
        project_id: PROJECT.into(),
        project_number: NUMBER.into(),
        issuer: issuer.into(),
        allowed_audience: format!("https://alpha-swarm.ai/gcp/{ORG}"),
        ..GcpBootstrapRequest::default()
    }
}

fn provider_audience() -> String {
    format!("//iam.googleapis.com/{POOL}/providers/alphaswarm-oidc")
}

/// A project, and the core's rendered bundle applied to it.
fn world(issuer: &Issuer) -> GcpFake {
    let fake = GcpFake::new();
    fake.allow_loopback_issuers();
    fake.add_project(PROJECT, NUMBER);
    fake.apply_bundle(&gcp::render(&request(&issuer.url)).unwrap())
        .unwrap();
    fake
}

async fn call(
    fake: &GcpFake,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Body>,
    form: bool,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(b) = bearer {
        req = req.header("authorization", format!("Bearer {b}"));
    }
    req = req.header(
        "content-type",
        if form {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        },
    );
    let response = fake
        .router()
        .oneshot(req.body(body.unwrap_or_else(Body::empty)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn get_project(fake: &GcpFake, token: &str) -> (StatusCode, Value) {
    call(
        fake,
        "GET",
        &format!("/v1/projects/{PROJECT}"),
        Some(token),
        None,
        false,
    )
    .await
}

async fn sts_with(fake: &GcpFake, audience: &str, token: &str) -> (StatusCode, Value) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", EXCHANGE)
        .append_pair("audience", audience)
        .append_pair("scope", "https://www.googleapis.com/auth/cloud-platform")
        .append_pair(
            "requested_token_type",
            "urn:ietf:params:oauth:token-type:access_token",
        )
        .append_pair("subject_token", token)
        .append_pair("subject_token_type", "urn:ietf:params:oauth:token-type:jwt")
        .finish();
    call(
        fake,
        "POST",
        "/v1/token",
        None,
        Some(Body::from(body)),
        true,
    )
    .await
}

async fn sts(fake: &GcpFake, token: &str) -> (StatusCode, Value) {
    sts_with(fake, &provider_audience(), token).await
}

async fn impersonate(fake: &GcpFake, sts_token: &str) -> (StatusCode, Value) {
    let body =
        json!({ "scope": ["https://www.googleapis.com/auth/cloud-platform"], "lifetime": "3600s" });
    call(
        fake,
        "POST",
        &format!("/v1/projects/-/serviceAccounts/{SA}:generateAccessToken"),
        Some(sts_token),
        Some(Body::from(body.to_string())),
        false,
    )
    .await
}

/// STS then impersonation: the service account's token.
async fn account_token(fake: &GcpFake, assertion: &str) -> String {
    let (status, body) = sts(fake, assertion).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = impersonate(fake, body["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["accessToken"].as_str().unwrap().to_owned()
}

fn assert_oauth_error(result: &(StatusCode, Value), error: &str, description_part: &str) {
    assert_eq!(result.0, StatusCode::BAD_REQUEST, "{}", result.1);
    assert_eq!(result.1["error"], error, "{}", result.1);
    let description = result.1["error_description"].as_str().unwrap();
    assert!(description.contains(description_part), "{description}");
}

#[tokio::test]
async fn happy_path_rs256_and_es256_then_project_permissions_and_regions() {
    let issuer = Issuer::start().await;
    let fake = world(&issuer);
    for assertion in [
        issuer.rs256(&issuer.claims("org:org-acme")),
        issuer.es256(&issuer.claims("org:org-acme")),
    ] {
        let (status, body) = sts(&fake, &assertion).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(
            body["issued_token_type"],
            "urn:ietf:params:oauth:token-type:access_token"
        );
        let (status, body) = impersonate(&fake, body["access_token"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let expire = body["expireTime"].as_str().unwrap();
        assert!(expire.ends_with('Z') && !expire.contains('.'), "{expire}");
    }
    let token = account_token(&fake, &issuer.rs256(&issuer.claims("org:org-acme"))).await;
    let (status, project) = get_project(&fake, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            project["projectId"].as_str(),
            project["projectNumber"].as_str()
        ),
        (Some(PROJECT), Some(NUMBER))
    );

    let roles: Vec<gcp::GcpRole> = gcp::DEFAULT_ROLES
        .iter()
        .map(|r| r.parse().unwrap())
        .collect();
    let mut asked = gcp::required_permissions(&roles);
    asked.push("compute.regions.list");
    let test = |token: String, asked: Vec<&'static str>| {
        let fake = fake.clone();
        async move {
            call(
                &fake,
                "POST",
                &format!("/v1/projects/{PROJECT}:testIamPermissions"),
                Some(&token),
                Some(Body::from(json!({ "permissions": asked }).to_string())),
                false,
            )
            .await
        }
    };
    let (status, held) = test(token.clone(), asked.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        held["permissions"],
        json!(gcp::required_permissions(&roles)),
        "the bundle's roles give exactly the baseline"
    );

    // Compute: the default roles cannot list regions; compute.viewer can.
    let regions = |token: String| {
        let fake = fake.clone();
        async move {
            call(
                &fake,
                "GET",
                &format!("/compute/v1/projects/{PROJECT}/regions"),
                Some(&token),
                None,
                false,
            )
            .await
        }
    };
    let (status, body) = regions(token.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["errors"][0]["reason"], "forbidden");
    fake.grant_project_role(
        PROJECT,
        "roles/compute.viewer",
        &format!("serviceAccount:{SA}"),
    );
    let (status, body) = regions(token.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "compute#regionList");
    assert!(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "us-central1" && r["status"] == "UP")
    );
    fake.set_compute_enabled(PROJECT, false);
    let (status, body) = regions(token.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");
    assert_eq!(body["error"]["details"][0]["reason"], "SERVICE_DISABLED");
    assert_eq!(
        body["error"]["details"][0]["metadata"]["consumer"],
        format!("projects/{NUMBER}")
    );

    // A revoked role is red again; nothing held at all reads as {}.
    assert!(fake.revoke_project_role(PROJECT, "roles/browser", &format!("serviceAccount:{SA}")));
    assert!(fake.revoke_project_role(
        PROJECT,
        "roles/iam.securityReviewer",
        &format!("serviceAccount:{SA}")
    ));
    assert!(fake.revoke_project_role(
        PROJECT,
        "roles/compute.viewer",
        &format!("serviceAccount:{SA}")
    ));
    assert_eq!(
        test(token.clone(), asked).await,
        (StatusCode::OK, json!({}))
    );
    let (status, body) = get_project(&fake, &token).await;
    assert_eq!(
        (status, body["error"]["status"].as_str()),
        (StatusCode::FORBIDDEN, Some("PERMISSION_DENIED"))
    );
    let (status, _) = call(
        &fake,
        "GET",
        &format!("/v1/projects/{PROJECT}"),
        Some("ya29.made-up"),
        None,
        false,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn only_this_orgs_subject_gets_in_and_the_old_principal_set_binding_lets_anyone_in() {
    let issuer = Issuer::start().await;
    let fake = world(&issuer);
    // Another org's assertion, with its own audience: the audience fence.
    let other = issuer.rs256(&issuer.claims("org:org-evil"));
    assert_oauth_error(
        &sts(&fake, &other).await,
        "invalid_grant",
        "The audience in ID Token [https://alpha-swarm.ai/gcp/org-evil] does not match",
    );
    // Another subject with this org's audience: the attribute condition.
    let mut claims = issuer.claims("org:org-acme");
    claims["sub"] = "org:org-evil".into();
    let spoofed = issuer.rs256(&claims);
    assert_oauth_error(
        &sts(&fake, &spoofed).await,
        "unauthorized_client",
        "rejected by the attribute condition",
    );

    // The pre-fix bundle: no condition, the whole pool bound.
    let fake = GcpFake::new();
    fake.allow_loopback_issuers();
    fake.add_project(PROJECT, NUMBER);
    let bundle = gcp::render(&request(&issuer.url)).unwrap();
    let mut config: Value = serde_json::from_str(&bundle.files[0].contents).unwrap();
    config["provider"]
        .as_object_mut()
        .unwrap()
        .remove("attributeCondition");
    config["serviceAccountBinding"]["member"] =
        format!("principalSet://iam.googleapis.com/{POOL}/*").into();
    fake.world().apply_config(&config).unwrap();
    account_token(&fake, &spoofed).await;

    // No condition but the exact-subject binding: STS admits, IAM refuses.
    let fake = GcpFake::new();
    fake.allow_loopback_issuers();
    fake.add_project(PROJECT, NUMBER);
    config["serviceAccountBinding"]["member"] =
        format!("principal://iam.googleapis.com/{POOL}/subject/org:org-acme").into();
    fake.world().apply_config(&config).unwrap();
    let (status, body) = sts(&fake, &spoofed).await;
    assert_eq!(status, StatusCode::OK);
    let refused = impersonate(&fake, body["access_token"].as_str().unwrap()).await;
    assert_permission_denied(&refused);
    account_token(&fake, &issuer.rs256(&issuer.claims("org:org-acme"))).await;
}

fn assert_permission_denied(result: &(StatusCode, Value)) {
    assert_eq!(result.0, StatusCode::FORBIDDEN);
    assert_eq!(
        result.1,
        json!({"error":{"code":403,"message":"Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"IAM_PERMISSION_DENIED","domain":"iam.googleapis.com","metadata":{"permission":"iam.serviceAccounts.getAccessToken"}}]}})
    );
}

#[tokio::test]
async fn audience_parameter_provider_state_and_binding_mistakes() {
    let issuer = Issuer::start().await;
    let fake = world(&issuer);
    let good = issuer.rs256(&issuer.claims("org:org-acme"));
    // The pool instead of the provider; the project id where the number belongs.
    assert_oauth_error(
        &sts_with(&fake, &format!("//iam.googleapis.com/{POOL}"), &good).await,
        "invalid_request",
        "Invalid value for \"audience\"",
    );
    let with_id = provider_audience().replace(NUMBER, PROJECT);
    assert_oauth_error(
        &sts_with(&fake, &with_id, &good).await,
        "invalid_target",
        "disabled or deleted",
    );
    // An Authorization header on STS is refused.
    let (status, body) = {
        let req = Request::builder()
            .method("POST")
            .uri("/v1/token")
            .header("authorization", "Bearer x")
            .body(Body::empty())
            .unwrap();
        let r = fake.router().oneshot(req).await.unwrap();
        let status = r.status();
        (
            status,
            serde_json::from_slice::<Value>(
                &axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap(),
            )
            .unwrap(),
        )
    };
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );

    // Binding missing: exactly Google's 403.
    let (_, sts_body) = sts(&fake, &good).await;
    let sts_token = sts_body["access_token"].as_str().unwrap().to_owned();
    let member = format!("principal://iam.googleapis.com/{POOL}/subject/org:org-acme");
    assert_eq!(
        fake.service_account_members(SA, "roles/iam.workloadIdentityUser"),
        std::slice::from_ref(&member)
    );
    assert!(fake.unbind_service_account(SA, "roles/iam.workloadIdentityUser", &member));
    assert_permission_denied(&impersonate(&fake, &sts_token).await);
    // A project id in place of the '-' wildcard.
    let (status, body) = call(
        &fake,
        "POST",
        &format!("/v1/projects/{PROJECT}/serviceAccounts/{SA}:generateAccessToken"),
        Some(&sts_token),
        Some(Body::from(r#"{"scope":["x"]}"#)),
        false,
    )
    .await;
    assert_eq!(
        (status, body["error"]["status"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_ARGUMENT"))
    );
    // IAM propagation: a new binding counts only after the delay.
    fake.set_propagation_delay(5);
    fake.bind_service_account(SA, "roles/iam.workloadIdentityUser", &member);
    assert_permission_denied(&impersonate(&fake, &sts_token).await);
    fake.advance_clock(6);
    assert_eq!(impersonate(&fake, &sts_token).await.0, StatusCode::OK);

    // Disabled provider, then a deleted pool whose id stays taken for 30 days.
    let provider = provider_audience()
        .trim_start_matches("//iam.googleapis.com/")
        .to_owned();
    assert!(fake.set_provider_disabled(&provider, true));
    let fresh = issuer.rs256(&issuer.claims("org:org-acme"));
    // (the clock moved 6 s: mint after moving it back to now for the assertion)
    fake.advance_clock(-6);
    assert_oauth_error(
        &sts(&fake, &fresh).await,
        "invalid_target",
        "disabled or deleted",
    );
    assert!(fake.set_provider_disabled(&provider, false));
    assert_eq!(sts(&fake, &fresh).await.0, StatusCode::OK);
    assert!(fake.delete_pool(POOL));
    assert_oauth_error(
        &sts(&fake, &fresh).await,
        "invalid_target",
        "disabled or deleted",
    );
    let bundle = gcp::render(&GcpBootstrapRequest {
        service_account_email: Some(SA.into()),
        ..request(&issuer.url)
    })
    .unwrap();
    let again = fake.apply_bundle(&bundle).unwrap_err();
    assert!(again.to_string().contains("less than 30 days"), "{again}");
    fake.advance_clock(31 * 24 * 3600);
    fake.apply_bundle(&bundle).unwrap();
}

#[tokio::test]
async fn token_checks_signature_kid_issuer_and_times() {
    let issuer = Issuer::start().await;
    let fake = world(&issuer);
    let base = issuer.claims("org:org-acme");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = base.clone();
        f(&mut c);
        c
    };
    let t = now();
    let cases: Vec<(String, &str, &str)> = vec![
        (
            issuer.rs256(&with(&|c| c["exp"] = (t - 10).into())),
            "invalid_grant",
            "expired",
        ),
        (
            issuer.rs256(&with(&|c| {
                c["iat"] = (t - 7200).into();
                c["exp"] = (t + 600).into();
            })),
            "invalid_grant",
            "is stale to sign-in",
        ),
        (
            issuer.rs256(&with(&|c| c["iat"] = (t + 600).into())),
            "invalid_grant",
            "in the future",
        ),
        (
            issuer.rs256(&with(&|c| {
                c["iat"] = (t - 10).into();
                c["exp"] = (t + 25 * 3600).into();
            })),
            "invalid_grant",
            "at most 24 hours",
        ),
        (
            issuer.rs256(&with(&|c| c["iss"] = "https://evil.example/".into())),
            "invalid_grant",
            "does not match the expected issuer",
        ),
        (
            issuer.rs256(&with(&|c| {
                c.as_object_mut().unwrap().remove("iat");
            })),
            "invalid_grant",
            "iat and exp",
        ),
    ];
    for (token, error, part) in &cases {
        assert_oauth_error(&sts(&fake, token).await, error, part);
    }
    // Unknown kid, a key the issuer never published under that kid, no kid, HS256.
    let stranger = JwtIssuer::new(&issuer.url);
    assert_oauth_error(
        &sts(&fake, &stranger.mint_claims(base.clone())).await,
        "invalid_grant",
        "does not match any key",
    );
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(issuer.rsa.key_id.clone());
    let forged = jsonwebtoken::encode(
        &header,
        &base,
        &EncodingKey::from_rsa_pem(stranger.private_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    assert_oauth_error(
        &sts(&fake, &forged).await,
        "invalid_grant",
        "signature is invalid",
    );
    let no_kid = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &base,
        &EncodingKey::from_rsa_pem(issuer.rsa.private_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    assert_oauth_error(&sts(&fake, &no_kid).await, "invalid_grant", "kid");
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(issuer.rsa.key_id.clone());
    let hs256 = jsonwebtoken::encode(&hs, &base, &EncodingKey::from_secret(b"k")).unwrap();
    assert_oauth_error(&sts(&fake, &hs256).await, "invalid_grant", "RS256 or ES256");
    // The fake's clock moved past the assertion: expired.
    let good = issuer.rs256(&base);
    fake.advance_clock(400);
    assert_oauth_error(&sts(&fake, &good).await, "invalid_grant", "expired");
}

#[tokio::test]
async fn private_issuer_uses_the_uploaded_jwks_and_apply_refuses_bad_configs() {
    let issuer = Issuer::start().await;
    // The provider's issuer is unreachable (nothing listens there); the
    // uploaded keys verify anyway.
    let unreachable = "https://issuer.invalid/oidc/";
    let mut claims = issuer.claims("org:org-acme");
    claims["iss"] = unreachable.into();
    let assertion = issuer.rs256(&claims);
    let private = GcpBootstrapRequest {
        jwks: Some(issuer.jwks.to_string()),
        ..request(unreachable)
    };
    let fake = GcpFake::new();
    fake.add_project(PROJECT, NUMBER);
    fake.apply_bundle(&gcp::render(&private).unwrap()).unwrap();
    account_token(&fake, &assertion).await;
    let public = GcpFake::new();
    public.add_project(PROJECT, NUMBER);
    public
        .apply_bundle(&gcp::render(&request(unreachable)).unwrap())
        .unwrap();
    assert_oauth_error(
        &sts(&public, &assertion).await,
        "invalid_grant",
        "Unable to retrieve",
    );

    // What the IAM API refuses, the fake refuses, changing nothing.
    let strict = GcpFake::new();
    strict.add_project(PROJECT, NUMBER);
    let loopback = gcp::render(&request(&issuer.url)).unwrap();
    assert!(
        strict
            .apply_bundle(&loopback)
            .unwrap_err()
            .to_string()
            .contains("HTTPS")
    );
    let other_number = GcpFake::new();
    other_number.add_project(PROJECT, "999");
    assert!(other_number.apply_bundle(&loopback).is_err());
    let mut config: Value = serde_json::from_str(&loopback.files[0].contents).unwrap();
    config["provider"]["attributeCondition"] = "assertion.sub.startsWith('org:')".into();
    fake.allow_loopback_issuers();
    let fresh = GcpFake::new();
    fresh.allow_loopback_issuers();
    fresh.add_project(PROJECT, NUMBER);
    assert!(
        fresh
            .world()
            .apply_config(&config)
            .unwrap_err()
            .to_string()
            .contains("attributeCondition")
    );
    assert!(fresh.world().pools.is_empty() && fresh.world().service_accounts.is_empty());
    // An existing account must exist.
    let named = gcp::render(&GcpBootstrapRequest {
        service_account_email: Some("someone@acme-prod.iam.gserviceaccount.com".into()),
        ..request(&issuer.url)
    })
    .unwrap();
    assert!(
        fresh
            .apply_bundle(&named)
            .unwrap_err()
            .to_string()
            .contains("does not exist")
    );
    fresh.add_service_account("someone@acme-prod.iam.gserviceaccount.com", PROJECT);
    fresh.apply_bundle(&named).unwrap();
}
