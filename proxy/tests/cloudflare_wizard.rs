//! The Cloudflare wizard over HTTP against the loopback Cloudflare fake
//! (fakes/ crate): every template end to end, the Global API key refused
//! before any call, account-owned tokens, validity windows, per-group
//! verdicts (granted / missing / could not be verified), re-connect,
//! step-up gating and audit rows.

mod common;

use alphaswarm_core::cloudflare::{CloudflareTemplate, TokenOwner};
use alphaswarm_fakes::cloudflare::policy::{self as groups, Effect};
use alphaswarm_fakes::cloudflare::{
    CloudflareFake, MintOptions, MintedToken, Owner, RunningCloudflare, TokenFormat, TokenSpec,
};
use alphaswarm_fakes::traffic::Fault;
use alphaswarm_proxy::config::CLOUDFLARE_ENDPOINT_URL;
use alphaswarm_proxy::store::IntegrationStore;
use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

struct Cf {
    proxy: TestProxy,
    cf: RunningCloudflare,
    token: String,
}

impl Cf {
    async fn start(name: &str) -> Cf {
        let cf = CloudflareFake::new().start().await.unwrap();
        let url = cf.api_url();
        let proxy = TestProxy::start_with(name, &[(CLOUDFLARE_ENDPOINT_URL, url.as_str())]).await;
        let token = proxy.stepped_up().await;
        Cf { proxy, cf, token }
    }

    fn fake(&self) -> &CloudflareFake {
        &self.cf.fake
    }

    async fn step(&self, org: &str, step: &str, body: Value) -> (u16, Value) {
        self.proxy
            .post(
                &format!("/admin/accounts/{org}/cloud/cloudflare/{step}"),
                &self.token,
                body,
            )
            .await
    }

    async fn list(&self, org: &str) -> Vec<Value> {
        self.proxy.integrations(&self.token, org).await
    }

    async fn health(&self, org: &str) -> (u16, Value) {
        self.proxy
            .post(
                &format!("/admin/accounts/{org}/integrations/cloud_cloudflare/health"),
                &self.token,
                json!({}),
            )
            .await
    }

    fn mint(&self, template: CloudflareTemplate, options: MintOptions) -> MintedToken {
        self.fake()
            .mint_from_template(template, TokenOwner::User, None, options)
            .unwrap()
    }
}

fn body(token: &str, template: CloudflareTemplate) -> Value {
    json!({"token": token, "template": template.as_str()})
}

/// A connect body that confirms replacing the org's existing connection.
fn replacing(mut body: Value) -> Value {
    body["replace"] = json!(true);
    body
}

fn in_days(days: i64) -> Option<OffsetDateTime> {
    Some(OffsetDateTime::now_utc() + Duration::days(days))
}

