#![cfg(not(target_arch = "wasm32"))]
//! Cloudflare bundles: snapshots, the template link decoded back (user and
//! account variants), Terraform read back by an HCL parser, token shape
//! checks, and a hostile corpus in every request field.
// Tests and benches run real tools and files; the purity rules of
// core/clippy.toml are for core/src.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

mod support;

use alphaswarm_core::cloudflare::{
    self, CloudflareBootstrapRequest, CloudflareTemplate, check_token_shape, is_global_api_key,
};
use alphaswarm_core::error::CoreError;
use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use std::collections::BTreeMap;
use support::{hostile_corpus, terraform_blocks, terraform_string};

const LONGEST_ORG: &str = "a123456789-123456789_123456789-123456789_123456789-123456789-bcd";
const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";

fn request(
    template: CloudflareTemplate,
    org: &str,
    account: Option<&str>,
) -> CloudflareBootstrapRequest {
    CloudflareBootstrapRequest {
        template: template.as_str().into(),
        account_id: account.map(str::to_owned),
        org_id: Some(org.into()),
        token_owner: None,
        self_check: None,
    }
}

#[test]
fn snapshots() {
    for (label, org) in [
        ("org_acme", "org-acme"),
        ("platform", "__platform__"),
        ("longest", LONGEST_ORG),
    ] {
        for template in CloudflareTemplate::ALL {
            let bundle = cloudflare::render(&request(template, org, None)).unwrap();
            insta::assert_yaml_snapshot!(
                format!("cloudflare_{label}_{}", template.as_str()),
                bundle
            );
        }
    }
    for template in [CloudflareTemplate::DnsEdit, CloudflareTemplate::R2] {
        let bundle = cloudflare::render(&request(template, "org-acme", Some(ACCOUNT))).unwrap();
        insta::assert_yaml_snapshot!(
            format!("cloudflare_org_acme_{}_one_account", template.as_str()),
            bundle
        );
        let account_owned = CloudflareBootstrapRequest {
            token_owner: Some("account".into()),
            ..request(template, "org-acme", Some(ACCOUNT))
        };
        insta::assert_yaml_snapshot!(
            format!("cloudflare_org_acme_{}_account_owned", template.as_str()),
            cloudflare::render(&account_owned).unwrap()
        );
    }
    let probing_only = CloudflareBootstrapRequest {
        self_check: Some(false),
        ..request(CloudflareTemplate::Tunnel, "org-acme", None)
    };
    insta::assert_yaml_snapshot!(
        "cloudflare_org_acme_tunnel_without_self_check",
        cloudflare::render(&probing_only).unwrap()
    );
}

/// The link's query, split and percent-decoded (either dashboard form).
fn query(url: &str) -> BTreeMap<String, String> {
    let (page, query) = url.split_once('?').unwrap();
    assert!(
        page == "https://dash.cloudflare.com/profile/api-tokens"
            || (page == "https://dash.cloudflare.com/"
                && query.starts_with("to=/:account/api-tokens&")),
        "{url}"
    );
    query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (
                k.to_owned(),
                percent_decode_str(v).decode_utf8().unwrap().into_owned(),
            )
        })
        .collect()
}

#[test]
fn request_deserialises_from_camel_case_and_defaults_to_the_platform() {
    let req: CloudflareBootstrapRequest =
        serde_json::from_value(serde_json::json!({ "template": "tunnel", "accountId": ACCOUNT }))
            .unwrap();
    let bundle = cloudflare::render(&req).unwrap();
    assert!(bundle.org_id.is_platform());
    let q = query(&bundle.links[0].url);
    assert_eq!(q["accountId"], ACCOUNT);
    assert_eq!(
        q["permissionGroupKeys"],
        r#"[{"key":"argotunnel","type":"edit"},{"key":"api_tokens","type":"read"}]"#
    );
    let req: CloudflareBootstrapRequest = serde_json::from_value(serde_json::json!({
        "template": "tunnel", "accountId": ACCOUNT, "tokenOwner": "account", "selfCheck": false
    }))
    .unwrap();
    let bundle = cloudflare::render(&req).unwrap();
    let q = query(&bundle.links[0].url);
    assert!(
        !q.contains_key("accountId"),
        "the account form asks for the account"
    );
    assert_eq!(
        q["permissionGroupKeys"],
        r#"[{"key":"argotunnel","type":"edit"}]"#
    );
}

