//! The Cloudflare fake on its own, request by request (no network: the
//! router is called directly): the envelope, user vs account tokens,
//! header-format errors, per-group permissions, zones per token, validity
//! windows, pagination and minting from the core's template links.

use alphaswarm_core::cloudflare::{CloudflareTemplate, TokenOwner};
use alphaswarm_fakes::cloudflare::policy::{self as groups, Effect};
use alphaswarm_fakes::cloudflare::{
    CloudflareFake, MintError, MintOptions, Owner, TokenFormat, TokenSpec,
};
use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;

async fn get(fake: &CloudflareFake, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = Request::get(format!("/client/v4{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = fake
        .router()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn bearer(fake: &CloudflareFake, path: &str, token: &str) -> (u16, Value) {
    get(fake, path, &[("authorization", &format!("Bearer {token}"))]).await
}

fn codes(body: &Value) -> Vec<u64> {
    let mut out = Vec::new();
    for e in body["errors"].as_array().unwrap() {
        out.push(e["code"].as_u64().unwrap());
        for c in e["error_chain"].as_array().into_iter().flatten() {
            out.push(c["code"].as_u64().unwrap());
        }
    }
    out
}

fn user_token(fake: &CloudflareFake, template: CloudflareTemplate) -> String {
    fake.mint_from_template(template, TokenOwner::User, None, MintOptions::default())
        .unwrap()
        .value
}

#[tokio::test]
async fn verify_follows_the_envelope_and_tells_owners_apart() {
    let fake = CloudflareFake::new();
    let account = fake.account_id();
    let user = fake
        .mint_from_template(
            CloudflareTemplate::DnsEdit,
            TokenOwner::User,
            None,
            MintOptions {
                expires_on: Some(OffsetDateTime::now_utc() + Duration::days(30)),
                format: TokenFormat::Scannable,
                ..MintOptions::default()
            },
        )
        .unwrap();
    assert!(user.value.starts_with("cfut_") && user.value.len() == 53);
    let (status, body) = bearer(&fake, "/user/tokens/verify", &user.value).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["errors"], json!([]));
    assert_eq!(body["messages"][0]["code"], 10000);
    assert_eq!(body["result"]["id"], user.id);
    assert_eq!(body["result"]["status"], "active");
    assert!(
        body["result"]["expires_on"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(body["result"].get("not_before").is_none(), "only when set");

    let owned = fake
        .mint_from_template(
            CloudflareTemplate::R2,
            TokenOwner::Account,
            Some(&account),
            MintOptions::default(),
        )
        .unwrap();
    // An account token at the user endpoint is "Invalid API Token".
    let (status, body) = bearer(&fake, "/user/tokens/verify", &owned.value).await;
    assert_eq!((status, codes(&body)), (401, vec![1000]));
    assert_eq!(body["success"], false);
    assert_eq!(body["result"], Value::Null);
    let path = format!("/accounts/{account}/tokens/verify");
    let (status, body) = bearer(&fake, &path, &owned.value).await;
    assert_eq!(
        (status, body["result"]["id"].as_str()),
        (200, Some(owned.id.as_str()))
    );
    // ...and a user token at an account's endpoint is too, as is another account.
    let (status, _) = bearer(&fake, &path, &user.value).await;
    assert_eq!(status, 401);
    let other = fake.add_account("Other");
    let (status, _) = bearer(
        &fake,
        &format!("/accounts/{other}/tokens/verify"),
        &owned.value,
    )
    .await;
    assert_eq!(status, 401);
    // Account tokens cannot list accounts.
    let (status, body) = bearer(&fake, "/accounts", &owned.value).await;
    assert_eq!((status, codes(&body)), (400, vec![1001]));
}

#[tokio::test]
async fn header_format_errors() {
    let fake = CloudflareFake::new();
    let token = user_token(&fake, CloudflareTemplate::Worker);
    let global = "c2547eb745079dac9320b638f5e225cf483cc";
    let email = "a@example.com".to_owned();
    // (request headers, status, error codes with their chain)
    type Case<'a> = (Vec<(&'a str, String)>, u16, Vec<u64>);
    let cases: Vec<Case> = vec![
        (
            vec![("authorization", format!("Bearer {global}"))],
            400,
            vec![6003, 6111],
        ),
        (
            vec![(
                "authorization",
                "Bearer cfk_0123456789012345678901234567890123456789abcd".to_owned(),
            )],
            400,
            vec![6003, 6111],
        ),
        (
            vec![("authorization", format!("Basic {token}"))],
            400,
            vec![6003, 6111],
        ),
        (
            vec![("authorization", "Bearer short".to_owned())],
            400,
            vec![6003, 6111],
        ),
        (
            vec![
                ("x-auth-key", token.clone()),
                ("x-auth-email", email.clone()),
            ],
            400,
            vec![6003, 6103],
        ),
        (
            vec![("x-auth-key", global.to_owned()), ("x-auth-email", email)],
            400,
            vec![1001],
        ),
        (vec![], 400, vec![1001]),
        (
            vec![("authorization", format!("Bearer {}", "A".repeat(40)))],
            401,
            vec![1000],
        ),
    ];
    for (headers, status, want) in cases {
        let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (got, body) = get(&fake, "/user/tokens/verify", &refs).await;
        assert_eq!((got, codes(&body)), (status, want), "{headers:?}");
    }
    // Off the verify endpoints, no credentials at all is 9106.
    let (status, body) = get(&fake, "/zones", &[]).await;
    assert_eq!((status, codes(&body)), (400, vec![9106]));
}

#[tokio::test]
async fn permissions_are_per_group_and_resource() {
    let fake = CloudflareFake::new();
    let account = fake.account_id();
    let worker = user_token(&fake, CloudflareTemplate::Worker);
    let dns = user_token(&fake, CloudflareTemplate::DnsEdit);
    let (status, _) = bearer(
        &fake,
        &format!("/accounts/{account}/workers/scripts"),
        &worker,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = bearer(&fake, &format!("/accounts/{account}/r2/buckets"), &worker).await;
    assert_eq!((status, codes(&body)), (403, vec![10000]));
    // Zones are listed only where the token holds Zone Read.
    let (_, body) = bearer(&fake, "/zones", &worker).await;
    assert_eq!(body["result"], json!([]));
    let (_, body) = bearer(&fake, "/zones", &dns).await;
    assert_eq!(body["result"].as_array().unwrap().len(), 3);
    let (_, body) = bearer(&fake, &format!("/zones?account.id={account}"), &dns).await;
    assert_eq!(body["result_info"]["total_count"], 2);
    let zone = body["result"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = bearer(&fake, &format!("/zones/{zone}/dns_records"), &dns).await;
    assert_eq!(status, 200);
    let (status, _) = bearer(&fake, &format!("/zones/{zone}/dns_records"), &worker).await;
    assert_eq!(status, 403);

    // Its own policies: readable with API Tokens Read, else 9109.
    let verified = bearer(&fake, "/user/tokens/verify", &dns).await.1;
    let id = verified["result"]["id"].as_str().unwrap();
    let (status, body) = bearer(&fake, &format!("/user/tokens/{id}"), &dns).await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> = body["result"]["policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["permission_groups"].as_array().unwrap())
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            groups::ZONE_READ,
            groups::DNS_WRITE,
            groups::API_TOKENS_READ
        ]
    );
    let blind = fake
        .mint_from_template(
            CloudflareTemplate::DnsEdit,
            TokenOwner::User,
            None,
            MintOptions {
                drop_keys: vec!["api_tokens".into()],
                ..MintOptions::default()
            },
        )
        .unwrap();
    let (status, body) = bearer(&fake, &format!("/user/tokens/{}", blind.id), &blind.value).await;
    assert_eq!((status, codes(&body)), (403, vec![9109]));

    // An explicit deny wins over an allow.
    let denied = fake.mint(TokenSpec {
        owner: Owner::User,
        name: "deny".into(),
        policies: vec![
            (
                Effect::Allow,
                vec![groups::R2_WRITE.into()],
                json!({"com.cloudflare.api.account.*": "*"}),
            ),
            (
                Effect::Deny,
                vec![groups::R2_WRITE.into()],
                json!({ format!("com.cloudflare.api.account.{account}"): "*" }),
            ),
        ],
        not_before: None,
        expires_on: None,
        format: TokenFormat::Legacy,
    });
    let (status, _) = bearer(
        &fake,
        &format!("/accounts/{account}/r2/buckets"),
        &denied.value,
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn validity_windows_and_lifecycle() {
    let fake = CloudflareFake::new();
    let later = fake
        .mint_from_template(
            CloudflareTemplate::DnsEdit,
            TokenOwner::User,
            None,
            MintOptions {
                not_before: Some(OffsetDateTime::now_utc() + Duration::days(1)),
                ..MintOptions::default()
            },
        )
        .unwrap();
    let (status, body) = bearer(&fake, "/user/tokens/verify", &later.value).await;
    assert_eq!(status, 200);
    assert!(body["result"]["not_before"].is_string());
    let (status, body) = bearer(&fake, "/zones", &later.value).await;
    assert_eq!((status, codes(&body)), (401, vec![1000]), "not usable yet");

    let token = user_token(&fake, CloudflareTemplate::DnsEdit);
    let id = bearer(&fake, "/user/tokens/verify", &token).await.1["result"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(fake.expire(&id));
    let (_, body) = bearer(&fake, "/user/tokens/verify", &token).await;
    assert_eq!(body["result"]["status"], "expired");
    let (status, _) = bearer(&fake, "/zones", &token).await;
    assert_eq!(status, 401);
    assert!(fake.revoke(&id));
    let (status, body) = bearer(&fake, "/user/tokens/verify", &token).await;
    assert_eq!((status, codes(&body)), (401, vec![1000]));
    assert!(!fake.revoke(&id));
}

#[tokio::test]
async fn lists_are_paged_and_requests_counted() {
    let fake = CloudflareFake::new();
    let account = fake.account_id();
    for i in 0..9 {
        fake.add_zone(&format!("extra{i}.example"), &account);
    }
    let token = user_token(&fake, CloudflareTemplate::DnsEdit);
    let before = fake.request_count();
    let (_, first) = bearer(&fake, "/zones?per_page=5&page=1", &token).await;
    let (_, third) = bearer(&fake, "/zones?per_page=5&page=3", &token).await;
    assert_eq!(first["result"].as_array().unwrap().len(), 5);
    assert_eq!(first["result_info"]["total_pages"], 3);
    assert_eq!(first["result_info"]["total_count"], 12);
    assert_eq!(third["result"].as_array().unwrap().len(), 2);
    assert_eq!(fake.request_count(), before + 2);
    let (status, body) = get(&fake, "/no/such/route", &[]).await;
    assert_eq!((status, codes(&body)), (404, vec![7003]));
    let recorded = fake.requests();
    assert_eq!(
        recorded.last().unwrap(),
        &("GET".to_owned(), "/client/v4/no/such/route".to_owned())
    );
}

#[test]
fn minting_follows_the_link_like_the_dashboard() {
    let fake = CloudflareFake::new();
    let unknown = "https://dash.cloudflare.com/profile/api-tokens?permissionGroupKeys=%5B%7B%22key%22%3A%22teleport%22%2C%22type%22%3A%22edit%22%7D%2C%7B%22key%22%3A%22dns%22%2C%22type%22%3A%22edit%22%7D%5D&accountId=*&zoneId=all&name=x";
    let minted = fake
        .mint_from_link(unknown, MintOptions::default())
        .unwrap();
    assert_eq!(minted.ignored_keys, ["teleport:edit"]);
    assert!(
        !format!("{minted:?}").contains(&minted.value),
        "Debug hides the value"
    );
    let token = fake.token(&minted.id).unwrap();
    assert_eq!(token.policies.len(), 1);
    assert_eq!(token.policies[0].group_ids, [groups::DNS_WRITE]);
    let account_form =
        "https://dash.cloudflare.com/?to=/:account/api-tokens&permissionGroupKeys=%5B%5D&name=x";
    assert_eq!(
        fake.mint_from_link(account_form, MintOptions::default()),
        Err(MintError::AccountRequired)
    );
    assert_eq!(
        fake.mint_from_link(
            "https://example.com/?permissionGroupKeys=%5B%5D",
            MintOptions::default()
        ),
        Err(MintError::NotATemplateLink)
    );
    let owned = fake
        .mint_from_template(
            CloudflareTemplate::Tunnel,
            TokenOwner::Account,
            Some(&fake.account_id()),
            MintOptions::default(),
        )
        .unwrap();
    assert_eq!(
        fake.token(&owned.id).unwrap().owner,
        Owner::Account(fake.account_id())
    );
}