fn statuses(report: &Value) -> Vec<(String, String)> {
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap().to_owned(),
                g["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_template_connects_end_to_end() {
    let cf = Cf::start("cf-templates").await;
    let session = cf.proxy.login().await;
    for template in CloudflareTemplate::ALL {
        let org = format!("org-{}", template.as_str().replace('_', "-"));
        // Step 2 needs a session only and calls no cloud.
        let before = cf.fake().request_count();
        let (status, boot) = cf
            .proxy
            .post(
                &format!("/admin/accounts/{org}/cloud/cloudflare/bootstrap"),
                &session,
                json!({"template": template.as_str()}),
            )
            .await;
        assert_eq!(status, 200, "{boot}");
        assert_eq!(
            cf.fake().request_count(),
            before,
            "bootstrap calls no cloud"
        );
        let link = boot["bundle"]["links"][0]["url"].as_str().unwrap();
        let baseline: Vec<&str> = template.baseline().iter().map(|g| g.id).collect();
        let listed: Vec<&str> = boot["permission_groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["baseline"] == true)
            .map(|g| g["id"].as_str().unwrap())
            .collect();
        assert_eq!(listed, baseline);

        // The customer opens the rendered link and creates the token.
        let minted = cf
            .fake()
            .mint_from_link(
                link,
                MintOptions {
                    expires_on: in_days(60),
                    ..MintOptions::default()
                },
            )
            .unwrap();
        assert!(minted.ignored_keys.is_empty(), "{:?}", minted.ignored_keys);

        let (status, identity) = cf
            .step(&org, "validate-identity", json!({"token": minted.value}))
            .await;
        assert_eq!(status, 200, "{identity}");
        assert_eq!(identity["token_id"], minted.id);
        assert_eq!(identity["owner"], "user");
        assert_eq!(identity["verified_at"], "/user/tokens/verify");
        assert_eq!(identity["rotation"]["state"], "ok");

        let (status, report) = cf
            .step(&org, "validate-permissions", body(&minted.value, template))
            .await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["evidence"], "token_policies", "{report}");
        assert_eq!(report["satisfied"], true, "{report}");
        assert_eq!(report["missing"], json!([]));
        let ids: Vec<&str> = report["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, baseline, "matched by id");

        let (status, resources) = cf
            .step(&org, "enumerate-resources", json!({"token": minted.value}))
            .await;
        assert_eq!(status, 200, "{resources}");
        let zones = resources["zones"].as_array().unwrap();
        if template == CloudflareTemplate::DnsEdit {
            assert_eq!(zones.len(), 3, "Zone Read on every zone: {resources}");
            assert!(
                zones
                    .iter()
                    .any(|z| z["name"] == "acme.example" && z["account_name"] == "Acme Production")
            );
        } else {
            assert!(zones.is_empty(), "no Zone Read, no zones: {resources}");
            assert!(!resources["notes"].as_array().unwrap().is_empty());
        }
        assert_eq!(resources["accounts"].as_array().unwrap().len(), 2);

        let (status, connected) = cf
            .step(&org, "connect", body(&minted.value, template))
            .await;
        assert_eq!(status, 200, "{connected}");
        let metadata = &connected["integration"]["metadata"];
        assert_eq!(
            connected["integration"]["credential_key"],
            format!("cloud_cloudflare:org:{org}")
        );
        assert_eq!(metadata["token_id"], minted.id);
        assert_eq!(metadata["template"], template.as_str());
        assert_eq!(metadata["owner"], "user");
        assert!(metadata["expires_on"].as_str().unwrap().ends_with('Z'));
        assert!(
            metadata.get("token_masked").is_none(),
            "no form of the token is listed"
        );
        assert_eq!(connected["integration"]["rotation"]["state"], "ok");
        assert!(!connected.to_string().contains(&minted.value));

        let listed = cf.list(&org).await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["rotation"]["basis"], "expires_on");
        assert_eq!(
            listed[0]["rotation"]["due_at"], metadata["expires_on"],
            "the list and the connect agree"
        );
    }
}

#[tokio::test]
async fn a_global_api_key_is_refused_in_every_step_without_any_call() {
    let cf = Cf::start("cf-global").await;
    for key in [
        "c2547eb745079dac9320b638f5e225cf483cc",
        "cfk_Zq4hP0sXvB7nL2mR9tW6yK1cJ8dF3gH5aE0uI7oQ4e2b91cd",
    ] {
        for step in [
            "validate-identity",
            "validate-permissions",
            "enumerate-resources",
            "connect",
        ] {
            let (status, err) = cf
                .step("acme", step, body(key, CloudflareTemplate::DnsEdit))
                .await;
            assert_eq!(
                (status, err["code"].as_str()),
                (400, Some("global_api_key_refused")),
                "{step}: {err}"
            );
            assert_eq!(err["field"], "token");
            assert!(err["hint"].as_str().unwrap().contains("scoped"));
            let text = err.to_string();
            assert!(
                !text.contains(key) && !text.contains(&key[..8]),
                "never echoed: {text}"
            );
        }
    }
    assert_eq!(
        cf.fake().request_count(),
        0,
        "nothing was sent to Cloudflare"
    );
    let rows = cf.proxy.audit_rows().await;
    assert_eq!(rows.len(), 16, "pending + failed for each of 8 refusals");
    assert!(
        rows.iter()
            .filter(|r| r["phase"] == "failed")
            .all(|r| r["error_code"] == "global_api_key_refused" && r["cloud"] == "cloudflare")
    );
}

#[tokio::test]
async fn account_owned_tokens_are_verified_at_their_account() {
    let cf = Cf::start("cf-account").await;
    let account = cf.fake().account_id();
    for format in [TokenFormat::Scannable, TokenFormat::Legacy] {
        let minted = cf
            .fake()
            .mint_from_template(
                CloudflareTemplate::DnsEdit,
                TokenOwner::Account,
                Some(&account),
                MintOptions {
                    format,
                    ..MintOptions::default()
                },
            )
            .unwrap();
        if format == TokenFormat::Scannable {
            assert!(minted.value.starts_with("cfat_"));
            let before = cf.fake().request_count();
            let (status, err) = cf
                .step("acme", "validate-identity", json!({"token": minted.value}))
                .await;
            assert_eq!(
                (status, err["code"].as_str()),
                (400, Some("account_id_required"))
            );
            assert_eq!(err["field"], "account_id");
            assert_eq!(cf.fake().request_count(), before);
        } else {
            // Without the account id the user endpoint's 1000 is all there is.
            let (status, err) = cf
                .step("acme", "validate-identity", json!({"token": minted.value}))
                .await;
            assert_eq!(
                (status, err["code"].as_str()),
                (422, Some("cloudflare_invalid_token"))
            );
            assert!(err["hint"].as_str().unwrap().contains("account id"));
        }
        let requests_before = cf.fake().requests().len();
        let with_account = json!({"token": minted.value, "account_id": account.to_uppercase(), "template": "dns_edit"});
        let (status, identity) = cf
            .step("acme", "validate-identity", with_account.clone())
            .await;
        assert_eq!(status, 200, "{identity}");
        assert_eq!(identity["owner"], "account");
        assert_eq!(identity["account_id"], account);
        assert_eq!(
            identity["verified_at"],
            format!("/accounts/{account}/tokens/verify")
        );
        let paths: Vec<String> = cf.fake().requests()[requests_before..]
            .iter()
            .map(|(_, p)| p.clone())
            .collect();
        let account_verify = format!("/client/v4/accounts/{account}/tokens/verify");
        match format {
            TokenFormat::Scannable => assert_eq!(paths, [account_verify]),
            TokenFormat::Legacy => {
                assert_eq!(
                    paths,
                    ["/client/v4/user/tokens/verify".to_owned(), account_verify]
                );
            }
        }

        let (status, report) = cf
            .step("acme", "validate-permissions", with_account.clone())
            .await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(
            (report["evidence"].as_str(), report["satisfied"].as_bool()),
            (Some("token_policies"), Some(true)),
            "{report}"
        );
        let (status, resources) = cf
            .step("acme", "enumerate-resources", with_account.clone())
            .await;
        assert_eq!(status, 200, "{resources}");
        assert_eq!(
            resources["zones"].as_array().unwrap().len(),
            2,
            "only its own account's zones"
        );
        assert_eq!(
            resources["accounts"],
            json!([{"id": account, "name": null}])
        );
        let (status, connected) = cf.step("acme", "connect", replacing(with_account)).await;
        assert_eq!(status, 200, "{connected}");
        assert_eq!(connected["integration"]["metadata"]["owner"], "account");
        assert_eq!(connected["integration"]["metadata"]["account_id"], account);
    }
    // A user token given an account id stays a user token.
    let user = cf.mint(CloudflareTemplate::R2, MintOptions::default());
    let (status, identity) = cf
        .step(
            "acme",
            "validate-identity",
            json!({"token": user.value, "account_id": account}),
        )
        .await;
    assert_eq!((status, identity["owner"].as_str()), (200, Some("user")));
    // Account-owned bootstrap renders the account form of the link.
    let (status, boot) = cf
        .proxy
        .post(
            "/admin/accounts/acme/cloud/cloudflare/bootstrap",
            &cf.token,
            json!({"template": "tunnel", "token_owner": "account"}),
        )
        .await;
    assert_eq!(
        (status, boot["field"].as_str()),
        (400, Some("account_id")),
        "{boot}"
    );
}

#[tokio::test]
async fn tokens_outside_their_validity_window_are_refused() {
    let cf = Cf::start("cf-window").await;
    let fake = cf.fake();
    let past = cf.mint(
        CloudflareTemplate::Worker,
        MintOptions {
            expires_on: in_days(-2),
            ..MintOptions::default()
        },
    );
    let future = cf.mint(
        CloudflareTemplate::Worker,
        MintOptions {
            not_before: in_days(3),
            ..MintOptions::default()
        },
    );
    let expired = cf.mint(CloudflareTemplate::Worker, MintOptions::default());
    fake.expire(&expired.id);
    let disabled = cf.mint(CloudflareTemplate::Worker, MintOptions::default());
    fake.disable(&disabled.id);
    let revoked = cf.mint(CloudflareTemplate::Worker, MintOptions::default());
    fake.revoke(&revoked.id);
    for (token, code, status) in [
        (&past, "token_expired", 422),
        (&future, "token_not_yet_valid", 422),
        (&expired, "token_expired", 422),
        (&disabled, "token_disabled", 422),
        (&revoked, "cloudflare_invalid_token", 422),
    ] {
        for step in ["validate-identity", "connect"] {
            let (got, err) = cf
                .step("acme", step, body(&token.value, CloudflareTemplate::Worker))
                .await;
            assert_eq!(
                (got, err["code"].as_str()),
                (status, Some(code)),
                "{step}: {err}"
            );
            assert_eq!(err["field"], "token");
            assert!(err["audit_run_id"].is_string());
        }
    }
    let (_, err) = cf
        .step("acme", "validate-identity", json!({"token": future.value}))
        .await;
    let start = (OffsetDateTime::now_utc() + Duration::days(3))
        .date()
        .to_string();
    assert!(err["message"].as_str().unwrap().contains(&start), "{err}");
    assert!(cf.list("acme").await.is_empty(), "nothing was stored");
}

#[tokio::test]
async fn a_missing_group_is_red_with_the_dashboard_edit_then_green() {
    let cf = Cf::start("cf-missing").await;
    let lacking = cf.mint(
        CloudflareTemplate::DnsEdit,
        MintOptions {
            drop_keys: vec!["dns".into()],
            ..MintOptions::default()
        },
    );
    let (status, report) = cf
        .step(
            "acme",
            "validate-permissions",
            body(&lacking.value, CloudflareTemplate::DnsEdit),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        statuses(&report),
        [
            ("Zone Read".to_owned(), "granted".to_owned()),
            ("DNS Write".to_owned(), "missing".to_owned())
        ]
    );
    assert_eq!(report["satisfied"], false);
    let fix = report["groups"][1]["fix"].as_str().unwrap();
    assert!(
        fix.contains("My Profile > API Tokens")
            && fix.contains("Zone > DNS > Edit")
            && fix.contains("AlphaSwarm __platform__ dns_edit"),
        "{fix}"
    );
    let (status, err) = cf
        .step(
            "acme",
            "connect",
            body(&lacking.value, CloudflareTemplate::DnsEdit),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (422, Some("permissions_missing")),
        "{err}"
    );
    assert!(err["message"].as_str().unwrap().contains("DNS Write"));
    assert!(cf.list("acme").await.is_empty());

    // A token made from the full template is green, and connects.
    let full = cf.mint(CloudflareTemplate::DnsEdit, MintOptions::default());
    let (_, report) = cf
        .step(
            "acme",
            "validate-permissions",
            body(&full.value, CloudflareTemplate::DnsEdit),
        )
        .await;
    assert_eq!(report["satisfied"], true, "{report}");
    assert!(statuses(&report).iter().all(|(_, s)| s == "granted"));
    // The dashboard edit on the first token turns it green too (same value).
    cf.fake().add_group(&lacking.id, groups::DNS_WRITE);
    let (_, report) = cf
        .step(
            "acme",
            "validate-permissions",
            body(&lacking.value, CloudflareTemplate::DnsEdit),
        )
        .await;
    assert_eq!(report["satisfied"], true, "{report}");
    // A grant for another account only does not count.
    let other = cf.fake().add_account("Someone Else");
    let elsewhere = cf.fake().mint(TokenSpec {
        owner: Owner::User,
        name: "elsewhere".into(),
        policies: vec![
            (
                Effect::Allow,
                vec![groups::R2_WRITE.into()],
                json!({ format!("com.cloudflare.api.account.{other}"): "*" }),
            ),
            (
                Effect::Allow,
                vec![groups::API_TOKENS_READ.into()],
                json!({ format!("com.cloudflare.api.user.{}", cf.fake().user_tag()): "*" }),
            ),
        ],
        not_before: None,
        expires_on: None,
        format: TokenFormat::Legacy,
    });
    let (_, report) = cf
        .step(
            "acme",
            "validate-permissions",
            json!({"token": elsewhere.value, "template": "r2", "account_id": cf.fake().account_id()}),
        )
        .await;
    assert_eq!(
        statuses(&report),
        [("Workers R2 Storage Write".to_owned(), "missing".to_owned())],
        "{report}"
    );
}

#[tokio::test]
async fn without_self_check_groups_are_probed_and_never_green_on_a_guess() {
    let cf = Cf::start("cf-probe").await;
    let fake = cf.fake();
    let probe_only = |template| {
        fake.mint_from_template(
            template,
            TokenOwner::User,
            None,
            MintOptions {
                drop_keys: vec!["api_tokens".into()],
                ..MintOptions::default()
            },
        )
        .unwrap()
    };
    let dns = probe_only(CloudflareTemplate::DnsEdit);
    let (status, report) = cf
        .step(
            "acme",
            "validate-permissions",
            body(&dns.value, CloudflareTemplate::DnsEdit),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["evidence"], "probe");
    assert_eq!(report["self_check"]["readable"], false);
    assert_eq!(
        statuses(&report),
        [
            ("Zone Read".to_owned(), "granted".to_owned()),
            ("DNS Write".to_owned(), "unverified".to_owned())
        ],
        "a read probe proves Zone Read, never DNS Write"
    );
    assert_eq!(report["satisfied"], false);
    assert!(
        report["groups"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("User > API Tokens > Read")
    );
    assert!(report["groups"][1]["fix"].is_null());
    // Unverified is not missing: connect accepts it.
    let (status, connected) = cf
        .step(
            "acme",
            "connect",
            body(&dns.value, CloudflareTemplate::DnsEdit),
        )
        .await;
    assert_eq!(status, 200, "{connected}");

    for template in [
        CloudflareTemplate::Tunnel,
        CloudflareTemplate::Access,
        CloudflareTemplate::Worker,
        CloudflareTemplate::R2,
    ] {
        let token = probe_only(template);
        let (_, report) = cf
            .step("acme", "validate-permissions", body(&token.value, template))
            .await;
        assert_eq!(
            statuses(&report)[0].1,
            "unverified",
            "{template:?}: {report}"
        );
        // The same token probed for another template's group: refused, so missing.
        let other = if template == CloudflareTemplate::R2 {
            CloudflareTemplate::Worker
        } else {
            CloudflareTemplate::R2
        };
        let (_, report) = cf
            .step("acme", "validate-permissions", body(&token.value, other))
            .await;
        assert_eq!(
            statuses(&report)[0].1,
            "missing",
            "{template:?} as {other:?}: {report}"
        );
        assert!(report["groups"][0]["fix"].is_string());
    }
}

#[tokio::test]
async fn renamed_groups_match_by_id() {
    let cf = Cf::start("cf-names").await;
    cf.fake().use_former_group_names(true);
    let token = cf.mint(CloudflareTemplate::Tunnel, MintOptions::default());
    let (_, report) = cf
        .step(
            "acme",
            "validate-permissions",
            body(&token.value, CloudflareTemplate::Tunnel),
        )
        .await;
    assert_eq!(report["satisfied"], true, "{report}");
    assert_eq!(report["groups"][0]["name"], "Cloudflare Tunnel Write");
    assert_eq!(report["groups"][0]["reported_name"], "Argo Tunnel Write");
}

#[tokio::test]
async fn reconnecting_replaces_the_stored_token_in_place() {
    let cf = Cf::start("cf-replace").await;
    let first = cf.mint(CloudflareTemplate::R2, MintOptions::default());
    let second = cf.mint(
        CloudflareTemplate::R2,
        MintOptions {
            expires_on: in_days(10),
            ..MintOptions::default()
        },
    );
    for token in [&first, &second] {
        let (status, body) = cf
            .step(
                "acme",
                "connect",
                replacing(body(&token.value, CloudflareTemplate::R2)),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let listed = cf.list("acme").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["metadata"]["token_id"], second.id);
    assert_eq!(
        listed[0]["rotation"]["state"], "due_soon",
        "10 days left is amber"
    );

    let raw = binary_database_bytes(&cf.proxy.dir);
    assert!(
        !raw.contains(&first.value) && !raw.contains(&second.value),
        "encrypted at rest"
    );
    let store = cf.proxy.store().await;
    assert_eq!(store.count().await.unwrap(), 1);
    let record = store
        .get("cloud_cloudflare:org:acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.secrets["token"], second.value);
    assert_eq!(record.secrets.len(), 1, "the old token is gone");
    assert!(record.sensitive.is_empty());
    assert!(
        !format!("{record:?}").contains(&second.value),
        "Debug never shows it"
    );

    let (status, gone) = cf
        .proxy
        .send(
            Method::DELETE,
            "/admin/accounts/acme/cloud/cloudflare",
            Some(&cf.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone["removed"], true);
    let cleanup = gone["vendor_cleanup"][0].as_str().unwrap();
    assert!(
        cleanup.contains(&second.id) && cleanup.contains("My Profile > API Tokens"),
        "{cleanup}"
    );
    assert!(cf.list("acme").await.is_empty());
}

#[tokio::test]
async fn cloudflare_failures_are_classified() {
    let cf = Cf::start("cf-errors").await;
    // Printable but not a token: Cloudflare's header format check (6003/6111).
    let (status, err) = cf
        .step("acme", "validate-identity", json!({"token": "not!a!token"}))
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (422, Some("cloudflare_token_format")),
        "{err}"
    );
    let (status, err) = cf
        .step(
            "acme",
            "validate-permissions",
            json!({"token": "x".repeat(40)}),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str(), err["field"].as_str()),
        (400, Some("invalid_body"), Some("template")),
        "{err}"
    );
    let (status, err) = cf
        .step(
            "acme",
            "validate-identity",
            json!({"token": "x".repeat(40), "account_id": "nope"}),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("invalid_cloudflare_account_id")),
        "{err}"
    );
    let (status, err) = cf
        .step(
            "acme",
            "validate-identity",
            json!({"token": "x".repeat(40), "extra": 1}),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("invalid_body")),
        "{err}"
    );

    // Cloudflare gone: 502 with a hint, and the token still not echoed.
    let token = cf.mint(CloudflareTemplate::Worker, MintOptions::default());
    let Cf {
        proxy,
        cf: running,
        token: session,
    } = cf;
    drop(running);
    let (status, err) = proxy
        .post(
            "/admin/accounts/acme/cloud/cloudflare/validate-identity",
            &session,
            json!({"token": token.value}),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (502, Some("cloudflare_unreachable")),
        "{err}"
    );
    assert!(!err.to_string().contains(&token.value));
}

#[tokio::test]
async fn steps_need_a_fresh_step_up_and_write_audit_rows() {
    let cf = Cf::start("cf-gating").await;
    let token = cf.mint(CloudflareTemplate::DnsEdit, MintOptions::default());
    let login_only = cf.proxy.login().await;
    let stale = cf
        .proxy
        .forge("admin:cluster", &["pwd", "otp", "mfa"], 301, 600);
    let mut routes: Vec<(Method, String)> = [
        "validate-identity",
        "validate-permissions",
        "enumerate-resources",
        "connect",
    ]
    .iter()
    .map(|s| {
        (
            Method::POST,
            format!("/admin/accounts/acme/cloud/cloudflare/{s}"),
        )
    })
    .collect();
    routes.push((
        Method::DELETE,
        "/admin/accounts/acme/cloud/cloudflare".into(),
    ));
    for (method, path) in &routes {
        for (what, session, want) in [
            ("none", None, (401, "unauthenticated")),
            (
                "login only",
                Some(login_only.as_str()),
                (403, "step_up_required"),
            ),
            ("stale", Some(stale.as_str()), (403, "step_up_required")),
        ] {
            let (status, err) = cf
                .proxy
                .send(
                    method.clone(),
                    path,
                    session,
                    Some(body(&token.value, CloudflareTemplate::DnsEdit)),
                )
                .await;
            assert_eq!(
                (status, err["code"].as_str().unwrap_or_default()),
                want,
                "{method} {path} {what}"
            );
        }
    }
    assert_eq!(cf.fake().request_count(), 0, "no call before step-up");
    assert!(
        cf.proxy.audit_rows().await.is_empty(),
        "no audit row before step-up"
    );

    for step in [
        "validate-identity",
        "validate-permissions",
        "enumerate-resources",
        "connect",
    ] {
        let (status, reply) = cf
            .step(
                "acme",
                step,
                body(&token.value, CloudflareTemplate::DnsEdit),
            )
            .await;
        assert_eq!(status, 200, "{step}: {reply}");
    }
    let rows = cf.proxy.audit_rows().await;
    let steps: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["step"].as_str().unwrap(), r["phase"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("validate_identity", "pending"),
            ("validate_identity", "succeeded"),
            ("validate_permissions", "pending"),
            ("validate_permissions", "succeeded"),
            ("enumerate_resources", "pending"),
            ("enumerate_resources", "succeeded"),
            ("connect", "pending"),
            ("connect", "succeeded"),
        ]
    );
    assert!(
        rows.iter()
            .all(|r| r["cloud"] == "cloudflare" && r["org_id"] == "acme")
    );
    let audit: String = rows.iter().map(Value::to_string).collect();
    assert!(!audit.contains(&token.value) && !audit.contains(&token.value[..8]));
}

