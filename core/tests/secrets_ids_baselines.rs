#![cfg(not(target_arch = "wasm32"))]
//! Property tests for secret values, external ids and permission baselines.
// Tests and benches run real tools and files; the purity rules of
// core/clippy.toml are for core/src.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

use alphaswarm_core::baseline::compare_baseline;
use alphaswarm_core::cloudflare::CloudflareTemplate;
use alphaswarm_core::external_id::{MIN_SECRET_LEN, derive_external_id};
use alphaswarm_core::keys::CredentialKey;
use alphaswarm_core::secret::{CANONICAL_FIELD, SecretValue};
use alphaswarm_core::{CloudKind, CoreError, OrgId};
use proptest::prelude::*;

fn org_id() -> impl Strategy<Value = OrgId> {
    prop_oneof![
        Just(OrgId::platform()),
        "[a-z0-9]([a-z0-9_-]{0,62}[a-z0-9])?".prop_filter_map("'--'", |s| OrgId::parse(&s).ok()),
    ]
}

fn cloud() -> impl Strategy<Value = CloudKind> {
    prop::sample::select(CloudKind::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn secret_values_parse_anything_and_never_show_values(
        raw in any::<String>(),
        canary in "[A-Za-z0-9]{16,40}",
        field in "[a-z_]{1,12}",
    ) {
        let parsed = SecretValue::parse(&raw);
        if !raw.trim_start().starts_with('{') {
            prop_assert_eq!(parsed.get(CANONICAL_FIELD), Some(&serde_json::Value::String(raw.clone())));
        }
        let key = CredentialKey::new("svc", "org:org-acme").unwrap();
        let object = serde_json::json!({ field.clone(): canary.clone() }).to_string();
        for value in [SecretValue::parse_for(&key, &object), SecretValue::parse_for(&key, &canary)] {
            let shown = format!("{value:?}");
            prop_assert!(!shown.contains(&canary), "{}", shown);
            if let Err(err) = value.require_str("absent_field_x") {
                let text = format!("{err} {err:?} {}", err.hint());
                prop_assert!(!text.contains(&canary));
                prop_assert!(text.contains("svc:org:org-acme"));
            }
        }
        let reparsed = SecretValue::parse(&object);
        prop_assert_eq!(reparsed.require_str(&field).unwrap(), canary.as_str());
    }

    #[test]
    fn external_ids_are_deterministic_hex_and_per_cloud(
        secret in prop::collection::vec(any::<u8>(), MIN_SECRET_LEN..128),
        org in org_id(),
        cloud in cloud(),
    ) {
        let id = derive_external_id(&secret, cloud, &org).unwrap();
        prop_assert_eq!(id.as_str().len(), 64);
        prop_assert!(id.as_str().bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        prop_assert_eq!(&derive_external_id(&secret, cloud, &org).unwrap(), &id);
        for other in CloudKind::ALL.into_iter().filter(|c| *c != cloud) {
            prop_assert_ne!(&derive_external_id(&secret, other, &org).unwrap(), &id);
        }
        let err = derive_external_id(&secret[..MIN_SECRET_LEN - 1], cloud, &org).unwrap_err();
        prop_assert_eq!(err.code(), "external_id_secret_too_short");
    }

    #[test]
    fn baseline_comparison_is_consistent(
        granted in prop::collection::vec(any::<String>(), 0..8),
        cloud in cloud(),
        template in prop::sample::select(CloudflareTemplate::ALL.to_vec()),
    ) {
        let template = (cloud == CloudKind::Cloudflare).then_some(template);
        match compare_baseline(cloud, template, &granted) {
            Ok(report) => {
                prop_assert!(report.missing.iter().all(|m| report.required.contains(m)));
                prop_assert_eq!(report.satisfied, report.missing.is_empty());
                prop_assert!(report.extra.iter().all(|e| granted.contains(e)));
                // Adding the whole baseline always satisfies it.
                let mut all = granted.clone();
                all.extend(report.required.iter().cloned());
                prop_assert!(compare_baseline(cloud, template, &all).unwrap().satisfied);
            }
            Err(err) => {
                prop_assert_eq!(err.code(), "invalid_granted_permission");
                prop_assert_eq!(err.field(), Some("granted"));
            }
        }
    }
}
