//! The proxy as an OIDC issuer: the discovery document and JWKS (public,
//! cached, exact), minted assertions verified against the served keys with
//! an independent JWT implementation, key rotation with overlap and
//! retirement, and the `federation-keys` CLI beside a running proxy.

mod azure_support;
mod common;

use alphaswarm_core::ids::Audience;
use azure_support::kids;
use common::*;
use jsonwebtoken::jwk::{JwkSet, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

async fn loopback_issuer_proxy(name: &str) -> (TestProxy, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/oidc/", listener.local_addr().unwrap());
    let proxy = TestProxy::start_on(
        name,
        listener,
        &[(alphaswarm_proxy::federation::ISSUER_VAR, issuer.as_str())],
    )
    .await;
    (proxy, issuer)
}

async fn get(proxy: &TestProxy, url: &str) -> (u16, Option<String>, Value) {
    let response = proxy.http.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let cache = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, cache, response.json().await.unwrap())
}

fn audience() -> Audience {
    Audience::parse("api://AzureADTokenExchange").unwrap()
}

/// Verifies `token` against a JWKS with jsonwebtoken's own JWK handling.
fn verify(token: &str, jwks: &Value, issuer: &str) -> Result<Value, String> {
    let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = set
        .find(header.kid.as_deref().unwrap_or_default())
        .ok_or("kid not in the JWKS")?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&["api://AzureADTokenExchange"]);
    validation.set_required_spec_claims(&["iss", "sub", "aud", "exp", "nbf"]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn discovery_and_jwks_are_public_cached_and_exact() {
    let (proxy, issuer) = loopback_issuer_proxy("issuer-docs").await;
    let (status, cache, discovery) =
        get(&proxy, &format!("{issuer}.well-known/openid-configuration")).await;
    assert_eq!(status, 200, "no session needed");
    assert_eq!(cache.as_deref(), Some("public, max-age=3600"));
    assert_eq!(discovery["issuer"], issuer);
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    for field in [
        "authorization_endpoint",
        "response_types_supported",
        "subject_types_supported",
    ] {
        assert!(!discovery[field].is_null(), "{field}");
    }
    let jwks_uri = discovery["jwks_uri"].as_str().unwrap();
    assert_eq!(jwks_uri, format!("{issuer}.well-known/jwks.json"));
    let (status, cache, jwks) = get(&proxy, jwks_uri).await;
    assert_eq!(status, 200);
    assert_eq!(cache.as_deref(), Some("public, max-age=300"));
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["use"].as_str(),
            key["alg"].as_str()
        ),
        (Some("RSA"), Some("sig"), Some("RS256"))
    );
    assert!(
        key.get("d").is_none() && key.get("p").is_none(),
        "public parts only"
    );
    // kid = RFC 7638 thumbprint, by jsonwebtoken's own implementation.
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.clone()).unwrap();
    assert_eq!(
        key["kid"].as_str().unwrap(),
        jwk.thumbprint(ThumbprintHash::SHA256)
    );
    use base64::Engine;
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key["n"].as_str().unwrap())
        .unwrap();
    assert!(n.len() * 8 >= 2048);

    let federation = &proxy.state.federation;
    let first = federation.mint("org:acme", &audience()).await.unwrap();
    let second = federation.mint("org:acme", &audience()).await.unwrap();
    assert_ne!(first.jti, second.jti);
    let claims = verify(first.token(), &jwks, &issuer).unwrap();
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["sub"], "org:acme");
    let (iat, nbf, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["nbf"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(nbf == iat && exp - iat <= 600 && exp > iat);
    assert!(
        !format!("{first:?}").contains(first.token()),
        "Debug hides the token"
    );
}

#[tokio::test]
async fn rotation_keeps_old_assertions_valid_during_the_overlap_then_retires_the_key() {
    let (proxy, issuer) = loopback_issuer_proxy("issuer-rotate").await;
    let federation = &proxy.state.federation;
    let jwks_url = format!("{issuer}.well-known/jwks.json");
    let before = federation.mint("org:acme", &audience()).await.unwrap();

    let now = alphaswarm_proxy::federation::now();
    let overlap = 24 * 3600;
    let rotation = federation.rotate_at(now, overlap).await.unwrap();
    assert_eq!(rotation.retiring[0].kid, before.kid);
    let (_, _, jwks) = get(&proxy, &jwks_url).await;
    assert_eq!(
        kids(&jwks),
        [before.kid.as_str(), rotation.new_kid.as_str()],
        "published before it signs"
    );
    verify(before.token(), &jwks, &issuer)
        .expect("a token signed just before rotation still verifies");
    let during = federation.mint("org:acme", &audience()).await.unwrap();
    assert_eq!(
        during.kid, before.kid,
        "the old key signs during the overlap"
    );
    let after = federation
        .mint_at("org:acme", &audience(), now + overlap)
        .await
        .unwrap();
    assert_eq!(after.kid, rotation.new_kid);
    let retired = federation.jwks_at(now + overlap + 600).await.unwrap();
    assert_eq!(retired.keys.len(), 1);
    assert_eq!(retired.keys[0].kid, rotation.new_kid);

    // A rotation whose overlap and the longest assertion lifetime have
    // passed: the old kid is gone from the served JWKS and its token fails.
    let (proxy, issuer) = loopback_issuer_proxy("issuer-retired").await;
    let federation = &proxy.state.federation;
    let old = federation.mint("org:acme", &audience()).await.unwrap();
    let now = alphaswarm_proxy::federation::now();
    let rotation = federation
        .rotate_at(now - overlap - 601, overlap)
        .await
        .unwrap();
    let (_, _, jwks) = get(&proxy, &format!("{issuer}.well-known/jwks.json")).await;
    assert_eq!(kids(&jwks), [rotation.new_kid.as_str()]);
    assert_eq!(
        verify(old.token(), &jwks, &issuer).unwrap_err(),
        "kid not in the JWKS"
    );
    let new = federation.mint("org:acme", &audience()).await.unwrap();
    assert_eq!(new.kid, rotation.new_kid);
    verify(new.token(), &jwks, &issuer).unwrap();
}

fn cli(dir: &std::path::Path, env: &[(&str, String)], args: &[&str]) -> std::process::Output {
    proxy_command(dir, env).args(args).output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_rotates_beside_a_running_proxy_and_exports_the_jwks() {
    let dir = temp_dir("issuer-cli");
    let key = alphaswarm_proxy::store::FernetFileStore::generate_key();
    let env = binary_env(&dir, &key, EXTERNAL_ID_SECRET);
    let proxy = BinaryProxy::spawn(&dir, "issuer", &env);
    let http = http_client();
    let jwks = || published_jwks(&http, &proxy.base);
    let first = jwks().await;
    assert_eq!(
        first["keys"].as_array().unwrap().len(),
        1,
        "generated at first start"
    );

    let out = cli(&dir, &env, &["federation-keys", "rotate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        printed.contains("Published key") && printed.contains("leaves the JWKS"),
        "{printed}"
    );
    // Without --overlap the new key signs only a day later (longer than any
    // relying party's JWKS cache).
    let signs_from = printed
        .split("it signs from ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map(|t| t.trim_end_matches('.'))
        .and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
        .unwrap_or_else(|| panic!("no signing time in {printed}"))
        .unix_timestamp();
    let day_later = alphaswarm_proxy::federation::now() + 24 * 3600;
    assert!(
        (day_later - 120..=day_later).contains(&signs_from),
        "{printed}"
    );
    // The serving proxy sees the rotation on its next request, no restart.
    let second = jwks().await;
    assert_eq!(second["keys"].as_array().unwrap().len(), 2);
    assert_eq!(second["keys"][0], first["keys"][0]);
    assert!(printed.contains(second["keys"][1]["kid"].as_str().unwrap()));

    let export = dir.join("jwks.json");
    let out = cli(
        &dir,
        &env,
        &["federation-keys", "export-jwks", export.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported: Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    assert_eq!(exported, second);

    let out = cli(
        &dir,
        &env,
        &["federation-keys", "rotate", "--overlap", "soon"],
    );
    assert_eq!(out.status.code(), Some(2));

    // Encrypted at rest: the database shows neither private nor public parts.
    let on_disk = stored_key_ring(&dir).await;
    assert!(!on_disk.contains(second["keys"][0]["n"].as_str().unwrap()));
    assert!(!on_disk.to_ascii_uppercase().contains("PRIVATE"));

    // Another key cannot read it, and says which variable, never the key.
    let wrong = alphaswarm_proxy::store::FernetFileStore::generate_key();
    let mut wrong_env = env.clone();
    wrong_env.retain(|(k, _)| *k != "ALPHASWARM_ADMIN_INTEGRATIONS_KEY");
    wrong_env.push(("ALPHASWARM_ADMIN_INTEGRATIONS_KEY", wrong.clone()));
    let out = cli(&dir, &wrong_env, &["federation-keys", "rotate"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("[store_wrong_key]")
            && stderr.contains("different key than ALPHASWARM_ADMIN_INTEGRATIONS_KEY"),
        "{stderr}"
    );
    assert!(!stderr.contains(&wrong) && !stderr.contains(&key));
    assert!(!proxy.logs().contains(&key));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_era_key_file_is_imported_once_with_its_key_ids() {
    use alphaswarm_proxy::federation::keys::{KeyRing, SigningKey};
    use alphaswarm_proxy::federation::store::SigningKeyStore;
    use alphaswarm_proxy::federation::{file_key_store, keys_path};
    // The release before the database kept the ring in the state
    // directory. Its key ids are what Entra caches and GCP may have
    // uploaded: the upgrade must keep publishing and signing with them.
    let dir = temp_dir("issuer-import");
    let key = alphaswarm_proxy::store::FernetFileStore::generate_key();
    let env = binary_env(&dir, &key, EXTERNAL_ID_SECRET);
    let state = dir.join("state");
    alphaswarm_proxy::app::create_private_dir(&state).unwrap();
    let now = alphaswarm_proxy::federation::now();
    let old = SigningKey::generate(now - 3600, now - 3600).unwrap();
    file_key_store(&state, &alphaswarm_proxy::config::Secret::new(key.clone()))
        .unwrap()
        .save(&KeyRing {
            keys: vec![old.clone()],
        })
        .await
        .unwrap();
    let file = std::fs::read(keys_path(&state)).unwrap();
    let http = http_client();

    let proxy = BinaryProxy::spawn(&dir, "import", &env);
    assert_eq!(
        kids(&published_jwks(&http, &proxy.base).await),
        [old.kid.as_str()]
    );
    assert!(
        proxy
            .logs()
            .contains("Imported 1 federation signing key(s)"),
        "{}",
        proxy.logs()
    );
    assert!(
        !stored_key_ring(&dir).await.is_empty(),
        "now in the database"
    );
    assert_eq!(
        std::fs::read(keys_path(&state)).unwrap(),
        file,
        "left as it was"
    );
    drop(proxy);

    // Once imported, the database is the ring: a rotation there stands
    // across a restart (the file is not imported over it again).
    let out = cli(&dir, &env, &["federation-keys", "rotate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = BinaryProxy::spawn(&dir, "again", &env);
    let after = kids(&published_jwks(&http, &again.base).await);
    assert_eq!(after.len(), 2, "{after:?}");
    assert_eq!(after[0], old.kid);
    assert!(!again.logs().contains("Imported"), "{}", again.logs());
}

/// The first key is generated on first use and signs from the caller's
/// time, not from whenever generation finished: a clock read that lands a
/// second before a slow RSA generation (a loaded machine) must still sign.
#[tokio::test]
async fn the_first_key_signs_at_the_time_the_caller_signs_at() {
    let (proxy, _) = loopback_issuer_proxy("issuer-first-use").await;
    let federation = &proxy.state.federation;
    let earlier = alphaswarm_proxy::federation::now() - 5;
    let first = federation
        .mint_at("org:acme", &audience(), earlier)
        .await
        .expect("the first key signs at the caller's time");
    assert_eq!(first.issued_at, earlier);
    let jwks = federation.jwks_at(earlier).await.unwrap();
    assert_eq!(jwks.keys.len(), 1);
    assert_eq!(jwks.keys[0].kid, first.kid);
}
