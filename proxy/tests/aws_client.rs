//! The AWS client against loopback peers: a real moto server in auth mode
//! (two accounts, the core's trust policy really evaluated) and a fake for
//! SimulatePrincipalPolicy that verifies SigV4 signatures.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use alphaswarm_core::CoreError;
use alphaswarm_proxy::aws::{
    AssumedCredentials, AwsApi, AwsConfig, AwsError, Decision, QueryClient, TokioClock,
    retry_while_settling,
};
use support::iam_sim_fake::{FakeConfig, IamSimFake, KnownKeys};
use support::moto::{CUSTOMER_ACCOUNT, Moto, PARTNER_ACCOUNT, RoleSpec, trust_policy};

const EXTERNAL_ID: &str = "as1-3f7c0e9a4b2d4c6e8f1a2b3c4d5e6f70";
const SAFE_ROLE: &str = "alphaswarm-broker-acme";
const UNSAFE_ROLE: &str = "alphaswarm-broker-no-condition";
const BARE_ROLE: &str = "alphaswarm-broker-no-permissions";
const SESSION: &str = "alphaswarm-validate-acme";

fn client(vars: &[(&str, &str)]) -> QueryClient {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let config = AwsConfig::from_lookup(|name| vars.get(name).cloned()).expect("valid config");
    QueryClient::new(config).expect("client builds")
}

fn moto_client(moto: &Moto, iam_url: Option<&str>) -> QueryClient {
    let mut vars = vec![
        ("ALPHASWARM_ADMIN_AWS_ENDPOINT_URL", moto.url.as_str()),
        ("AWS_ACCESS_KEY_ID", moto.platform_access_key_id.as_str()),
        (
            "AWS_SECRET_ACCESS_KEY",
            moto.platform_secret_access_key.as_str(),
        ),
    ];
    if let Some(iam) = iam_url {
        vars.push(("ALPHASWARM_ADMIN_AWS_IAM_ENDPOINT_URL", iam));
    }
    client(&vars)
}