/// The permission group ids of every policy of the Terraform resource.
fn terraform_group_ids(terraform: &str) -> Vec<String> {
    let body = hcl::parse(terraform).unwrap();
    let resource = body
        .blocks()
        .find(|b| b.identifier() == "resource")
        .unwrap();
    let policies = resource
        .body()
        .attributes()
        .find(|a| a.key() == "policies")
        .unwrap();
    let hcl::Expression::Array(policies) = policies.expr() else {
        panic!("policies is a list")
    };
    let mut ids = Vec::new();
    for policy in policies {
        let hcl::Expression::Object(policy) = policy else {
            panic!("a policy is an object")
        };
        let groups = policy
            .iter()
            .find(|(k, _)| k.to_string().contains("permission_groups"))
            .map(|(_, v)| v)
            .unwrap();
        let hcl::Expression::Array(groups) = groups else {
            panic!("groups is a list")
        };
        for group in groups {
            let hcl::Expression::Object(group) = group else {
                panic!("a group is an object")
            };
            for (_, v) in group.iter() {
                if let hcl::Expression::String(id) = v {
                    ids.push(id.clone());
                }
            }
        }
    }
    ids
}

#[test]
fn terraform_and_link_ask_for_the_same_groups_by_id() {
    for template in CloudflareTemplate::ALL {
        for (owner, account, self_check) in [
            (None, None, None),
            (Some("account"), Some(ACCOUNT), None),
            (None, Some(ACCOUNT), Some(false)),
        ] {
            let req = CloudflareBootstrapRequest {
                token_owner: owner.map(str::to_owned),
                self_check,
                ..request(template, "org-acme", account)
            };
            let v = req.validate().unwrap();
            let bundle = cloudflare::render(&req).unwrap();
            let mut want: Vec<String> = v.groups().iter().map(|g| g.id.to_owned()).collect();
            let mut got = terraform_group_ids(&bundle.terraform);
            want.sort();
            got.sort();
            assert_eq!(got, want, "{template:?} {owner:?}");
            let resource = if owner == Some("account") {
                "cloudflare_account_token"
            } else {
                "cloudflare_api_token"
            };
            assert_eq!(
                terraform_string(&bundle.terraform, resource, "name"),
                Some(format!("AlphaSwarm org-acme {}", template.as_str()))
            );
            if owner == Some("account") {
                assert_eq!(
                    terraform_string(&bundle.terraform, resource, "account_id").as_deref(),
                    Some(ACCOUNT)
                );
            }
        }
    }
}

#[test]
fn bundle_notes_name_the_grants_and_rotation_and_never_hold_a_token() {
    let bundle =
        cloudflare::render(&request(CloudflareTemplate::Worker, "org-acme", None)).unwrap();
    let notes = bundle.notes.join("\n");
    assert!(notes.contains("Workers Scripts Write"));
    assert!(notes.contains("60-90 days"));
    assert!(notes.contains("$CLOUDFLARE_API_TOKEN"));
    assert!(bundle.commands.bash.is_empty());
    assert!(
        bundle
            .terraform
            .contains("resource \"cloudflare_api_token\"")
    );
    assert!(
        bundle
            .terraform
            .contains("\"e086da7e2179491d91ee5f35b3ca210a\" }, # Workers Scripts Write")
    );
}

#[test]
fn tokens() {
    let global = "c2547eb745079dac9320b638f5e225cf483cc";
    assert!(is_global_api_key(global));
    let e = check_token_shape(global).unwrap_err();
    assert_eq!(
        (e.code(), e.field()),
        ("global_api_key_refused", Some("token"))
    );
    let body = e.to_body();
    assert!(
        !format!("{body:?}").contains(global),
        "the key is never echoed"
    );
    assert!(check_token_shape("YQSn-xWAQiiEh9qM58wZNnyQS7FUdoqGIUAbrh7T").is_ok());
    for value in hostile_corpus() {
        if let Err(e) = check_token_shape(&value) {
            assert!(
                [
                    "missing_token",
                    "invalid_token_shape",
                    "global_api_key_refused"
                ]
                .contains(&e.code())
            );
            if value.trim().len() > 3 {
                assert!(!e.to_string().contains(value.trim()));
            }
        }
    }
}

