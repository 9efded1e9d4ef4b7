//! The AWS client against loopback peers: a real moto server in auth mode
//! (two accounts, the core's trust policy really evaluated), and the AWS
//! fake of `alphaswarm-fakes` (its own SigV4 verification, IAM's
//! authorisation), alone or mirroring moto for SimulatePrincipalPolicy.

mod common;
mod support;

use std::collections::HashMap;
use std::time::Duration;

use alphaswarm_core::CoreError;
use alphaswarm_fakes::aws::AwsFakeConfig;
use alphaswarm_proxy::aws::{
    AssumedCredentials, AwsApi, AwsConfig, AwsError, Decision, QueryClient, VirtualClock,
    retry_while_settling,
};
use common::{Grant, LoopbackAws, Trust, external_id_for};
use support::moto::{CUSTOMER_ACCOUNT, Moto, PARTNER_ACCOUNT, RoleSpec, baseline, trust_policy};

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
        permissions: baseline(),
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

    // Step 4 with the same credentials: IAM goes to the AWS fake mirroring
    // moto, which knows these temporary keys and the role's policies there.
    let iam = moto.iam_mirror().await;
    let aws = moto_client(&moto, Some(&iam.url()));
    let actions = strings(&[
        "sts:GetCallerIdentity",
        "iam:GetRole",
        "iam:SimulatePrincipalPolicy",
        "ec2:DescribeRegions",
        "s3:ListAllMyBuckets",
    ]);
    let results = aws
        .simulate_principal_policy(&creds, &role_arn, &actions)
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
            ("iam:GetRole", Decision::Allowed),
            ("iam:SimulatePrincipalPolicy", Decision::Allowed),
            ("ec2:DescribeRegions", Decision::Allowed),
            ("s3:ListAllMyBuckets", Decision::ImplicitDeny),
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
        permissions: None,
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
    // Nor may it simulate its own policies (the AWS fake mirrors moto's role).
    let iam = moto.iam_mirror().await;
    let no_simulate = moto_client(&moto, Some(&iam.url()))
        .simulate_principal_policy(
            &bare,
            &Moto::role_arn(BARE_ROLE),
            &strings(&["iam:GetRole"]),
        )
        .await
        .unwrap_err();
    assert_eq!(no_simulate.code(), "simulate_denied", "{no_simulate:?}");

    // Retrying while IAM settles keeps refusing a wrong id until the
    // deadline. Virtual time: real refusals from moto, counted, no waiting.
    let clock = VirtualClock::new();
    let settled = retry_while_settling(
        &clock,
        Duration::from_millis(600),
        Duration::from_millis(100),
        || aws.assume_role(&role_arn, Some("as1-not-the-right-one"), SESSION),
    )
    .await;
    assert_eq!(settled.attempts, 4);
    assert_eq!(
        clock.sleeps(),
        [100, 200, 300].map(Duration::from_millis),
        "doubling, the last pause cut to the window"
    );
    assert_eq!(
        settled.result.unwrap_err().code(),
        "assume_role_access_denied"
    );
    let settled = retry_while_settling(
        &VirtualClock::new(),
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
        permissions: baseline(),
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
        permissions: baseline(),
    }])
    .await;
    let aws = moto_client(&moto, None);
    let err = aws
        .assume_role(&Moto::role_arn(SAFE_ROLE), Some(EXTERNAL_ID), SESSION)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "assume_role_access_denied");
}

// ------------------------------------------------------------ the AWS fake alone

/// A client whose endpoints are the fake and whose platform keys are its
/// platform user's; IAM's region is left to the client (us-east-1).
fn fake_client(aws: &LoopbackAws) -> QueryClient {
    let env = aws.env();
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    client(&vars)
}

/// The org whose rendered artifacts the fake's roles are built from.
const ORG: &str = "acme";

#[tokio::test]
async fn simulation_follows_pages_and_keeps_the_order() {
    // IAM may answer fewer results than asked for: two per page here.
    let aws = LoopbackAws::start_with(AwsFakeConfig {
        max_items: 2,
        ..Default::default()
    })
    .await;
    let role = aws.role(
        ORG,
        "alphaswarm-broker-acme",
        Trust::Rendered,
        Grant::Baseline,
    );
    let client = fake_client(&aws);
    let creds = client
        .assume_role(&role, Some(&external_id_for(ORG)), SESSION)
        .await
        .expect("assume role");
    let actions = strings(&[
        "sts:GetCallerIdentity",
        "iam:GetRole",
        "ec2:DescribeRegions",
        "s3:ListAllMyBuckets",
        "iam:GetRole",
    ]);
    let results = client
        .simulate_principal_policy(&creds, &role, &actions)
        .await
        .expect("simulate");
    let got: Vec<(&str, &str)> = results
        .iter()
        .map(|r| (r.action.as_str(), r.decision.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("sts:GetCallerIdentity", "allowed"),
            ("iam:GetRole", "allowed"),
            ("ec2:DescribeRegions", "allowed"),
            ("s3:ListAllMyBuckets", "implicitDeny"),
            ("iam:GetRole", "allowed"),
        ]
    );
    let pages = aws
        .state
        .calls()
        .iter()
        .filter(|c| c.action == "SimulatePrincipalPolicy" && c.status == 200)
        .count();
    assert_eq!(pages, 3, "three pages of two");
}