fn safe_role() -> RoleSpec {
    RoleSpec {
        name: SAFE_ROLE,
        trust_policy: trust_policy(PARTNER_ACCOUNT, Some(EXTERNAL_ID)),
        with_permissions: true,
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn right_external_id_reaches_the_customer_account_and_its_regions() {
    let moto = Moto::start(&[safe_role()]).await;
    let role_arn = Moto::role_arn(SAFE_ROLE);
    let aws = moto_client(&moto, None);

    let creds = aws
        .assume_role(&role_arn, Some(EXTERNAL_ID), SESSION)
        .await
        .expect("assume role");
    let printed = format!("{creds:?}");
    assert!(
        !printed.contains(creds.secret_access_key()) && !printed.contains(creds.session_token())
    );
    assert!(printed.contains("<redacted>"));
    assert!(!creds.session_token().is_empty());

    let identity = aws.caller_identity(&creds).await.expect("caller identity");
    assert_eq!(
        identity.account, CUSTOMER_ACCOUNT,
        "the assumed credentials act in the role's account"
    );
    assert_ne!(identity.account, PARTNER_ACCOUNT);
    assert!(
        identity
            .arn
            .contains(&format!("assumed-role/{SAFE_ROLE}/{SESSION}")),
        "{}",
        identity.arn
    );

    let regions = aws
        .describe_regions(&creds)
        .await
        .expect("describe regions");
    assert!(regions.len() > 10, "got {} regions", regions.len());
    let us_east_1 = regions
        .iter()
        .find(|r| r.name == "us-east-1")
        .expect("us-east-1 listed");
    assert!(us_east_1.endpoint.contains("us-east-1"));
    assert!(
        regions
            .iter()
            .all(|r| ["opt-in-not-required", "opted-in", "not-opted-in"]
                .contains(&r.opt_in_status.as_str())),
        "{regions:?}"
    );

    // Step 4 with the same credentials: IAM goes to the fake, which accepts
    // only these temporary keys.
    let fake = IamSimFake::start(FakeConfig {
        keys: KnownKeys::default().with(
            &creds.access_key_id,
            creds.secret_access_key(),
            Some(creds.session_token()),
        ),
        policy_source_arn: role_arn.clone(),
        allowed: ["sts:GetCallerIdentity", "ec2:DescribeRegions"]
            .map(str::to_owned)
            .into(),
        page_size: 100,
    })
    .await;
    let aws = moto_client(&moto, Some(&fake.url));
    let baseline = strings(&[
        "sts:GetCallerIdentity",
        "iam:GetRole",
        "ec2:DescribeRegions",
    ]);
    let results = aws
        .simulate_principal_policy(&creds, &role_arn, &baseline)
        .await
        .expect("simulate");
    let decisions: Vec<(&str, Decision)> = results
        .iter()
        .map(|r| (r.action.as_str(), r.decision))
        .collect();
    assert_eq!(
        decisions,
        [
            ("sts:GetCallerIdentity", Decision::Allowed),
            ("iam:GetRole", Decision::ImplicitDeny),
            ("ec2:DescribeRegions", Decision::Allowed),
        ]
    );
    // STS and EC2 still went to moto: the identity call works after the IAM override.
    assert_eq!(
        aws.caller_identity(&creds).await.unwrap().account,
        CUSTOMER_ACCOUNT
    );
}

#[tokio::test]
async fn trust_policy_refusals_are_classified() {
    let bare = RoleSpec {
        name: BARE_ROLE,
        trust_policy: trust_policy(PARTNER_ACCOUNT, Some(EXTERNAL_ID)),
        with_permissions: false,
    };
    let moto = Moto::start(&[safe_role(), bare]).await;
    let role_arn = Moto::role_arn(SAFE_ROLE);
    let aws = moto_client(&moto, None);

    let wrong = aws
        .assume_role(&role_arn, Some("as1-not-the-right-one"), SESSION)
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), "assume_role_access_denied");
    assert_eq!(wrong.field(), Some("role_arn"));
    assert_eq!(wrong.http_status(), 422);
    assert!(wrong.is_retryable_while_settling());

    // The confused-deputy check on a safe role: no external id, no entry.
    let without = aws.assume_role(&role_arn, None, SESSION).await.unwrap_err();
    assert_eq!(without.code(), "assume_role_access_denied");

    // A role that does not exist reads as AccessDenied, as in AWS; the hint names that cause.
    let missing = aws
        .assume_role(
            &Moto::role_arn("alphaswarm-broker-missing"),
            Some(EXTERNAL_ID),
            SESSION,
        )
        .await
        .unwrap_err();
    assert_eq!(missing.code(), "assume_role_access_denied");
    assert!(missing.hint().contains("does not exist yet"));

    // The platform's own key with a wrong secret: moto checks the signature.
    let forged = client(&[
        ("ALPHASWARM_ADMIN_AWS_ENDPOINT_URL", moto.url.as_str()),
        ("AWS_ACCESS_KEY_ID", moto.platform_access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", "not-the-platform-secret"),
    ]);
    let bad = forged
        .assume_role(&role_arn, Some(EXTERNAL_ID), SESSION)
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "platform_credentials_invalid");
    assert_eq!(bad.aws_code(), Some("SignatureDoesNotMatch"));

    // A trusted role without permissions: identity works, EC2 is refused by its policy.
    let bare = aws
        .assume_role(&Moto::role_arn(BARE_ROLE), Some(EXTERNAL_ID), SESSION)
        .await
        .expect("trusted role without permissions");
    assert_eq!(
        aws.caller_identity(&bare).await.unwrap().account,
        CUSTOMER_ACCOUNT
    );
    let no_ec2 = aws.describe_regions(&bare).await.unwrap_err();
    assert_eq!(no_ec2.code(), "aws_access_denied", "{no_ec2:?}");
    assert!(no_ec2.hint().contains("ec2:DescribeRegions"));

    // Retrying while IAM settles keeps refusing a wrong id until the deadline, counting attempts.
    let settled = retry_while_settling(
        &TokioClock,
        Duration::from_millis(600),
        Duration::from_millis(100),
        || aws.assume_role(&role_arn, Some("as1-not-the-right-one"), SESSION),
    )
    .await;
    assert!(settled.attempts >= 3, "attempts {}", settled.attempts);
    assert_eq!(
        settled.result.unwrap_err().code(),
        "assume_role_access_denied"
    );
    let settled = retry_while_settling(
        &TokioClock,
        Duration::from_secs(5),
        Duration::from_millis(100),
        || aws.assume_role(&role_arn, Some(EXTERNAL_ID), SESSION),
    )
    .await;
    assert_eq!(settled.attempts, 1);
    assert!(settled.result.is_ok());
}