// ---------------------------------------------------------------- properties

fn regex(pattern: &str) -> impl Strategy<Value = String> + use<> {
    proptest::string::string_regex(pattern).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_valid_request_gives_a_decodable_link(
        template in prop::sample::select(CloudflareTemplate::ALL.to_vec()),
        account in prop::option::of(regex("[0-9a-fA-F]{32}")),
        org in prop::option::of(prop_oneof![
            Just("__platform__".to_owned()),
            regex("[a-z0-9]([a-z0-9_-]{0,62}[a-z0-9])?").prop_filter("no --", |s| !s.contains("--")),
        ]),
    ) {
        let req = CloudflareBootstrapRequest { template: template.as_str().into(), account_id: account.clone(), org_id: org.clone(), token_owner: None, self_check: None };
        let bundle = cloudflare::render(&req).unwrap();
        let url = &bundle.links[0].url;
        // Only unreserved characters, '%' escapes and the query's own separators.
        prop_assert!(url.chars().all(|c| c.is_ascii_alphanumeric() || "-._~*%:/?&=".contains(c)), "{}", url);
        let q = query(url);
        let keys: serde_json::Value = serde_json::from_str(&q["permissionGroupKeys"]).unwrap();
        let expected: Vec<serde_json::Value> = req
            .validate()
            .unwrap()
            .groups()
            .iter()
            .map(|g| serde_json::json!({ "key": g.link_key.0, "type": g.link_key.1 }))
            .collect();
        prop_assert_eq!(keys, serde_json::Value::Array(expected));
        prop_assert_eq!(&q["accountId"], &account.map_or("*".to_owned(), |a| a.to_ascii_lowercase()));
        prop_assert_eq!(&q["zoneId"], "all");
        let org = org.unwrap_or_else(|| "__platform__".to_owned());
        prop_assert_eq!(&q["name"], &format!("AlphaSwarm {org} {}", template.as_str()));
        prop_assert!(cloudflare::commands(&req.validate().unwrap()).is_empty());
        let blocks = terraform_blocks(&bundle.terraform);
        // terraform, the user data source (for API Tokens Read), the token.
        prop_assert_eq!(blocks.len(), 3);
        prop_assert_eq!(
            terraform_string(&bundle.terraform, "cloudflare_api_token", "name"),
            Some(format!("AlphaSwarm {org} {}", template.as_str()))
        );
    }

    #[test]
    fn token_checks_never_panic_nor_echo(token in ".{0,200}") {
        if let Err(e) = check_token_shape(&token) {
            let t = token.trim();
            prop_assert!(t.len() < 8 || !e.to_body().message.contains(t));
        }
    }
}

// ---------------------------------------------------------------- hostile input

/// Puts a value into one field of a request.
type SetField = fn(&mut CloudflareBootstrapRequest, String);

#[test]
fn hostile_values_in_every_field_give_a_coded_error_or_safe_output() {
    let fields: [(&str, SetField); 4] = [
        ("template", |r, v| r.template = v),
        ("account_id", |r, v| r.account_id = Some(v)),
        ("org_id", |r, v| r.org_id = Some(v)),
        ("token_owner", |r, v| r.token_owner = Some(v)),
    ];
    let (mut errors, mut rendered) = (0, 0);
    for (field, set) in fields {
        for value in hostile_corpus() {
            let mut req = request(CloudflareTemplate::DnsEdit, "org-acme", Some(ACCOUNT));
            set(&mut req, value.clone());
            match cloudflare::render(&req) {
                Err(e) => {
                    errors += 1;
                    assert!(e.code().starts_with("invalid_"), "{}", e.code());
                    assert_eq!(e.field(), Some(field), "{value:?}");
                    assert!(e.to_body().message.len() < 400);
                }
                Ok(bundle) => {
                    rendered += 1;
                    // Only blanks (absent account / platform org) and values
                    // that are valid org ids reach here.
                    assert!(
                        value.trim().is_empty() || alphaswarm_core::OrgId::parse(&value).is_ok(),
                        "{value:?}"
                    );
                    query(&bundle.links[0].url);
                }
            }
        }
    }
    assert_eq!(errors + rendered, 4 * hostile_corpus().len());
    assert!(errors > 130, "errors {errors}, rendered {rendered}");
}
