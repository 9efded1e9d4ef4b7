#![cfg(not(target_arch = "wasm32"))]
//! Property and hostile-input tests for credential keys and store naming.
//!
//! The store rules are re-stated here from cloud-formats.md on purpose,
//! instead of reusing the crate's `Rule` constants, so a wrong constant in
//! the crate cannot make its own test pass.
// Tests and benches run real tools and files; the purity rules of
// core/clippy.toml are for core/src.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

use alphaswarm_core::CoreError;
use alphaswarm_core::keys::{CredentialKey, KeyError, Store, find_collisions, store_name};
use alphaswarm_core::{CloudKind, OrgId};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::path::{Component, Path};

// ---------------------------------------------------------------- strategies

fn valid_key() -> impl Strategy<Value = CredentialKey> {
    ("[a-z][a-z0-9_]{0,63}", "[A-Za-z0-9_.:-]{1,128}")
        .prop_filter_map("purpose with '..' or '.' alone", |(s, p)| {
            CredentialKey::new(&s, &p).ok()
        })
}

/// Short keys over a tiny alphabet, so that collisions actually happen.
fn collision_prone_key() -> impl Strategy<Value = CredentialKey> {
    ("[ab][ab_]{0,2}", "[ab_:.-]{1,4}")
        .prop_filter_map("invalid purpose", |(s, p)| CredentialKey::new(&s, &p).ok())
}

fn valid_dir() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/".to_owned()),
        Just(".".to_owned()),
        "(/?)([A-Za-z0-9_ .-]{1,12}/){0,4}[A-Za-z0-9_-]{1,12}/?",
    ]
    .prop_filter("'..' segment", |d| !d.split('/').any(|s| s == ".."))
}

fn stores() -> Vec<Store> {
    vec![
        Store::Env,
        Store::File {
            bootstrap_state_dir: "/var/lib/alphaswarm/bootstrap".into(),
        },
        Store::azure_key_vault(),
        Store::AzureKeyVault {
            prefix: String::new(),
        },
        Store::aws_secrets_manager(),
        Store::AwsSecretsManager {
            prefix: "prod/alphaswarm-".into(),
        },
        Store::gcp_secret_manager("alphaswarm-prod"),
        Store::GcpSecretManager {
            project: "123456789012".into(),
            prefix: String::new(),
        },
        Store::vault_kv2(),
        Store::VaultKv2 {
            mount: "kv/team-a".into(),
            prefix: String::new(),
        },
    ]
}

// ---------------------------------------------------------------- store rules, re-stated

fn all(s: &str, ok: impl Fn(char) -> bool) -> bool {
    s.chars().all(ok)
}

fn env_ok(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && all(name, |c| {
            c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
        })
}

fn key_vault_ok(name: &str) -> bool {
    (1..=127).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && all(name, |c| c.is_ascii_alphanumeric() || c == '-')
}