#[tokio::test]
async fn health_re_verifies_the_stored_token_and_its_groups() {
    let cf = Cf::start("cf-health").await;
    let connect = async |token: &MintedToken| {
        let (status, body) = cf
            .step(
                "acme",
                "connect",
                replacing(body(&token.value, CloudflareTemplate::DnsEdit)),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    };
    let verdict = async || {
        let (status, body) = cf.health("acme").await;
        assert_eq!(status, 200, "{body}");
        assert!(body["integration"]["rotation"].is_object(), "{body}");
        (
            body["health"]["status"].as_str().unwrap().to_owned(),
            body["health"]["error"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };
    let fresh = cf.mint(
        CloudflareTemplate::DnsEdit,
        MintOptions {
            expires_on: in_days(60),
            ..MintOptions::default()
        },
    );
    connect(&fresh).await;
    assert_eq!(verdict().await, ("healthy".to_owned(), String::new()));
    // The template's group removed in the dashboard: failed, with the fix.
    cf.fake().remove_group(&fresh.id, groups::DNS_WRITE);
    assert_eq!(
        verdict().await,
        ("failed".to_owned(), "permissions_missing".to_owned())
    );
    cf.fake().add_group(&fresh.id, groups::DNS_WRITE);
    assert_eq!(verdict().await.0, "healthy");
    // Cloudflare down or throttling: inconclusive, not failed.
    cf.fake()
        .traffic()
        .set_outage(Some(Fault::Unavailable { status: 503 }));
    assert_eq!(
        verdict().await,
        ("degraded".to_owned(), "cloudflare_unavailable".to_owned())
    );
    cf.fake().traffic().set_outage(None);
    cf.fake().traffic().inject(
        Fault::RateLimited {
            retry_after: std::time::Duration::from_secs(30),
        },
        1,
    );
    assert_eq!(
        verdict().await,
        ("degraded".to_owned(), "cloudflare_throttled".to_owned())
    );
    cf.fake().expire(&fresh.id);
    assert_eq!(
        verdict().await,
        ("failed".to_owned(), "token_expired".to_owned())
    );
    cf.fake().revoke(&fresh.id);
    assert_eq!(
        verdict().await,
        ("failed".to_owned(), "cloudflare_invalid_token".to_owned())
    );

    // A working token close to its expiry is amber: degraded, with the date.
    let expiring = cf.mint(
        CloudflareTemplate::DnsEdit,
        MintOptions {
            expires_on: in_days(5),
            ..MintOptions::default()
        },
    );
    connect(&expiring).await;
    assert_eq!(
        verdict().await,
        ("degraded".to_owned(), "token_expiring_soon".to_owned())
    );
    let listed = cf.list("acme").await;
    assert_eq!(listed[0]["last_health_status"], "degraded");
    assert_eq!(listed[0]["rotation"]["state"], "due_soon");
    assert!(!listed[0].to_string().contains(&expiring.value));
}