#[tokio::test]
async fn trust_policy_without_external_id_condition_lets_anyone_assume() {
    let moto = Moto::start(&[RoleSpec {
        name: UNSAFE_ROLE,
        trust_policy: trust_policy(PARTNER_ACCOUNT, None),
        with_permissions: true,
    }])
    .await;
    let role_arn = Moto::role_arn(UNSAFE_ROLE);
    let aws = moto_client(&moto, None);
    // This is what the confused-deputy check detects: AssumeRole without the id succeeds.
    let creds = aws
        .assume_role(&role_arn, None, SESSION)
        .await
        .expect("unsafe role assumable without id");
    assert_eq!(
        aws.caller_identity(&creds).await.unwrap().account,
        CUSTOMER_ACCOUNT
    );

    // A trust policy naming another partner account refuses ours, even with the id.
    drop(moto);
    let moto = Moto::start(&[RoleSpec {
        name: SAFE_ROLE,
        trust_policy: trust_policy("999988887777", Some(EXTERNAL_ID)),
        with_permissions: true,
    }])
    .await;
    let aws = moto_client(&moto, None);
    let err = aws
        .assume_role(&Moto::role_arn(SAFE_ROLE), Some(EXTERNAL_ID), SESSION)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "assume_role_access_denied");
}

// ------------------------------------------------------------ fake IAM only

fn fake_creds() -> AssumedCredentials {
    AssumedCredentials::new(
        "ASIAFAKEACCESSKEY001",
        "fake-secret-9f8e7d6c5b4a",
        "fake-session-token-abc",
        "2026-11-22T15:00:00Z",
        "arn:aws:sts::444455556666:assumed-role/r/s",
    )
}

async fn fake_iam(page_size: usize) -> IamSimFake {
    let creds = fake_creds();
    IamSimFake::start(FakeConfig {
        keys: KnownKeys::default().with(
            &creds.access_key_id,
            creds.secret_access_key(),
            Some(creds.session_token()),
        ),
        policy_source_arn: "arn:aws:iam::444455556666:role/r".to_owned(),
        allowed: BTreeSet::from(["iam:GetRole".to_owned(), "ec2:DescribeRegions".to_owned()]),
        page_size,
    })
    .await
}

fn iam_client(url: &str) -> QueryClient {
    client(&[("ALPHASWARM_ADMIN_AWS_IAM_ENDPOINT_URL", url)])
}

#[tokio::test]
async fn simulation_follows_pages_and_keeps_the_order() {
    let fake = fake_iam(2).await;
    let actions = strings(&[
        "sts:GetCallerIdentity",
        "iam:GetRole",
        "ec2:DescribeRegions",
        "s3:ListAllMyBuckets",
        "iam:GetRole",
    ]);
    let results = iam_client(&fake.url)
        .simulate_principal_policy(&fake_creds(), "arn:aws:iam::444455556666:role/r", &actions)
        .await
        .expect("simulate");
    let got: Vec<(&str, &str)> = results
        .iter()
        .map(|r| (r.action.as_str(), r.decision.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("sts:GetCallerIdentity", "implicitDeny"),
            ("iam:GetRole", "allowed"),
            ("ec2:DescribeRegions", "allowed"),
            ("s3:ListAllMyBuckets", "implicitDeny"),
            ("iam:GetRole", "allowed"),
        ]
    );
    assert_eq!(fake.calls(), [(200, 5); 3], "three pages of two");
}

