//! Planted canary secrets (the external-id secret, the integrations key,
//! the platform's AWS secret key and a session token) never appear in any
//! response body or any log line of the real binary, even at debug log level
//! and when pasted into requests. The binary's real AWS client talks to moto
//! (and, for IAM's simulation, the AWS fake mirroring it), so every step
//! really signs and calls.

mod common;
mod support;

use alphaswarm_core::{CloudKind, OrgId, external_id::derive_external_id};
use alphaswarm_proxy::store::FernetFileStore;
use common::*;
use reqwest::Method;
use serde_json::json;
use support::moto::{Moto, PARTNER_ACCOUNT, RoleSpec, baseline, trust_policy};

/// Sends requests to the binary and keeps every response body.
struct Calls<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    bodies: Vec<String>,
}

impl<'a> Calls<'a> {
    fn new(http: &'a reqwest::Client, base: &'a str) -> Self {
        Calls {
            http,
            base,
            bodies: Vec::new(),
        }
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        bearer: Option<&str>,
    ) -> u16 {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = bearer {
            request = request.bearer_auth(b);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        self.bodies.push(response.text().await.unwrap());
        status
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_secrets_never_leave_the_proxy() {
    let dir = temp_dir("canary");
    let secret_canary = "CANARY-extid-secret-7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c1e";
    let key_canary = FernetFileStore::generate_key();
    const ROLE: &str = "alphaswarm-broker-acme";
    let external_id = derive_external_id(
        secret_canary.as_bytes(),
        CloudKind::Aws,
        &OrgId::parse("acme").unwrap(),
    )
    .unwrap();
    let moto = Moto::start(&[RoleSpec {
        name: ROLE,
        trust_policy: trust_policy(PARTNER_ACCOUNT, Some(external_id.as_str())),
        permissions: baseline(),
    }])
    .await;
    let iam = moto.iam_mirror().await;
    let aws_secret_canary = moto.platform_secret_access_key.as_str();
    let mut env = common::binary_env(&dir, &key_canary, secret_canary);
    env.extend([
        ("ALPHASWARM_ADMIN_AWS_ENDPOINT_URL", moto.url.clone()),
        ("ALPHASWARM_ADMIN_AWS_IAM_ENDPOINT_URL", iam.url()),
        ("AWS_ACCESS_KEY_ID", moto.platform_access_key_id.clone()),
        ("AWS_SECRET_ACCESS_KEY", aws_secret_canary.to_owned()),
        ("RUST_LOG", "debug".to_owned()),
    ]);
    let proxy = BinaryProxy::spawn(&dir, "canary", &env);
    let (password, totp) = proxy.enrollment();
    let http = common::http_client();
    let token = proxy.stepped_up(&http, &password, &totp).await;
    let arn = Moto::role_arn(ROLE);
    let mut calls = Calls::new(&http, &proxy.base);
    let mut call =
        async |method: Method,
               path: &str,
               body: Option<serde_json::Value>,
               bearer: Option<&str>| { calls.send(method, path, body, bearer).await };
    let t = Some(token.as_str());
    assert_eq!(
        call(Method::POST, &step("acme", "bootstrap"), Some(json!({})), t).await,
        200
    );
    for s in [
        "validate-identity",
        "validate-permissions",
        "enumerate-resources",
        "connect",
    ] {
        assert_eq!(
            call(
                Method::POST,
                &step("acme", s),
                Some(json!({"role_arn": arn})),
                t
            )
            .await,
            200,
            "{s}"
        );
    }
    assert_eq!(
        call(Method::GET, "/admin/accounts/acme/integrations", None, t).await,
        200
    );
    assert_eq!(call(Method::GET, "/admin/audit/verify", None, t).await, 200);
    assert_eq!(call(Method::GET, "/auth/session", None, t).await, 200);
    // Secrets pasted into the wrong places are not echoed back.
    for canary in [
        secret_canary,
        key_canary.as_str(),
        aws_secret_canary,
        token.as_str(),
    ] {
        call(
            Method::POST,
            &step("acme", "connect"),
            Some(json!({"role_arn": canary})),
            t,
        )
        .await;
        call(
            Method::POST,
            &step("acme", "connect"),
            Some(json!({"role_arn": arn, "region": canary})),
            t,
        )
        .await;
        call(
            Method::POST,
            &step("acme", "connect"),
            Some(json!({"role_arn": [canary]})),
            t,
        )
        .await;
        call(
            Method::POST,
            &step("acme", "connect"),
            Some(json!({ canary: 1 })),
            t,
        )
        .await;
        call(
            Method::POST,
            "/auth/login",
            Some(json!({"username": canary, "password": canary})),
            None,
        )
        .await;
        call(
            Method::POST,
            "/auth/step-up",
            Some(json!({"code": canary})),
            t,
        )
        .await;
        call(Method::GET, "/auth/session", None, Some(canary)).await;
    }
    assert_eq!(
        call(Method::DELETE, "/admin/accounts/acme/cloud/aws", None, t).await,
        200
    );

    let bodies = calls.bodies;
    let logs = proxy.logs();
    assert!(
        logs.contains("wizard step"),
        "debug logs were captured: {logs}"
    );
    // Every file the proxy wrote (its database with WAL, keys, enrolment), as bytes.
    let files = all_files(&dir.join("state"));
    assert!(
        files.iter().any(|(p, _)| p.ends_with("alphaswarm.db")),
        "{:?}",
        files.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    let audit = files
        .iter()
        .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
        .collect::<String>();
    for (name, canary) in [
        ("external-id secret", secret_canary),
        ("integrations key", key_canary.as_str()),
        ("platform AWS secret key", aws_secret_canary),
        ("session token", token.as_str()),
    ] {
        for body in &bodies {
            assert!(!body.contains(canary), "{name} in a response body: {body}");
        }
        assert!(!logs.contains(canary), "{name} in the logs");
        assert!(
            !audit.contains(canary),
            "{name} in a state file (database, audit)"
        );
    }
    // Nor do the temporary credentials the proxy assumed (read back from moto).
    let issued: serde_json::Value = http
        .get(format!("{}/moto-api/data.json", moto.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let assumed = issued["sts"]["AssumedRole"].as_array().unwrap();
    assert_eq!(
        assumed.len(),
        4,
        "steps 3, 4, 4* and 5 each assumed the role once"
    );
    for role in assumed {
        for secret in ["secret_access_key", "session_token"] {
            let value = role[secret].as_str().unwrap();
            assert!(!logs.contains(value), "an assumed {secret} in the logs");
            assert!(
                bodies.iter().all(|b| !b.contains(value)),
                "an assumed {secret} in a body"
            );
        }
    }
    // A token's signature alone must not leak either.
    let signature = token.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature));
    assert_eq!(bodies.len(), 8 + 4 * 7 + 1);
    let simulated: Vec<u16> = iam
        .state()
        .calls()
        .iter()
        .filter(|c| c.action == "SimulatePrincipalPolicy")
        .map(|c| c.status)
        .collect();
    assert_eq!(simulated, [200], "step 4 really simulated");
}

/// Every file under `dir`, recursively, as bytes (logs, audit, state, store).
fn all_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

/// A Cloudflare token (the one secret the store keeps) and Global API keys
/// go through every step of the real binary at debug log level, also pasted
/// into the wrong fields: neither they nor their first or last eight
/// characters appear in a response, a log line, an audit row or any file
/// (the store file holds them encrypted only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudflare_tokens_never_leave_the_proxy() {
    use alphaswarm_core::cloudflare::{CloudflareTemplate, TokenOwner};
    use alphaswarm_fakes::cloudflare::{CloudflareFake, MintOptions};

    let dir = temp_dir("canary-cf");
    let key = FernetFileStore::generate_key();
    let cf = CloudflareFake::new().start().await.unwrap();
    let account = cf.fake.account_id();
    let mint = |owner, account: Option<&str>, options| {
        cf.fake
            .mint_from_template(CloudflareTemplate::DnsEdit, owner, account, options)
            .unwrap()
    };
    let user = mint(TokenOwner::User, None, MintOptions::default());
    let owned = mint(TokenOwner::Account, Some(&account), MintOptions::default());
    let lacking = mint(
        TokenOwner::User,
        None,
        MintOptions {
            drop_keys: vec!["dns".into()],
            ..MintOptions::default()
        },
    );
    let revoked = mint(TokenOwner::User, None, MintOptions::default());
    cf.fake.revoke(&revoked.id);
    let global_legacy = "c2547eb745079dac9320b638f5e225cf483cc";
    let global_scannable = "cfk_CANARYglobalKey0123456789abcdefghijklmnop12345678";
    let mut env = common::binary_env(&dir, &key, "CANARY-extid-secret-0123456789abcdef0123");
    env.extend([
        ("ALPHASWARM_ADMIN_CLOUDFLARE_ENDPOINT_URL", cf.api_url()),
        ("RUST_LOG", "debug".to_owned()),
    ]);
    let proxy = BinaryProxy::spawn(&dir, "canary", &env);
    let (password, totp) = proxy.enrollment();
    let http = common::http_client();
    let session = proxy.stepped_up(&http, &password, &totp).await;
    let mut calls = Calls::new(&http, &proxy.base);
    let mut call = async |method: Method, path: &str, body: Option<serde_json::Value>| {
        calls.send(method, path, body, Some(&session)).await
    };
    let step = |s: &str| format!("/admin/accounts/acme/cloud/cloudflare/{s}");
    let steps = [
        "validate-identity",
        "validate-permissions",
        "enumerate-resources",
        "connect",
    ];
    for (token, account_id) in [(&user.value, None), (&owned.value, Some(&account))] {
        for s in steps {
            let mut body =
                json!({"token": token, "account_id": account_id, "template": "dns_edit"});
            if s == "connect" {
                // The second token replaces the first's connection, confirmed.
                body["replace"] = json!(true);
            }
            assert_eq!(call(Method::POST, &step(s), Some(body)).await, 200, "{s}");
        }
    }
    assert_eq!(
        call(Method::GET, "/admin/accounts/acme/integrations", None).await,
        200
    );
    // Refusals: missing group, revoked, Global keys, and wrong places.
    assert_eq!(
        call(
            Method::POST,
            &step("connect"),
            Some(json!({"token": lacking.value, "template": "dns_edit", "replace": true}))
        )
        .await,
        422
    );
    assert_eq!(
        call(
            Method::POST,
            &step("validate-identity"),
            Some(json!({"token": revoked.value}))
        )
        .await,
        422
    );
    for secret in [global_legacy, global_scannable, user.value.as_str()] {
        for body in [
            json!({"token": secret}),
            json!({"token": "x", "account_id": secret}),
            json!({"token": user.value, "template": secret}),
            json!({"token": [secret]}),
            json!({ secret: secret }),
            json!({"token": format!("{secret} {secret}")}),
        ] {
            call(Method::POST, &step("validate-permissions"), Some(body)).await;
        }
    }
    assert_eq!(
        call(
            Method::DELETE,
            "/admin/accounts/acme/cloud/cloudflare",
            None
        )
        .await,
        200
    );

    let bodies = calls.bodies;
    let logs = proxy.logs();
    assert!(logs.contains("wizard step"), "debug logs were captured");
    let files = all_files(&dir);
    // The database holds the store and the audit trail (its WAL the latest writes).
    assert!(files.iter().any(|(p, _)| p.ends_with("alphaswarm.db")));
    for (name, secret) in [
        ("user token", user.value.as_str()),
        ("account token", owned.value.as_str()),
        ("token lacking a group", lacking.value.as_str()),
        ("revoked token", revoked.value.as_str()),
        ("Global API key", global_legacy),
        ("Global API key (cfk_)", global_scannable),
    ] {
        for needle in [secret, &secret[..8], &secret[secret.len() - 8..]] {
            for body in &bodies {
                assert!(!body.contains(needle), "{name} in a response: {body}");
            }
            assert!(!logs.contains(needle), "{name} in the logs");
            for (path, bytes) in &files {
                assert!(
                    !String::from_utf8_lossy(bytes).contains(needle),
                    "{name} in {}",
                    path.display()
                );
            }
        }
    }
    assert_eq!(bodies.len(), 8 + 1 + 2 + 3 * 6 + 1);
}
