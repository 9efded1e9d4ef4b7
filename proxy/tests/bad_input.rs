//! Hostile or malformed input gets a structured 4xx, never a 5xx, and the
//! body is always `{code, message, hint}`.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn malformed_bodies_and_paths_are_structured_4xx() {
    let proxy = TestProxy::start("badinput").await;
    let token = proxy.stepped_up().await;
    let long = "a".repeat(5000);
    let bodies: Vec<Option<&str>> = vec![
        None,
        Some(""),
        Some("{"),
        Some("[]"),
        Some("null"),
        Some("\"role_arn\""),
        Some("{\"role_arn\": 5}"),
        Some("{\"role_arn\": null}"),
        Some("{\"role_arn\": \"arn:aws:iam::12345:role/x\"}"),
        Some("{\"role_arn\": \"arn:aws:iam::123456789012:user/x\"}"),
        Some("{\"role_arn\": \"arn:aws:iam::123456789012:role/a b\"}"),
        Some("{\"role_arn\": \"arn:aws:iam::123456789012:role/x\", \"region\": \"mars-1\"}"),
        Some("{\"role_arn\": \"arn:aws:iam::123456789012:role/x\", \"extra\": true}"),
        Some("{\"role_arn\": \"\\u0000\"}"),
        Some("{\"role_arn\": \"$(rm -rf /)\"}"),
    ];
    let paths = [
        step("acme", "validate-identity"),
        step("acme", "connect"),
        step("acme", "enumerate-resources"),
        step("acme", "bootstrap"),
    ];
    for path in &paths {
        for body in &bodies {
            let mut request = proxy.http.post(proxy.url(path)).bearer_auth(&token);
            if let Some(body) = body {
                request = request
                    .header("content-type", "application/json")
                    .body(body.to_string());
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            // Only bootstrap accepts a body without role_arn, and only an
            // empty one (every bootstrap field is optional); nothing here
            // reaches AWS (checked below).
            if path.ends_with("bootstrap") && body.is_none_or(str::is_empty) {
                assert_eq!(status, 200, "{path} {body:?}: {text}");
                continue;
            }
            assert!(
                (400..500).contains(&status),
                "{path} {body:?} gave {status}: {text}"
            );
            let parsed: Value =
                serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
            assert!(
                parsed["code"].is_string()
                    && parsed["message"].is_string()
                    && parsed["hint"].is_string(),
                "{text}"
            );
        }
    }
    let long_arn = format!("{{\"role_arn\": \"{long}\"}}");
    let response = proxy
        .http
        .post(proxy.url(&step("acme", "connect")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(long_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);

    // Bootstrap's body is as strict as every step's (API.md): an object
    // with known fields of the right type, nothing else.
    for (body, field) in [
        ("[]", None),
        ("null", None),
        ("5", None),
        ("\"us-east-1\"", None),
        // serde would read these as the struct's fields, in order.
        ("[\"us-east-1\", null, []]", None),
        ("{\"role_arn\": 5}", Some("role_arn")),
        ("{\"region\": 5}", None),
        ("{\"organizational_unit_ids\": \"ou-ab12-cd34ef56\"}", None),
    ] {
        let response = proxy
            .http
            .post(proxy.url(&step("acme", "bootstrap")))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let parsed: Value = response.json().await.unwrap();
        assert_eq!(
            (status, parsed["code"].as_str(), parsed["field"].as_str()),
            (400, Some("invalid_body"), field),
            "bootstrap {body}: {parsed}"
        );
    }
    let (status, body) = proxy
        .post(&step("acme", "bootstrap"), &token, json!({}))
        .await;
    assert_eq!(
        status, 200,
        "an empty object is a valid bootstrap body: {body}"
    );
    // The same array trick on a step never reaches AWS either.
    let (status, body) = proxy
        .post(
            &step("acme", "validate-identity"),
            &token,
            json!(["arn:aws:iam::123456789012:role/x", null]),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_body")),
        "{body}"
    );

    // Missing field names the field.
    let (status, body) = proxy
        .post(&step("acme", "connect"), &token, json!({}))
        .await;
    assert_eq!(
        (status, body["code"].as_str(), body["field"].as_str()),
        (400, Some("invalid_body"), Some("role_arn"))
    );
    // Invalid ARN is the core's code on the right field.
    let (_, body) = proxy
        .post(
            &step("acme", "connect"),
            &token,
            json!({"role_arn": "nope"}),
        )
        .await;
    assert_eq!(
        (body["code"].as_str(), body["field"].as_str()),
        (Some("invalid_role_arn"), Some("role_arn"))
    );

    let bad_paths = [
        (
            Method::POST,
            "/admin/accounts/ACME/cloud/aws/connect",
            "invalid_org_id",
        ),
        (
            Method::POST,
            "/admin/accounts/a--b/cloud/aws/connect",
            "invalid_org_id",
        ),
        (Method::POST, "/admin/accounts/%ff%fe/cloud/aws/connect", ""),
        (
            Method::POST,
            "/admin/accounts/acme/cloud/oracle/connect",
            "cloud_not_supported",
        ),
        (
            Method::POST,
            "/admin/accounts/acme/cloud/aws/teleport",
            "unknown_step",
        ),
        (
            Method::GET,
            "/admin/accounts/acme/cloud/aws/connect",
            "method_not_allowed",
        ),
        (
            Method::GET,
            "/admin/accounts/..%2f..%2fetc/integrations",
            "invalid_org_id",
        ),
        (Method::GET, "/admin/nothing/here", "not_found"),
        (Method::GET, "/auth/nothing", "not_found"),
        (
            Method::DELETE,
            "/admin/accounts/acme/cloud/nope",
            "cloud_not_supported",
        ),
    ];
    for (method, path, want) in bad_paths {
        let (status, body) = proxy
            .send(
                method.clone(),
                path,
                Some(&token),
                Some(json!({"role_arn": "x"})),
            )
            .await;
        assert!(
            (400..500).contains(&status),
            "{method} {path} gave {status}: {body}"
        );
        assert!(body["code"].is_string(), "{path}: {body}");
        if !want.is_empty() {
            assert_eq!(body["code"], want, "{path}");
        }
    }
    // Not JSON content type.
    let response = proxy
        .http
        .post(proxy.url("/auth/login"))
        .body("username=admin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);
    // Oversized body.
    let huge = format!(
        "{{\"username\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(2 << 20)
    );
    let response = proxy
        .http
        .post(proxy.url("/auth/login"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
    assert_eq!(proxy.aws.calls(), 0, "malformed input never reached AWS");
}