/// Signs an IAM GetRole for `service`/`region` with the aws-sigv4 crate
/// directly (an independent signer), as the given credentials.
fn signed_get_role(
    url: &str,
    creds: &AssumedCredentials,
    service: &str,
    region: &str,
) -> reqwest::RequestBuilder {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let body = "Action=GetRole&Version=2010-05-08&RoleName=alphaswarm-broker-acme";
    let host = url.trim_start_matches("http://").to_owned();
    let identity: aws_smithy_runtime_api::client::identity::Identity =
        aws_credential_types::Credentials::new(
            creds.access_key_id.clone(),
            creds.secret_access_key().to_owned(),
            Some(creds.session_token().to_owned()),
            None,
            "test",
        )
        .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let headers = [("host", host.as_str()), ("content-type", content_type)];
    let target = format!("{url}/");
    let signable = SignableRequest::new(
        "POST",
        target.as_str(),
        headers.iter().copied(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut request = common::http_client()
        .post(target)
        .header("content-type", content_type)
        .body(body);
    for (name, value) in instructions.headers() {
        request = request.header(name, value);
    }
    request
}

#[tokio::test]
async fn the_fake_refuses_what_iam_refuses_and_the_client_classifies_it() {
    let aws = LoopbackAws::start().await;
    let role = aws.role(
        ORG,
        "alphaswarm-broker-acme",
        Trust::Rendered,
        Grant::Baseline,
    );
    let client = fake_client(&aws);
    let creds = client
        .assume_role(&role, Some(&external_id_for(ORG)), SESSION)
        .await
        .unwrap();
    let actions = strings(&["iam:GetRole"]);

    let unknown_role = client
        .simulate_principal_policy(
            &creds,
            &common::role_arn(common::CUSTOMER, "gone"),
            &actions,
        )
        .await
        .unwrap_err();
    assert_eq!(
        (unknown_role.code(), unknown_role.aws_code()),
        ("role_not_found", Some("NoSuchEntity"))
    );

    let wrong_secret = AssumedCredentials::new(
        creds.access_key_id.clone(),
        "another-secret",
        creds.session_token(),
        creds.expiration.clone(),
        creds.assumed_role_arn.clone(),
    );
    let forged = client
        .simulate_principal_policy(&wrong_secret, &role, &actions)
        .await
        .unwrap_err();
    assert_eq!(
        (forged.code(), forged.aws_code()),
        ("aws_unexpected", Some("SignatureDoesNotMatch"))
    );

    let stranger = AssumedCredentials::new("ASIASTRANGER", "s", "t", "", "");
    let refused = client
        .simulate_principal_policy(&stranger, &role, &actions)
        .await
        .unwrap_err();
    assert_eq!(refused.aws_code(), Some("InvalidClientTokenId"));

    let no_actions = client
        .simulate_principal_policy(&creds, &role, &[])
        .await
        .unwrap_err();
    assert_eq!(no_actions.aws_code(), Some("ValidationError"));

    // Signed by another signer for the wrong region, then the wrong
    // service; the same request signed right is answered.
    for (service, region, status, says) in [
        (
            "iam",
            "eu-west-1",
            403,
            "Credential should be scoped to a valid region, not &apos;eu-west-1&apos;",
        ),
        (
            "sts",
            "us-east-1",
            403,
            "Credential should be scoped to correct service: &apos;iam&apos;",
        ),
        (
            "iam",
            "us-east-1",
            200,
            "<RoleName>alphaswarm-broker-acme</RoleName>",
        ),
    ] {
        let response = signed_get_role(aws.url(), &creds, service, region)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{service} {region}");
        let text = response.text().await.unwrap();
        assert!(text.contains(says), "{service} {region}: {text}");
    }

    // The fake itself refuses an unsigned request.
    let unsigned = common::http_client()
        .post(format!("{}/", aws.url()))
        .header("content-type", "application/x-www-form-urlencoded")
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

    // Temporary credentials expire.
    aws.state.expire_sessions();
    let expired = client.caller_identity(&creds).await.unwrap_err();
    assert_eq!(
        (expired.code(), expired.aws_code()),
        ("expired_token", Some("ExpiredToken"))
    );
    let expired = client.describe_regions(&creds).await.unwrap_err();
    assert_eq!(
        (expired.code(), expired.aws_code()),
        ("expired_token", Some("RequestExpired"))
    );

    // A role the platform may not assume, and a role that does not exist,
    // are the same AccessDenied from STS.
    let missing = client
        .assume_role(
            &common::role_arn(common::CUSTOMER, "missing"),
            Some(&external_id_for(ORG)),
            SESSION,
        )
        .await
        .unwrap_err();
    assert_eq!(
        (missing.code(), missing.aws_code()),
        ("assume_role_access_denied", Some("AccessDenied"))
    );
    let without_id = client.assume_role(&role, None, SESSION).await.unwrap_err();
    assert_eq!(
        without_id.code(),
        "assume_role_access_denied",
        "a missing ExternalId is denied"
    );
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
        .describe_regions(&AssumedCredentials::new(
            "ASIAFAKEACCESSKEY001",
            "secret",
            "token",
            "",
            "",
        ))
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
