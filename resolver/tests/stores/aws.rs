//! AWS Secrets Manager on moto in auth mode.

use std::time::Duration;

use alphaswarm_core::CoreError;
use alphaswarm_fakes::oauth2::JwtIssuer;
use alphaswarm_resolver::{CredentialResolver, SecretValue, Source};

use crate::support::*;

/// The default chain with AWS selected, pointed at moto.
fn chain(home: &TempDir, extra: &[(&str, &str)]) -> CredentialResolver {
    let p = peers();
    let base = [
        ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "aws"),
        ("ALPHASWARM_AWS_REGION", REGION),
        ("AWS_ENDPOINT_URL", p.moto_url.as_str()),
    ];
    default_chain(home, &base, extra)
}

fn as_user(user: &(String, String)) -> [(&'static str, &str); 2] {
    [
        ("AWS_ACCESS_KEY_ID", &user.0),
        ("AWS_SECRET_ACCESS_KEY", &user.1),
    ]
}

#[tokio::test]
async fn seed_examples_round_trip_plain_and_json() {
    let home = TempDir::new();
    let password = canary();
    // Seed 000: a plain-string payload, exposed as `credential`.
    put_aws_secret("alphaswarm/broker/api_key", "sk_live_abcdef1234567890").await;
    put_aws_secret(
        "alphaswarm/postgres/password",
        &format!(r#"{{"password": "{password}", "username": "alphaswarm"}}"#),
    )
    .await;
    let resolver = chain(&home, &as_user(&peers().reader));
    let broker = resolver.resolve(&key("broker:api_key")).await.unwrap();
    assert_eq!(broker.source(), Source::AwsSecretsManager);
    assert_eq!(broker.get("credential"), Some("sk_live_abcdef1234567890"));
    let postgres = resolver.resolve(&key("postgres:password")).await.unwrap();
    assert_eq!(postgres.require("password").unwrap(), password);
    assert_eq!(postgres.get("username"), Some("alphaswarm"));
    assert_no_canary(
        &format!("{postgres:?} {}", resolver.describe()),
        &[&password],
    );
}

#[tokio::test]
async fn a_missing_secret_falls_through_to_env_or_is_named() {
    let home = TempDir::new();
    let prefix = format!("t{}/", random_hex(4));
    let mut extra = as_user(&peers().reader).to_vec();
    extra.push(("ALPHASWARM_AWS_SECRETSMANAGER_PREFIX", &prefix));
    let resolver = chain(&home, &extra);
    let err = resolver.resolve(&key("absent:key")).await.unwrap_err();
    assert_eq!(err.code(), "credential_not_found");
    assert!(
        err.to_string()
            .contains(&format!("aws_secrets_manager {prefix}absent/key")),
        "{err}"
    );

    extra.push(("ABSENT_KEY", "from-env"));
    let resolver = chain(&home, &extra);
    assert_eq!(
        resolver.resolve(&key("absent:key")).await.unwrap().source(),
        Source::Env
    );
}

#[tokio::test]
async fn access_denied_in_auth_mode_is_reported_and_never_replaced_by_the_default() {
    let home = TempDir::new();
    let secret = canary();
    let name = format!("t{}/billing/api_key", random_hex(4));
    put_aws_secret(&name, &secret).await;
    let prefix = name.trim_end_matches("billing/api_key").to_owned();
    let mut extra = as_user(&peers().denied).to_vec();
    extra.push(("ALPHASWARM_AWS_SECRETSMANAGER_PREFIX", &prefix));
    let resolver = chain(&home, &extra);
    let err = resolver
        .resolve_or(&key("billing:api_key"), SecretValue::parse("fallback"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "store_access_denied", "{err}");
    let shown = format!("{err} {err:?} {}", err.hint());
    assert!(
        shown.contains("AccessDenied") && shown.contains("resolver-test-denied"),
        "{shown}"
    );
    assert!(shown.contains("secretsmanager:GetSecretValue"), "{shown}");
    assert_no_canary(&shown, &[&secret]);

    // The reader gets it; the env safety net answers the denied one.
    let mut reader = as_user(&peers().reader).to_vec();
    reader.push(("ALPHASWARM_AWS_SECRETSMANAGER_PREFIX", &prefix));
    let value = chain(&home, &reader)
        .resolve(&key("billing:api_key"))
        .await
        .unwrap();
    assert_eq!(value.get("credential"), Some(secret.as_str()));
    extra.push(("BILLING_API_KEY", "from-env"));
    let resolution = chain(&home, &extra)
        .resolve_detailed(&key("billing:api_key"), None)
        .await
        .unwrap();
    assert_eq!(resolution.credential.source(), Source::Env);
    assert_eq!(
        resolution.passed_over[0].error.kind.code(),
        "store_access_denied"
    );
}

#[tokio::test]
async fn an_unknown_access_key_is_unauthenticated() {
    let home = TempDir::new();
    let secret = canary();
    let resolver = chain(
        &home,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIANOTAKEY000000000"),
            ("AWS_SECRET_ACCESS_KEY", &secret),
        ],
    );
    let err = resolver.resolve(&key("broker:api_key")).await.unwrap_err();
    assert_eq!(err.code(), "store_unauthenticated", "{err}");
    assert_no_canary(&format!("{err} {err:?}"), &[&secret]);
}

#[tokio::test]
async fn web_identity_irsa_and_a_shared_profile_supply_credentials() {
    let p = peers();
    let home = TempDir::new();
    put_aws_secret("alphaswarm/irsa/check", r#"{"ok": "yes"}"#).await;
    let issuer = JwtIssuer::new(&p.irsa_issuer);
    let token_file = home.write(
        "token",
        &issuer.mint(
            &p.irsa_subject,
            "sts.amazonaws.com",
            Duration::from_secs(3600),
        ),
    );
    let token_path = token_file.display().to_string();
    let irsa = [
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token_path.as_str()),
        ("AWS_ROLE_ARN", p.irsa_role_arn.as_str()),
    ];
    let resolver = chain(&home, &irsa);
    assert!(resolver.describe().to_string().contains(
        "web identity (AWS_WEB_IDENTITY_TOKEN_FILE) as arn:aws:iam::123456789012:role/resolver-irsa"
    ));
    let credential = resolver.resolve(&key("irsa:check")).await.unwrap();
    assert_eq!(credential.get("ok"), Some("yes"));

    // A token for another service account is refused by the role's trust policy.
    home.write(
        "token",
        &issuer.mint(
            "system:serviceaccount:other:intruder",
            "sts.amazonaws.com",
            Duration::from_secs(3600),
        ),
    );
    let err = chain(&home, &irsa)
        .resolve(&key("irsa:check"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "store_unauthenticated", "{err}");
    assert!(
        err.to_string().contains("AssumeRoleWithWebIdentity"),
        "{err}"
    );

    // Static keys from ~/.aws/credentials, profile chosen by AWS_PROFILE.
    home.write(
        ".aws/credentials",
        &format!("[default]\naws_access_key_id = AKIAWRONG\n\n[ops]\naws_access_key_id = {}\naws_secret_access_key = {}\n", p.reader.0, p.reader.1),
    );
    let resolver = chain(&home, &[("AWS_PROFILE", "ops")]);
    assert!(resolver.describe().to_string().contains("profile ops in"));
    assert_eq!(
        resolver
            .resolve(&key("irsa:check"))
            .await
            .unwrap()
            .get("ok"),
        Some("yes")
    );
}
