#![cfg(not(target_arch = "wasm32"))]
//! The rendered AWS commands and template, run for real: awscli against a
//! moto server on 127.0.0.1 (both from the project venv, scripts/lib.sh
//! ensure_venv). What AWS would create, moto creates; the ARN it returns must
//! parse with our role ARN parser and name the role we rendered.
// Tests and benches run real tools and files; the purity rules of
// core/clippy.toml are for core/src.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

mod support;

use alphaswarm_core::aws::{self, AwsBootstrapRequest, RoleArn};
use alphaswarm_core::shell::Commands;
use serde_json::{Value, json};
use std::path::Path;
use support::moto::{MOTO_ACCOUNT, Moto, bundle_dir};

const PARTNER: &str = "111122223333";
const EXTERNAL_ID: &str = "3f9a0c2d5e7b4a1c8d6e2f0a9b7c5d3e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c";

fn expected_trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AlphaSwarmBroker",
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:aws:iam::{PARTNER}:root") },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "sts:ExternalId": EXTERNAL_ID } },
        }]
    })
}

fn check_trust_policy(moto: &Moto, dir: &Path, role: &str) {
    let got = moto.json(dir, &format!("aws iam get-role --role-name {role}"));
    assert_eq!(
        got["Role"]["AssumeRolePolicyDocument"],
        expected_trust_policy()
    );
}

fn attached_policies(moto: &Moto, dir: &Path, role: &str) -> Value {
    moto.json(
        dir,
        &format!("aws iam list-attached-role-policies --role-name {role}"),
    )["AttachedPolicies"]
        .clone()
}

/// The role holds exactly the least-privilege inline policy.
fn check_baseline_policy(moto: &Moto, dir: &Path, role: &str) {
    let inline = moto.json(
        dir,
        &format!(
            "aws iam get-role-policy --role-name {role} --policy-name {}",
            aws::BASELINE_POLICY_NAME
        ),
    );
    assert_eq!(inline["PolicyDocument"], aws::baseline_policy(), "{inline}");
    let names = moto.json(
        dir,
        &format!("aws iam list-role-policies --role-name {role}"),
    );
    assert_eq!(names["PolicyNames"], json!([aws::BASELINE_POLICY_NAME]));
}

#[test]
fn rendered_cli_commands_and_template_create_the_role_in_moto() {
    let moto = Moto::start();

    // CLI path, with a role path, exactly as an operator pastes it.
    let req = AwsBootstrapRequest {
        org_id: "org-acme".into(),
        partner_account_id: PARTNER.into(),
        external_id: EXTERNAL_ID.into(),
        role_path: Some("/alphaswarm/".into()),
        ..Default::default()
    };
    let b = req.validate().unwrap();
    let bundle = b.bundle().unwrap();
    let dir = bundle_dir("cli", &bundle);
    let stdout = moto.bash(&dir, &bundle.commands.bash_script());
    let printed = stdout.lines().last().unwrap().trim();
    let arn: RoleArn = printed.parse().unwrap();
    assert_eq!(arn.account_id.as_str(), MOTO_ACCOUNT);
    assert_eq!(arn.path.as_str(), "/alphaswarm/");
    assert_eq!(arn.name.as_str(), "alphaswarm-broker-org-acme");
    check_trust_policy(&moto, &dir, arn.name.as_str());
    check_baseline_policy(&moto, &dir, arn.name.as_str());
    assert_eq!(
        attached_policies(&moto, &dir, arn.name.as_str()),
        json!([]),
        "nothing broad by default"
    );
    // The broad addition from the notes attaches exactly the managed policy.
    let broad = Commands::render(&aws::managed_policy_commands(&b)).unwrap();
    moto.bash(&dir, &broad.bash_script());
    assert_eq!(
        attached_policies(&moto, &dir, arn.name.as_str())[0]["PolicyArn"],
        b.policy_arn()
    );

    // CloudFormation path, for the admin tenant: the stack name differs from
    // the CLI role name, and the template names the role after the stack.
    let req = AwsBootstrapRequest {
        org_id: "__platform__".into(),
        ..req
    };
    let b = req.validate().unwrap();
    let bundle = b.bundle().unwrap();
    let dir = bundle_dir("cfn", &bundle);
    let create_stack = Commands::render(&aws::cloudformation_commands(&b)[..1]).unwrap();
    moto.bash(&dir, &create_stack.bash_script());
    let stack = b.stack_name().value;
    let outputs = moto.json(
        &dir,
        &format!("aws cloudformation describe-stacks --stack-name {stack} --region us-east-1"),
    );
    let output = &outputs["Stacks"][0]["Outputs"][0];
    assert_eq!(output["OutputKey"], "RoleArn");
    let arn: RoleArn = output["OutputValue"].as_str().unwrap().parse().unwrap();
    assert_eq!(arn.name.as_str(), stack);
    assert_ne!(
        stack,
        b.role_name().value,
        "the remark in the notes is real"
    );
    check_trust_policy(&moto, &dir, &stack);
    // The stack's role carries the same inline policy. moto's CloudFormation
    // stores the document as a Python dict's repr (single quotes), so it is
    // read back through that before comparing.
    let inline = moto.json(
        &dir,
        &format!(
            "aws iam get-role-policy --role-name {stack} --policy-name {}",
            aws::BASELINE_POLICY_NAME
        ),
    );
    let stored = inline["PolicyDocument"]
        .as_str()
        .unwrap()
        .replace('\'', "\"");
    assert_eq!(
        serde_json::from_str::<Value>(&stored).unwrap(),
        aws::baseline_policy()
    );

    let _ = std::fs::remove_dir_all(dir);
}
