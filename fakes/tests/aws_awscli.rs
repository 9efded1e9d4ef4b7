//! The fake AWS as a customer and AlphaSwarm meet it through the real
//! awscli (botocore signs every request; the fake verifies with its own
//! SigV4): the customer's administrator runs the bash commands the core
//! rendered for step 2, the platform assumes the role with the external id,
//! and the role session then does exactly what the baseline allows.

mod support;

use alphaswarm_core::aws::{self, AwsBootstrapRequest};
use alphaswarm_fakes::aws::{AwsFake, AwsFakeConfig};
use support::*;

const EXTERNAL_ID: &str = "3f9a0c2d5e7b4a1c8d6e2f0a9b7c5d3e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendered_commands_build_a_role_that_allows_exactly_the_baseline() {
    let fake = AwsFake::start(AwsFakeConfig::default()).await.unwrap();
    let state = fake.state();
    let endpoint = fake.url();
    let admin = state
        .create_user(CUSTOMER, "customer-admin", ALLOW_EVERYTHING)
        .unwrap();
    let admin = Creds {
        id: admin.access_key_id,
        secret: admin.secret_access_key,
        token: None,
    };
    let platform = state
        .create_user(PARTNER, "alphaswarm-platform", ALLOW_ASSUME_ROLE)
        .unwrap();
    let platform = Creds {
        id: platform.access_key_id,
        secret: platform.secret_access_key,
        token: None,
    };

    // Step 2's bundle, applied as the customer's administrator would.
    let b = AwsBootstrapRequest {
        org_id: "org-acme".into(),
        partner_account_id: PARTNER.into(),
        external_id: EXTERNAL_ID.into(),
        role_path: Some("/alphaswarm/".into()),
        ..Default::default()
    }
    .validate()
    .unwrap();
    let bundle = b.bundle().unwrap();
    let dir = temp_dir("awscli");
    for f in &bundle.files {
        std::fs::write(dir.join(&f.name), &f.contents).unwrap();
    }
    let run = |creds: &Creds, script: &str| bash(&dir, &endpoint, creds, "us-east-1", script);
    let created = run(&admin, &bundle.commands.bash_script());
    assert!(created.ok, "{}", created.stderr);
    let arn = created.stdout.lines().last().unwrap().trim().to_owned();
    assert_eq!(
        arn,
        format!("arn:aws:iam::{CUSTOMER}:role/alphaswarm/alphaswarm-broker-org-acme")
    );
    assert_eq!(
        state.role_policies(&arn),
        Some((vec![aws::BASELINE_POLICY_NAME.to_owned()], vec![]))
    );
    let role = run(
        &admin,
        "aws iam get-role --role-name alphaswarm-broker-org-acme",
    )
    .json();
    assert_eq!(role["Role"]["AssumeRolePolicyDocument"], b.trust_policy());
    let inline = run(
        &admin,
        &format!(
            "aws iam get-role-policy --role-name alphaswarm-broker-org-acme --policy-name {}",
            aws::BASELINE_POLICY_NAME
        ),
    )
    .json();
    assert_eq!(inline["PolicyDocument"], aws::baseline_policy());

    // The platform assumes it only with the external id.
    let assume = |extra: &str| {
        run(
            &platform,
            &format!(
                "aws sts assume-role --role-arn {arn} --role-session-name alphaswarm-validate{extra}"
            ),
        )
    };
    for refused in ["", " --external-id someone-elses-id"] {
        let out = assume(refused);
        assert!(
            !out.ok && out.stderr.contains("AccessDenied"),
            "{refused:?}: {}",
            out.stderr
        );
    }
    let session = assume(&format!(" --external-id {EXTERNAL_ID}")).json();
    let session = Creds {
        id: session["Credentials"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned(),
        secret: session["Credentials"]["SecretAccessKey"]
            .as_str()
            .unwrap()
            .to_owned(),
        token: session["Credentials"]["SessionToken"]
            .as_str()
            .map(str::to_owned),
    };
    let who = run(&session, "aws sts get-caller-identity").json();
    assert_eq!(who["Account"], CUSTOMER);
    assert_eq!(
        who["Arn"],
        format!(
            "arn:aws:sts::{CUSTOMER}:assumed-role/alphaswarm-broker-org-acme/alphaswarm-validate"
        )
    );

    // Step 4 as the role itself: the baseline is allowed, nothing else.
    let simulate = format!(
        "aws iam simulate-principal-policy --policy-source-arn {arn} --action-names sts:GetCallerIdentity iam:GetRole iam:SimulatePrincipalPolicy ec2:DescribeRegions s3:ListAllMyBuckets iam:CreateRole"
    );
    let decisions = |out: serde_json::Value| -> Vec<(String, String)> {
        out["EvaluationResults"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["EvalActionName"].as_str().unwrap().to_owned(),
                    r["EvalDecision"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let baseline_then_two_denied = vec![
        ("sts:GetCallerIdentity".to_owned(), "allowed".to_owned()),
        ("iam:GetRole".to_owned(), "allowed".to_owned()),
        (
            "iam:SimulatePrincipalPolicy".to_owned(),
            "allowed".to_owned(),
        ),
        ("ec2:DescribeRegions".to_owned(), "allowed".to_owned()),
        ("s3:ListAllMyBuckets".to_owned(), "implicitDeny".to_owned()),
        ("iam:CreateRole".to_owned(), "implicitDeny".to_owned()),
    ];
    assert_eq!(
        decisions(run(&session, &simulate).json()),
        baseline_then_two_denied
    );
    let regions = run(&session, "aws ec2 describe-regions --all-regions").json();
    let listed = regions["Regions"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|r| r["RegionName"] == "eu-west-1" && r["OptInStatus"] == "opt-in-not-required")
    );
    assert!(listed.iter().any(|r| r["OptInStatus"] == "not-opted-in"));
    assert!(
        run(
            &session,
            "aws iam get-role --role-name alphaswarm-broker-org-acme"
        )
        .ok
    );
    let create = run(
        &session,
        "aws iam create-role --role-name escalate --assume-role-policy-document file://trust_policy.json",
    );
    assert!(
        !create.ok && create.stderr.contains("AccessDenied"),
        "{}",
        create.stderr
    );

    // IAM is signed for us-east-1 only; the awscli in eu-west-1 signs for it.
    let wrong_region = bash(
        &dir,
        &endpoint,
        &session,
        "eu-west-1",
        "aws iam get-role --role-name alphaswarm-broker-org-acme",
    );
    assert!(
        !wrong_region.ok
            && wrong_region.stderr.contains("SignatureDoesNotMatch")
            && wrong_region
                .stderr
                .contains("Credential should be scoped to a valid region, not 'eu-west-1'"),
        "{}",
        wrong_region.stderr
    );
    // Without the baseline the role cannot even simulate; the broad
    // alternative from the notes (ReadOnlyAccess) covers all four again.
    assert!(run(&admin, &format!(
        "aws iam delete-role-policy --role-name alphaswarm-broker-org-acme --policy-name {}",
        aws::BASELINE_POLICY_NAME
    ))
    .ok);
    let no_get_role = run(
        &session,
        "aws iam get-role --role-name alphaswarm-broker-org-acme",
    );
    assert!(
        !no_get_role.ok && no_get_role.stderr.contains("AccessDenied"),
        "{}",
        no_get_role.stderr
    );
    let denied = run(&session, &simulate);
    assert!(
        !denied.ok
            && denied.stderr.contains("AccessDenied")
            && denied.stderr.contains("iam:SimulatePrincipalPolicy"),
        "{}",
        denied.stderr
    );
    let broad =
        alphaswarm_core::shell::Commands::render(&aws::managed_policy_commands(&b)).unwrap();
    assert!(run(&admin, &broad.bash_script()).ok);
    let with_read_only = decisions(run(&session, &simulate).json());
    assert_eq!(with_read_only[..4], baseline_then_two_denied[..4]);
    assert_eq!(
        with_read_only[4].1, "allowed",
        "ReadOnlyAccess lists s3:List*"
    );
    assert_eq!(
        with_read_only[5].1, "implicitDeny",
        "and nothing that writes"
    );

    // DeleteRole as IAM does it: refused while a policy is attached.
    let delete = run(
        &admin,
        "aws iam delete-role --role-name alphaswarm-broker-org-acme",
    );
    assert!(
        !delete.ok && delete.stderr.contains("DeleteConflict"),
        "{}",
        delete.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
    // Every request above was signed by botocore and verified by the fake.
    let calls = state.calls();
    assert!(
        calls.iter().filter(|c| c.status == 200).count() >= 12,
        "{calls:?}"
    );
    assert!(
        calls
            .iter()
            .all(|c| c.error_code.as_deref() != Some("IncompleteSignature"))
    );
}