#[tokio::test]
async fn simulation_refusals_are_classified() {
    let fake = fake_iam(100).await;
    let aws = iam_client(&fake.url);
    let role = "arn:aws:iam::444455556666:role/r";
    let actions = strings(&["iam:GetRole"]);

    let unknown_role = aws
        .simulate_principal_policy(
            &fake_creds(),
            "arn:aws:iam::444455556666:role/gone",
            &actions,
        )
        .await
        .unwrap_err();
    assert_eq!(unknown_role.code(), "role_not_found");

    let mut wrong_secret = fake_creds();
    wrong_secret = AssumedCredentials::new(
        wrong_secret.access_key_id.clone(),
        "another-secret",
        wrong_secret.session_token(),
        wrong_secret.expiration.clone(),
        wrong_secret.assumed_role_arn.clone(),
    );
    let forged = aws
        .simulate_principal_policy(&wrong_secret, role, &actions)
        .await
        .unwrap_err();
    assert_eq!(
        (forged.code(), forged.aws_code()),
        ("aws_unexpected", Some("SignatureDoesNotMatch"))
    );

    let stranger = AssumedCredentials::new("ASIASTRANGER", "s", "t", "", "");
    let refused = aws
        .simulate_principal_policy(&stranger, role, &actions)
        .await
        .unwrap_err();
    assert_eq!(refused.aws_code(), Some("InvalidClientTokenId"));

    let no_actions = aws
        .simulate_principal_policy(&fake_creds(), role, &[])
        .await
        .unwrap_err();
    assert_eq!(no_actions.aws_code(), Some("MissingParameter"));

    // The fake itself refuses an unsigned request.
    alphaswarm_proxy::aws::ensure_tls_provider();
    let unsigned = reqwest::Client::new()
        .post(format!("{}/", fake.url))
        .body("Action=SimulatePrincipalPolicy&Version=2010-05-08&PolicySourceArn=x&ActionNames.member.1=iam%3AGetRole")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);
    assert!(
        unsigned
            .text()
            .await
            .unwrap()
            .contains("MissingAuthenticationToken")
    );

    // Only the first call got an answer past the signature check.
    let statuses: Vec<u16> = fake.calls().iter().map(|(status, _)| *status).collect();
    assert_eq!(statuses, [404, 403, 403, 400, 403]);
}

// ------------------------------------------------------------ no peer at all

#[tokio::test]
async fn unreachable_and_silent_endpoints_are_aws_unreachable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let platform = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "canary-platform-secret"),
    ];
    let vars = [
        platform[0],
        platform[1],
        ("ALPHASWARM_ADMIN_AWS_ENDPOINT_URL", closed_url.as_str()),
    ];
    let err = client(&vars)
        .assume_role(
            "arn:aws:iam::444455556666:role/r",
            Some(EXTERNAL_ID),
            SESSION,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "aws_unreachable");
    assert_eq!(err.http_status(), 502);
    assert!(!format!("{err} {err:?} {}", err.hint()).contains("canary-platform-secret"));

    // Accepts the connection, never answers: the request timeout bounds the call.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let vars: HashMap<String, String> = [
        platform[0],
        platform[1],
        ("ALPHASWARM_ADMIN_AWS_ENDPOINT_URL", silent_url.as_str()),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let mut config = AwsConfig::from_lookup(|name| vars.get(name).cloned()).unwrap();
    config.request_timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let err = QueryClient::new(config)
        .unwrap()
        .describe_regions(&fake_creds())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AwsError::Unreachable { detail, .. } if detail.contains("timed out")),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    hold.abort();
}

#[tokio::test]
async fn missing_platform_credentials_say_which_variable() {
    let err = client(&[])
        .assume_role("arn:aws:iam::444455556666:role/r", None, SESSION)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "platform_credentials_missing");
    assert_eq!(err.field(), Some("AWS_ACCESS_KEY_ID"));
    assert_eq!(err.http_status(), 503);
}