fn secrets_manager_ok(name: &str) -> bool {
    let tail: Vec<char> = name.chars().rev().take(7).collect();
    (1..=512).contains(&name.len())
        && all(name, |c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
        && !(tail.len() == 7 && tail[6] == '-')
}

fn gcp_secret_id_ok(id: &str) -> bool {
    (1..=255).contains(&id.len()) && all(id, |c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn vault_path_ok(path: &str) -> bool {
    path.split('/').all(|seg| {
        !seg.is_empty()
            && seg != "."
            && seg != ".."
            && all(seg, |c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
    })
}

/// Checks `name` against the store's rule; Err explains the breach.
fn satisfies_store_rule(key: &CredentialKey, store: &Store) -> Result<(), String> {
    let named = match store_name(key, store) {
        Ok(named) => named,
        Err(err) => {
            // Refusal is only allowed for the documented limits.
            let allowed = matches!(err, KeyError::UnnameableInStore { .. })
                && match store {
                    Store::AzureKeyVault { prefix } => {
                        // Underscores are dropped, every other character kept or mapped.
                        let joined = format!("{}-{}", key.service(), key.purpose());
                        let dash = usize::from(!prefix.is_empty());
                        prefix.len() + dash + joined.chars().filter(|&c| c != '_').count() > 127
                    }
                    Store::AwsSecretsManager { prefix } => {
                        let name = format!("{prefix}{}/{}", key.service(), key.purpose());
                        let tail: Vec<char> = name.chars().rev().take(7).collect();
                        name.len() > 512 || (tail.len() == 7 && tail[6] == '-')
                    }
                    _ => false,
                };
            return if allowed {
                Ok(())
            } else {
                Err(format!("unexpected refusal: {err}"))
            };
        }
    };
    let name = named.name.as_str();
    let ok = match store {
        Store::Env => env_ok(name),
        Store::File {
            bootstrap_state_dir,
        } => inside_dir(bootstrap_state_dir, name),
        Store::AzureKeyVault { .. } => key_vault_ok(name),
        Store::AwsSecretsManager { .. } => secrets_manager_ok(name),
        Store::GcpSecretManager { project, prefix } => {
            let id = named.secret_id.as_deref().unwrap_or_default();
            gcp_secret_id_ok(id)
                && id.starts_with(prefix.as_str())
                && name == format!("projects/{project}/secrets/{id}")
        }
        Store::VaultKv2 { mount, prefix } => {
            let meta = named.metadata_path.as_deref().unwrap_or_default();
            let data_rest = name.strip_prefix(&format!("{mount}/data/"));
            let meta_rest = meta.strip_prefix(&format!("{mount}/metadata/"));
            vault_path_ok(name)
                && vault_path_ok(meta)
                && data_rest.is_some()
                && data_rest == meta_rest
                && data_rest.is_some_and(|r| r.starts_with(prefix.as_str()))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} breaks the rule of {store:?}"))
    }
}

/// The file is a direct child of `dir`: same parent, one normal component.
fn inside_dir(dir: &str, path: &str) -> bool {
    let path = Path::new(path);
    let dir = Path::new(dir);
    let rest = match path.strip_prefix(dir) {
        Ok(rest) => rest,
        Err(_) => return false,
    };
    let components: Vec<Component<'_>> = rest.components().collect();
    components.len() == 1
        && matches!(components[0], Component::Normal(_))
        && rest.extension().is_some_and(|e| e == "json")
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_store_name_satisfies_its_store_rule(key in valid_key()) {
        for store in stores() {
            if let Err(why) = satisfies_store_rule(&key, &store) {
                prop_assert!(false, "{key}: {why}");
            }
        }
    }

    #[test]
    fn file_names_never_escape_the_directory(key in valid_key(), dir in valid_dir()) {
        let store = Store::File { bootstrap_state_dir: dir.clone() };
        let path = store_name(&key, &store).map_err(|e| TestCaseError::fail(e.to_string()))?.name;
        prop_assert!(inside_dir(&dir, &path), "{dir:?} + {key} -> {path:?}");
    }

    /// The unchecked constructor agrees with the checked one for every org.
    #[test]
    fn cloud_keys_are_valid_for_every_org(org in "[a-z0-9]([a-z0-9_-]{0,62}[a-z0-9])?") {
        let Ok(org) = OrgId::parse(&org) else { return Ok(()) };
        for cloud in CloudKind::ALL {
            let direct = CredentialKey::for_cloud(cloud, &org);
            prop_assert_eq!(CredentialKey::new(direct.service(), direct.purpose()).ok(), Some(direct.clone()));
            prop_assert_eq!(direct.to_string(), format!("{}:org:{}", cloud.integration_kind(), org));
        }
    }

    #[test]
    fn text_form_round_trips(key in valid_key()) {
        let text = key.to_string();
        prop_assert_eq!(text.parse::<CredentialKey>().ok(), Some(key.clone()));
        let json = serde_json::to_string(&key).unwrap();
        prop_assert_eq!(serde_json::from_str::<CredentialKey>(&json).ok(), Some(key));
    }

    /// `find_collisions` agrees with a brute-force pairwise comparison.
    #[test]
    fn collisions_match_a_pairwise_oracle(keys in prop::collection::vec(collision_prone_key(), 0..12)) {
        for store in stores() {
            let mut expected = BTreeSet::new();
            for a in &keys {
                for b in &keys {
                    let (Ok(na), Ok(nb)) = (store_name(a, &store), store_name(b, &store)) else { continue };
                    if a < b && na.name == nb.name {
                        expected.insert((na.name, a.clone(), b.clone()));
                    }
                }
            }
            let found: BTreeSet<_> = find_collisions(&keys, &store)
                .into_iter()
                .map(|c| { let [a, b] = c.keys; (c.name, a, b) })
                .collect();
            prop_assert_eq!(&found, &expected, "{:?}", store);
        }
    }

    /// File, AWS and Vault keep every distinct key apart.
    #[test]
    fn injective_stores_never_collide(keys in prop::collection::vec(collision_prone_key(), 0..16)) {
        for store in [
            Store::File { bootstrap_state_dir: "d".into() },
            Store::aws_secrets_manager(),
            Store::vault_kv2(),
        ] {
            prop_assert!(find_collisions(&keys, &store).is_empty(), "{:?}", store);
        }
    }

    /// The issue's example pair, for arbitrary org-id parts.
    #[test]
    fn known_env_pair_is_reported(a in "[a-z0-9]{1,10}", b in "[a-z0-9]{1,10}") {
        let k1 = CredentialKey::new("svc", &format!("org:{a}-{b}")).unwrap();
        let k2 = CredentialKey::new("svc", &format!("org-{a}:{b}")).unwrap();
        let found = find_collisions(&[k1.clone(), k2.clone()], &Store::Env);
        prop_assert_eq!(found.len(), 1);
        prop_assert_eq!(&found[0].name, &format!("SVC_ORG_{}_{}", a.to_uppercase(), b.to_uppercase()));
        let mut pair = [k1, k2];
        pair.sort();
        prop_assert_eq!(&found[0].keys, &pair);
        // GCP maps both ':' and '-' to '-': the same pair meets there too.
        prop_assert_eq!(find_collisions(&pair, &Store::gcp_secret_manager("alphaswarm-prod")).len(), 1);
    }

    /// Arbitrary text never panics; it is accepted only when it is a valid key.
    #[test]
    fn arbitrary_text_is_accepted_only_when_valid(service in any::<String>(), purpose in any::<String>()) {
        let service_ok = (1..=64).contains(&service.len())
            && service.starts_with(|c: char| c.is_ascii_lowercase())
            && all(&service, |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        let purpose_ok = (1..=128).contains(&purpose.len())
            && all(&purpose, |c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
            && purpose != "."
            && !purpose.contains("..");
        match CredentialKey::new(&service, &purpose) {
            Ok(_) => prop_assert!(service_ok && purpose_ok),
            Err(err) => {
                prop_assert!(!(service_ok && purpose_ok));
                prop_assert_eq!(err.code(), "invalid_credential_key");
                let expected_field = if service_ok { "purpose" } else { "service" };
                prop_assert_eq!(err.field(), Some(expected_field));
            }
        }
        let _ = format!("{service}:{purpose}").parse::<CredentialKey>();
    }

    #[test]
    fn arbitrary_store_options_never_panic(text in any::<String>(), key in valid_key()) {
        for store in [
            Store::File { bootstrap_state_dir: text.clone() },
            Store::AzureKeyVault { prefix: text.clone() },
            Store::AwsSecretsManager { prefix: text.clone() },
            Store::GcpSecretManager { project: text.clone(), prefix: "p-".into() },
            Store::GcpSecretManager { project: "alphaswarm-prod".into(), prefix: text.clone() },
            Store::VaultKv2 { mount: text.clone(), prefix: String::new() },
            Store::VaultKv2 { mount: "secret".into(), prefix: text.clone() },
        ] {
            match store_name(&key, &store) {
                Ok(_) => prop_assert!(satisfies_store_rule(&key, &store).is_ok(), "{:?}", store),
                Err(err) => prop_assert!(!err.code().is_empty() && err.field().is_some() && !err.hint().is_empty()),
            }
        }
    }
}

// ---------------------------------------------------------------- hostile corpus

fn hostile_values() -> Vec<String> {
    let mut values: Vec<String> = [
        "",
        " ",
        "\0",
        "a\0b",
        "/",
        "a/b",
        "..",
        "../etc",
        "a/../b",
        "\n",
        "a\nb",
        "a\rb",
        "\t",
        "é",
        "ü-x",
        "org:ö",
        "日本",
        "\u{202e}rtl",
        "\u{feff}bom",
        "a b",
        "$(id)",
        "`id`",
        "a;b",
        "'",
        "\"",
        "\\",
        "%2e%2e",
        "*",
        "~root",
        "C:\\x",
        "-",
        ":",
        "org:",
        "::",
        ".",
        "./a",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    values.push("a".repeat(10_240));
    values.push("é".repeat(5_120));
    values.push(format!("org:{}", "x".repeat(10_240)));
    values.push("\0".repeat(10_240));
    values
}

fn assert_structured(err: &KeyError, context: &str) {
    let body = err.to_body();
    assert!(!body.code.is_empty(), "{context}");
    assert!(body.field.is_some(), "{context}");
    assert!(!body.hint.is_empty(), "{context}");
    // Messages quote at most one offending character, never the whole input.
    assert!(
        body.message.len() < 300,
        "{context}: {} bytes",
        body.message.len()
    );
}

#[test]
fn hostile_keys_give_structured_errors() {
    let mut tried = 0;
    for value in hostile_values() {
        let value_ok = CredentialKey::new("svc", &value).is_ok();
        // Of the corpus, only plain "-" and ":"-style purposes are valid.
        assert_eq!(
            value_ok,
            matches!(value.as_str(), "-" | ":" | "org:" | "::"),
            "{value:?}"
        );
        for (service, purpose) in [(value.as_str(), "p"), ("svc", value.as_str())] {
            tried += 1;
            if let Err(err) = CredentialKey::new(service, purpose) {
                assert_eq!(err.code(), "invalid_credential_key");
                assert_structured(&err, &format!("{service:?}/{purpose:?}"));
            }
        }
        for text in [value.clone(), format!("svc:{value}"), format!("{value}:p")] {
            tried += 1;
            if let Err(err) = text.parse::<CredentialKey>() {
                assert_structured(&err, &format!("{text:?}"));
            }
            let json = serde_json::to_string(&text).unwrap();
            let _ = serde_json::from_str::<CredentialKey>(&json);
        }
    }
    assert!(tried > 100, "{tried}");
}

#[test]
fn hostile_store_options_give_structured_errors() {
    let key =
        CredentialKey::for_integration("cloud_aws", &OrgId::parse("org-acme").unwrap()).unwrap();
    for value in hostile_values() {
        let stores = [
            Store::File {
                bootstrap_state_dir: value.clone(),
            },
            Store::AzureKeyVault {
                prefix: value.clone(),
            },
            Store::AwsSecretsManager {
                prefix: value.clone(),
            },
            Store::GcpSecretManager {
                project: value.clone(),
                prefix: String::new(),
            },
            Store::VaultKv2 {
                mount: value.clone(),
                prefix: String::new(),
            },
        ];
        for store in stores {
            match store_name(&key, &store) {
                Ok(named) => {
                    assert!(satisfies_store_rule(&key, &store).is_ok(), "{store:?}");
                    assert!(!named.name.contains('\0') && !named.name.contains('\n'));
                }
                Err(err) => assert_structured(&err, &format!("{store:?}")),
            }
        }
    }
    // Specific refusals that matter most.
    for dir in ["/data/../etc", "..", "a\0b", "a\nb", ""] {
        let store = Store::File {
            bootstrap_state_dir: dir.into(),
        };
        let err = store_name(&key, &store).unwrap_err();
        assert_eq!(err.code(), "invalid_store_option", "{dir:?}");
        assert_eq!(err.field(), Some("bootstrap_state_dir"));
    }
}

#[test]
fn hostile_store_json_is_refused_or_validated() {
    for json in [
        r#"{"kind":"nope"}"#,
        r#"{"kind":"file"}"#,
        r#"{"kind":"gcp_secret_manager"}"#,
        r#"{"kind":"vault_kv2","mount":7}"#,
        r#"{"kind":"file","bootstrap_state_dir":"/x"}"#,
        "[]",
        "",
    ] {
        assert!(serde_json::from_str::<Store>(json).is_err(), "{json}");
    }
    let store: Store =
        serde_json::from_str(r#"{"kind":"file","bootstrapStateDir":"/x/../y"}"#).unwrap();
    let key = CredentialKey::new("svc", "p").unwrap();
    assert_eq!(
        store_name(&key, &store).unwrap_err().code(),
        "invalid_store_option"
    );
}
