#![cfg(not(target_arch = "wasm32"))]
//! AWS bundle: snapshots, the role ARN parser, properties checked against a
//! real bash, shellcheck, awscli's shorthand parser and cfn-lint, and a
//! hostile-input corpus.
// Tests and benches run real tools and files; the purity rules of
// core/clippy.toml are for core/src.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

use alphaswarm_core::CoreError;
use alphaswarm_core::aws::{
    self, AwsBootstrap, AwsBootstrapRequest, AwsPartition, ROLE_NAME_RULE, RoleArn, RoleArnProblem,
    STACK_NAME_RULE,
};
use alphaswarm_core::baseline::AWS_REQUIRED_ACTIONS;
use alphaswarm_core::shell::Commands;
use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;

mod support;
use support::{assert_bash_round_trip, assert_only_templates, assert_shellcheck_clean};

/// The one interpolation the AWS Terraform makes: the module's own folder.
const PATH_MODULE: &str = "${path.module}";

const PARTNER: &str = "111122223333";
const EXTERNAL_ID: &str = "3f9a0c2d5e7b4a1c8d6e2f0a9b7c5d3e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c";
const TEMPLATE_URL: &str =
    "https://alphaswarm-templates.s3.amazonaws.com/v1/alphaswarm-broker-role.cfn.json";
const LONGEST_ORG: &str = "a0123456789-abcdefghijklmnopqrstuvwxyz_0123456789-abcdefghijklmz";

fn request(org: &str) -> AwsBootstrapRequest {
    AwsBootstrapRequest {
        org_id: org.to_owned(),
        partner_account_id: PARTNER.to_owned(),
        external_id: EXTERNAL_ID.to_owned(),
        ..Default::default()
    }
}

fn with_everything(org: &str) -> AwsBootstrapRequest {
    AwsBootstrapRequest {
        template_url: Some(TEMPLATE_URL.to_owned()),
        organizational_unit_ids: Some(vec!["ou-ab12-cd34ef56".into(), "r-ab12".into()]),
        ..request(org)
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn file<'a>(bundle: &'a alphaswarm_core::Bundle, name: &str) -> Option<&'a str> {
    bundle
        .files
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.contents.as_str())
}

// ---------------------------------------------------------------- snapshots

#[test]
fn longest_org_id_is_valid() {
    assert_eq!(LONGEST_ORG.len(), 64);
    assert!(alphaswarm_core::OrgId::parse(LONGEST_ORG).is_ok());
}

#[test]
fn snapshot_normal_org_minimal() {
    insta::assert_yaml_snapshot!(aws::render(&request("org-acme")).unwrap());
}

#[test]
fn snapshot_normal_org_with_template_url_and_ous() {
    let req = AwsBootstrapRequest {
        role_path: Some("/alphaswarm/".into()),
        managed_policy: Some("SecurityAudit".into()),
        ..with_everything("org-acme")
    };
    insta::assert_yaml_snapshot!(aws::render(&req).unwrap());
}

/// The files, scripts and Terraform of the fullest bundle, as plain text so
/// a reviewer reads them as an operator would.
#[test]
fn snapshot_artifacts_as_text() {
    let req = AwsBootstrapRequest {
        role_path: Some("/alphaswarm/".into()),
        ..with_everything("org-acme")
    };
    let b = req.validate().unwrap();
    let bundle = b.bundle().unwrap();
    for f in &bundle.files {
        insta::assert_snapshot!(format!("artifact_{}", f.name), f.contents);
    }
    let org: Value =
        serde_json::from_str(file(&bundle, "alphaswarm-broker-org.cfn.json").unwrap()).unwrap();
    insta::assert_snapshot!(
        "artifact_member_template",
        org["Resources"]["BrokerRoleStackSet"]["Properties"]["TemplateBody"]
            .as_str()
            .unwrap()
    );
    let mut all = aws::commands(&b);
    all.extend(aws::managed_policy_commands(&b));
    all.extend(aws::cloudformation_commands(&b));
    let rendered = Commands::render(&all).unwrap();
    insta::assert_snapshot!("artifact_bash", rendered.bash_script());
    insta::assert_snapshot!("artifact_powershell", rendered.powershell.join("\n\n"));
    insta::assert_snapshot!("artifact_terraform", bundle.terraform);
}

#[test]
fn snapshot_platform_with_template_url() {
    let req = AwsBootstrapRequest {
        template_url: Some(TEMPLATE_URL.into()),
        ..request("__platform__")
    };
    insta::assert_yaml_snapshot!(aws::render(&req).unwrap());
}

#[test]
fn snapshot_platform_minimal() {
    insta::assert_yaml_snapshot!(aws::render(&request("__platform__")).unwrap());
}

#[test]
fn snapshot_longest_org_minimal() {
    insta::assert_yaml_snapshot!(aws::render(&request(LONGEST_ORG)).unwrap());
}

#[test]
fn snapshot_longest_org_with_everything() {
    insta::assert_yaml_snapshot!(aws::render(&with_everything(LONGEST_ORG)).unwrap());
}

#[test]
fn snapshot_china_partition_from_region() {
    let req = AwsBootstrapRequest {
        region: Some("cn-northwest-1".into()),
        template_url: Some(TEMPLATE_URL.into()),
        ..request("org-acme")
    };
    let bundle = aws::render(&req).unwrap();
    insta::assert_yaml_snapshot!(bundle);
}

#[test]
fn bundle_facts_that_must_hold() {
    let bundle = aws::render(&with_everything("org-acme")).unwrap();
    let trust: Value = serde_json::from_str(file(&bundle, "trust_policy.json").unwrap()).unwrap();
    assert_eq!(
        trust,
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "AlphaSwarmBroker",
                "Effect": "Allow",
                "Principal": { "AWS": "arn:aws:iam::111122223333:root" },
                "Action": "sts:AssumeRole",
                "Condition": { "StringEquals": { "sts:ExternalId": EXTERNAL_ID } },
            }]
        })
    );
    assert_eq!(
        bundle.commands.bash[0],
        "aws iam create-role \\\n  --role-name alphaswarm-broker-org-acme \\\n  --assume-role-policy-document file://trust_policy.json \\\n  --description 'AlphaSwarm broker role for organisation org-acme'"
    );
    // Least privilege by default: the inline policy is exactly the baseline,
    // the commands put it, and nothing broader is attached unless asked.
    let policy: Value =
        serde_json::from_str(file(&bundle, aws::BASELINE_POLICY_FILE).unwrap()).unwrap();
    assert_eq!(
        policy,
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "AlphaSwarmBaseline",
                "Effect": "Allow",
                "Action": AWS_REQUIRED_ACTIONS,
                "Resource": "*",
            }]
        })
    );
    assert!(AWS_REQUIRED_ACTIONS.contains(&"iam:SimulatePrincipalPolicy"));
    assert_eq!(
        file(&bundle, aws::BASELINE_POLICY_FILE).unwrap(),
        aws::baseline_policy_json()
    );
    assert_eq!(
        bundle.commands.bash[1],
        "aws iam put-role-policy \\\n  --role-name alphaswarm-broker-org-acme \\\n  --policy-name alphaswarm-baseline \\\n  --policy-document file://alphaswarm_baseline_policy.json"
    );
    assert!(
        bundle
            .commands
            .bash
            .iter()
            .all(|c| !c.contains("attach-role-policy")),
        "the broad policy is never attached by default"
    );
    let statement = aws::simulate_statement();
    // Shown in hints as one line that wraps, and still exactly that JSON.
    let text = aws::simulate_statement_text();
    assert!(!text.contains('\n') && text.contains(", \"") && text.contains("\": "));
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), statement);
    assert!(AWS_REQUIRED_ACTIONS.contains(&statement["Action"].as_str().unwrap()));
    assert_eq!(
        (&statement["Effect"], &statement["Resource"]),
        (&json!("Allow"), &json!("*"))
    );
    let choose = bundle
        .notes
        .iter()
        .find(|n| n.starts_with("Which policy to choose"))
        .expect("the bundle says which policy to choose");
    assert!(choose.contains("alphaswarm-baseline") && choose.contains("ReadOnlyAccess"));
    assert!(bundle.notes.iter().any(|n| n.contains(
        "aws iam attach-role-policy \\\n  --role-name alphaswarm-broker-org-acme \\\n  --policy-arn arn:aws:iam::aws:policy/ReadOnlyAccess"
    )));
    // Terraform: the inline baseline always, the managed policy behind a
    // variable that is off unless set.
    let blocks = support::terraform_blocks(&bundle.terraform);
    for (kind, label) in [
        ("resource", "aws_iam_role_policy"),
        ("variable", "attach_managed_policy"),
        ("resource", "aws_iam_role_policy_attachment"),
    ] {
        assert!(
            blocks.iter().any(|(k, l)| k == kind && l[0] == label),
            "{kind} {label} missing: {blocks:?}"
        );
    }
    assert!(
        bundle
            .terraform
            .contains("count      = var.attach_managed_policy ? 1 : 0")
    );
    assert!(bundle.terraform.contains("default     = false"));
    let link = bundle
        .links
        .iter()
        .find(|l| l.name == "cloudformation_quick_create")
        .unwrap();
    assert!(link.url.starts_with(
        "https://console.aws.amazon.com/cloudformation/home?region=us-east-1#/stacks/quickcreate?templateURL=https%3A%2F%2Falphaswarm-templates.s3.amazonaws.com%2Fv1%2F"
    ));
    assert!(link.url.ends_with(&format!(
        "&stackName=alphaswarm-broker-org-acme&param_ExternalId={EXTERNAL_ID}"
    )));
    assert!(bundle.warnings.is_empty(), "{:?}", bundle.warnings);
    assert!(
        bundle
            .notes
            .iter()
            .any(|n| n.contains("never deploys to the management account"))
    );
    assert!(
        bundle
            .terraform
            .contains("assume_role_policy = file(\"${path.module}/trust_policy.json\")")
    );

    let minimal = aws::render(&request("__platform__")).unwrap();
    let codes: Vec<_> = minimal.warnings.iter().map(|w| w.code.as_str()).collect();
    // The role name fits; the stack name (no '_' allowed) is shortened.
    assert_eq!(codes, ["name_shortened", "template_url_missing"]);
    assert!(file(&minimal, "alphaswarm-broker-org.cfn.json").is_none());
    assert!(
        minimal
            .links
            .iter()
            .all(|l| l.name != "cloudformation_quick_create")
    );
}

#[test]
fn partition_hosts_and_arns_follow_the_region() {
    for (region, partition, host) in [
        ("us-west-2", "aws", "console.aws.amazon.com"),
        ("cn-north-1", "aws-cn", "console.amazonaws.cn"),
        (
            "us-gov-west-1",
            "aws-us-gov",
            "console.amazonaws-us-gov.com",
        ),
    ] {
        let req = AwsBootstrapRequest {
            region: Some(region.into()),
            template_url: Some(TEMPLATE_URL.into()),
            ..request("org-acme")
        };
        let bundle = aws::render(&req).unwrap();
        for link in &bundle.links {
            assert!(
                link.url.starts_with(&format!("https://{host}/")),
                "{}",
                link.url
            );
        }
        let trust = file(&bundle, "trust_policy.json").unwrap();
        assert!(trust.contains(&format!("arn:{partition}:iam::{PARTNER}:root")));
        let broad = format!("arn:{partition}:iam::aws:policy/ReadOnlyAccess");
        let offered = bundle
            .values
            .iter()
            .find(|v| v.name == "policy_arn")
            .unwrap();
        assert_eq!(offered.value, broad);
        assert!(bundle.terraform.contains(&format!("\"{broad}\"")));
        assert!(bundle.notes.iter().any(|n| n.contains(&broad)));
    }
    // An explicit partition that contradicts the region is refused.
    let req = AwsBootstrapRequest {
        partition: Some("aws-cn".into()),
        region: Some("us-east-1".into()),
        ..request("org-acme")
    };
    let err = aws::render(&req).unwrap_err();
    assert_eq!(
        (err.code(), err.field()),
        ("invalid_aws_region", Some("region"))
    );
    let req = AwsBootstrapRequest {
        partition: Some("aws-us-gov".into()),
        ..request("org-acme")
    };
    assert_eq!(req.validate().unwrap().region.as_str(), "us-gov-west-1");
}

#[test]
fn errors_name_the_request_field() {
    let cases: Vec<(AwsBootstrapRequest, &str, &str)> = vec![
        (request(""), "invalid_org_id", "org_id"),
        (
            AwsBootstrapRequest {
                partner_account_id: "11112222333".into(),
                ..request("org-acme")
            },
            "invalid_aws_account_id",
            "partner_account_id",
        ),
        (
            AwsBootstrapRequest {
                external_id: "x".into(),
                ..request("org-acme")
            },
            "invalid_external_id",
            "external_id",
        ),
        (
            AwsBootstrapRequest {
                partition: Some("aws-iso".into()),
                ..request("org-acme")
            },
            "invalid_aws_partition",
            "partition",
        ),
        (
            AwsBootstrapRequest {
                role_name_pattern: Some("broker".into()),
                ..request("org-acme")
            },
            "invalid_role_name_pattern",
            "role_name_pattern",
        ),
        (
            AwsBootstrapRequest {
                role_path: Some("alphaswarm".into()),
                ..request("org-acme")
            },
            "invalid_aws_role_path",
            "role_path",
        ),
        (
            AwsBootstrapRequest {
                template_url: Some("http://example.com/t.json".into()),
                ..request("org-acme")
            },
            "invalid_template_url",
            "template_url",
        ),
        (
            AwsBootstrapRequest {
                organizational_unit_ids: Some(vec!["ou-1".into()]),
                ..request("org-acme")
            },
            "invalid_organizational_unit_id",
            "organizational_unit_ids",
        ),
        (
            AwsBootstrapRequest {
                organizational_unit_ids: Some(vec!["r-ab12".into(); 101]),
                ..request("org-acme")
            },
            "invalid_input",
            "organizational_unit_ids",
        ),
        (
            AwsBootstrapRequest {
                managed_policy: Some("arn:aws:iam::aws:policy/ReadOnlyAccess".into()),
                ..request("org-acme")
            },
            "invalid_aws_managed_policy",
            "managed_policy",
        ),
    ];
    for (req, code, field) in cases {
        let err = aws::render(&req).unwrap_err();
        assert_eq!((err.code(), err.field()), (code, Some(field)), "{err}");
        assert!(!err.hint().is_empty());
    }
}

#[test]
fn request_is_camel_case_json() {
    let req: AwsBootstrapRequest = serde_json::from_value(json!({
        "orgId": "org-acme",
        "partnerAccountId": PARTNER,
        "externalId": EXTERNAL_ID,
        "roleNamePattern": "ext-{org_id}",
        "organizationalUnitIds": ["r-ab12"],
        "templateUrl": "",
    }))
    .unwrap();
    let b = req.validate().unwrap();
    assert_eq!(b.role_name().value, "ext-org-acme");
    assert_eq!(b.template_url, None, "an empty optional string is absent");
    assert_eq!(b.organizational_unit_ids.len(), 1);
}

// ---------------------------------------------------------------- role ARN

#[test]
fn role_arns_that_parse() {
    for (arn, partition, account, path, name) in [
        (
            "arn:aws:iam::123456789012:role/alphaswarm-broker-org-acme",
            AwsPartition::Aws,
            "123456789012",
            "/",
            "alphaswarm-broker-org-acme",
        ),
        (
            "arn:aws-cn:iam::000000000001:role/alphaswarm/broker",
            AwsPartition::AwsCn,
            "000000000001",
            "/alphaswarm/",
            "broker",
        ),
        (
            "arn:aws-us-gov:iam::999999999999:role/a/b/c/x+=,.@_-y",
            AwsPartition::AwsUsGov,
            "999999999999",
            "/a/b/c/",
            "x+=,.@_-y",
        ),
        (
            "arn:aws:iam::123456789012:role/service-role/__platform__",
            AwsPartition::Aws,
            "123456789012",
            "/service-role/",
            "__platform__",
        ),
    ] {
        let parsed: RoleArn = arn.parse().unwrap();
        assert_eq!(parsed.partition, partition);
        assert_eq!(parsed.account_id.as_str(), account);
        assert_eq!(parsed.path.as_str(), path);
        assert_eq!(parsed.name.as_str(), name);
        assert_eq!(parsed.to_string(), arn, "Display round-trips");
        let via_serde: RoleArn = serde_json::from_value(json!(arn)).unwrap();
        assert_eq!(via_serde, parsed);
        assert_eq!(serde_json::to_value(&parsed).unwrap(), json!(arn));
    }
    let longest_name = format!("arn:aws:iam::123456789012:role/{}", "n".repeat(64));
    assert!(longest_name.parse::<RoleArn>().is_ok());
}

#[test]
fn role_arns_that_do_not_parse() {
    use RoleArnProblem as P;
    let long_path = format!("arn:aws:iam::123456789012:role/{}/x", "p".repeat(511));
    let long_name = format!("arn:aws:iam::123456789012:role/{}", "n".repeat(65));
    type Expect = fn(&RoleArnProblem) -> bool;
    let cases: Vec<(&str, Expect)> = vec![
        ("", |p| *p == P::Empty),
        (" arn:aws:iam::123456789012:role/x", |p| *p == P::Wrapped),
        ("arn:aws:iam::123456789012:role/x\n", |p| *p == P::Wrapped),
        ("\"arn:aws:iam::123456789012:role/x\"", |p| *p == P::Wrapped),
        ("123456789012", |p| *p == P::AccountIdOnly),
        ("alphaswarm-broker-org-acme", |p| *p == P::RoleNameOnly),
        ("role/x", |p| *p == P::NotAnArn),
        ("arn:aws:iam::123456789012", |p| *p == P::NotAnArn),
        ("arn:aws-iso:iam::123456789012:role/x", |p| {
            *p == P::UnknownPartition
        }),
        ("ARN:aws:iam::123456789012:role/x", |p| *p == P::NotAnArn),
        (
            "arn:aws:sts::123456789012:assumed-role/alphaswarm-broker-org-acme/session-1",
            |p| {
                *p == P::AssumedRole {
                    role_arn: Some(
                        "arn:aws:iam::123456789012:role/alphaswarm-broker-org-acme".into(),
                    ),
                }
            },
        ),
        ("arn:aws:sts::1234:assumed-role/x/s", |p| {
            *p == P::AssumedRole { role_arn: None }
        }),
        ("arn:aws:sts::123456789012:federated-user/x", |p| {
            *p == P::NotIam
        }),
        ("arn:aws:s3:::bucket", |p| *p == P::NotIam),
        ("arn:aws:iam:us-east-1:123456789012:role/x", |p| {
            *p == P::RegionNotEmpty
        }),
        ("arn:aws:iam::12345678901:role/x", |p| {
            *p == P::AccountId {
                digits: 11,
                non_digits: false,
            }
        }),
        ("arn:aws:iam::1234567890123:role/x", |p| {
            *p == P::AccountId {
                digits: 13,
                non_digits: false,
            }
        }),
        ("arn:aws:iam::12345678901a:role/x", |p| {
            matches!(
                p,
                P::AccountId {
                    non_digits: true,
                    ..
                }
            )
        }),
        ("arn:aws:iam::123456789012:user/alice", |p| *p == P::User),
        ("arn:aws:iam::123456789012:group/admins", |p| *p == P::Group),
        ("arn:aws:iam::aws:policy/ReadOnlyAccess", |p| {
            *p == P::Policy
        }),
        ("arn:aws:iam::123456789012:policy/mine", |p| *p == P::Policy),
        ("arn:aws:iam::123456789012:instance-profile/x", |p| {
            *p == P::InstanceProfile
        }),
        ("arn:aws:iam::123456789012:root", |p| *p == P::AccountRoot),
        ("arn:aws:iam::123456789012:roles/x", |p| *p == P::NotARole),
        ("arn:aws:iam::123456789012:role/", |p| *p == P::MissingName),
        ("arn:aws:iam::123456789012:role/path/", |p| {
            *p == P::MissingName
        }),
        ("arn:aws:iam::123456789012:role/a//b", |p| {
            matches!(p, P::Path(_))
        }),
        ("arn:aws:iam::123456789012:role/a b/x", |p| {
            matches!(p, P::Path(_))
        }),
        (&long_path, |p| matches!(p, P::Path(_))),
        (&long_name, |p| matches!(p, P::Name(_))),
        ("arn:aws:iam::123456789012:role/x;rm -rf", |p| {
            matches!(p, P::Name(_))
        }),
        ("arn:aws:iam::123456789012:role/ünicode", |p| {
            matches!(p, P::Name(_))
        }),
        ("arn:aws:iam::123456789012:role/x\0", |p| {
            matches!(p, P::Name(_))
        }),
    ];
    for (input, expected) in cases {
        let err = input.parse::<RoleArn>().unwrap_err();
        assert!(expected(&err.problem), "{input:?}: {:?}", err.problem);
        assert_eq!(err.code(), "invalid_role_arn");
        assert_eq!(err.field(), Some("role_arn"));
        assert!(serde_json::from_value::<RoleArn>(json!(input)).is_err());
    }
    // Hints say what is wrong, and how to fix it.
    let assumed = "arn:aws:sts::123456789012:assumed-role/broker/s"
        .parse::<RoleArn>()
        .unwrap_err();
    assert!(
        assumed
            .hint()
            .contains("arn:aws:iam::123456789012:role/broker")
    );
    let short = "arn:aws:iam::12345678901:role/x"
        .parse::<RoleArn>()
        .unwrap_err();
    assert!(short.to_string().contains("has 11 digits"), "{short}");
    assert!(short.hint().contains("leading zero"));
    let user = "arn:aws:iam::123456789012:user/alice"
        .parse::<RoleArn>()
        .unwrap_err();
    assert!(user.hint().contains(":role/"));
    // No message quotes the (possibly huge, possibly hostile) input.
    let hostile = format!(
        "arn:aws:iam::123456789012:role/{}",
        "$(reboot)".repeat(2000)
    );
    let err = hostile.parse::<RoleArn>().unwrap_err();
    assert!(err.to_string().len() < 300 && err.hint().len() < 300);
    assert_eq!(err.at("pasted_arn").field(), Some("pasted_arn"));
}

// ---------------------------------------------------------------- real tools

fn venv_tool(name: &str) -> PathBuf {
    let local = root().join(".venv/bin").join(name);
    if local.exists() {
        return local;
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.exists());
    on_path.unwrap_or_else(|| {
        panic!("{name} is missing: run `bash -c 'source scripts/lib.sh; ensure_venv'`")
    })
}

fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("alphaswarm-aws-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn cfn_lint_accepts_the_templates() {
    let dir = scratch_dir("cfn-lint");
    let mut paths = Vec::new();
    for (i, req) in [
        with_everything("org-acme"),
        AwsBootstrapRequest {
            role_path: Some("/alphaswarm/team/".into()),
            region: Some("cn-north-1".into()),
            managed_policy: Some("job-function/ViewOnlyAccess".into()),
            ..with_everything("__platform__")
        },
        with_everything(LONGEST_ORG),
    ]
    .iter()
    .enumerate()
    {
        let bundle = aws::render(req).unwrap();
        for f in bundle
            .files
            .iter()
            .filter(|f| f.name.ends_with(".cfn.json"))
        {
            let path = dir.join(format!("{i}-{}", f.name));
            std::fs::write(&path, &f.contents).unwrap();
            paths.push(path);
        }
        // The StackSet's member template is a string inside the org template.
        let org: Value =
            serde_json::from_str(file(&bundle, "alphaswarm-broker-org.cfn.json").unwrap()).unwrap();
        let member = org["Resources"]["BrokerRoleStackSet"]["Properties"]["TemplateBody"]
            .as_str()
            .unwrap();
        let path = dir.join(format!("{i}-member.cfn.json"));
        std::fs::write(&path, member).unwrap();
        paths.push(path);
    }
    assert_eq!(paths.len(), 9, "role, org and member template per request");
    let out = std::process::Command::new(venv_tool("cfn-lint"))
        .args(&paths)
        .output()
        .expect("cfn-lint runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------- properties

fn org_id() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("__platform__".to_owned()),
        8 => "[a-z0-9]([a-z0-9_-]{0,62}[a-z0-9])?".prop_filter("no --", |s| !s.contains("--")),
    ]
}

fn region() -> impl Strategy<Value = String> {
    prop_oneof![
        "(us|eu|ap|sa|ca|me|af|il|mx)-(east|west|north|south|central|northeast|southeast|northwest|southwest)-[1-9]",
        Just("cn-north-1".to_owned()),
        Just("cn-northwest-1".to_owned()),
        "us-gov-(west|east)-[1-9]",
    ]
}

fn pattern() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_+=,.@-]{0,20}"
        .prop_flat_map(|p| ("[A-Za-z0-9_+=,.@-]{0,20}", Just(p)))
        .prop_map(|(s, p)| format!("{p}{{org_id}}{s}"))
        .prop_filter("no -- in literals", |p| !p.contains("--"))
}

fn external_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_+=,.@:/-]{2,80}"
}

fn bootstrap_request() -> impl Strategy<Value = AwsBootstrapRequest> {
    (
        org_id(),
        "[0-9]{12}",
        external_id(),
        region(),
        proptest::option::of(pattern()),
        proptest::option::of("(/[A-Za-z0-9_+=,.@-]{1,10}){1,3}/"),
        any::<bool>(),
        proptest::collection::vec("ou-[a-z0-9]{4}-[a-z0-9]{8}", 0..3),
        proptest::option::of("(ReadOnlyAccess|SecurityAudit|job-function/ViewOnlyAccess)"),
    )
        .prop_map(
            |(org, partner, external, region, pattern, path, url, units, policy)| {
                AwsBootstrapRequest {
                    org_id: org,
                    partner_account_id: partner,
                    external_id: external,
                    partition: None,
                    region: Some(region),
                    role_name_pattern: pattern,
                    role_path: path,
                    template_url: url.then(|| TEMPLATE_URL.to_owned()),
                    organizational_unit_ids: Some(units),
                    managed_policy: policy,
                }
            },
        )
}

fn check_template_shape(template: &Value, b: &AwsBootstrap, role_name: Value) {
    let params = template["Parameters"].as_object().unwrap();
    assert_eq!(params.keys().collect::<Vec<_>>(), ["ExternalId"]);
    let role = &template["Resources"]["BrokerRole"];
    assert_eq!(role["Type"], "AWS::IAM::Role");
    assert_eq!(role["Properties"]["RoleName"], role_name);
    let statement = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(
        statement["Principal"]["AWS"]["Fn::Sub"],
        format!("arn:${{AWS::Partition}}:iam::{}:root", b.partner_account_id)
    );
    assert_eq!(
        statement["Condition"]["StringEquals"]["sts:ExternalId"],
        json!({"Ref": "ExternalId"})
    );
    // Least privilege in CloudFormation too: the baseline inline, nothing broader.
    assert_eq!(
        role["Properties"]["Policies"],
        json!([{"PolicyName": aws::BASELINE_POLICY_NAME, "PolicyDocument": aws::baseline_policy()}])
    );
    assert!(role["Properties"].get("ManagedPolicyArns").is_none());
    assert_eq!(
        template["Outputs"]["RoleArn"]["Value"],
        json!({"Fn::GetAtt": ["BrokerRole", "Arn"]})
    );
}

fn query_param(url: &str, key: &str) -> String {
    let fragment = url.split_once('#').unwrap().1;
    let query = fragment.split_once('?').unwrap().1;
    let raw = query
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .unwrap();
    percent_decode_str(raw).decode_utf8().unwrap().into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn rendered_artifacts_hold_for_valid_input(req in bootstrap_request()) {
        let b = req.validate().unwrap();
        let bundle = b.bundle().unwrap();

        let role = b.role_name().value;
        let stack = b.stack_name().value;
        prop_assert!(ROLE_NAME_RULE.accepts(&role), "{role}");
        prop_assert!(STACK_NAME_RULE.accepts(&stack), "{stack}");
        prop_assert!(stack.len() <= 128);

        let trust: Value = serde_json::from_str(file(&bundle, "trust_policy.json").unwrap()).unwrap();
        prop_assert_eq!(&trust["Version"], "2012-10-17");
        let statement = &trust["Statement"][0];
        prop_assert_eq!(&statement["Action"], "sts:AssumeRole");
        prop_assert_eq!(
            &statement["Principal"]["AWS"],
            &json!(format!("arn:{}:iam::{}:root", b.partition, b.partner_account_id))
        );
        prop_assert_eq!(&statement["Condition"]["StringEquals"]["sts:ExternalId"], &json!(req.external_id));

        let template: Value =
            serde_json::from_str(file(&bundle, "alphaswarm-broker-role.cfn.json").unwrap()).unwrap();
        check_template_shape(&template, &b, json!({"Ref": "AWS::StackName"}));

        match file(&bundle, "alphaswarm-broker-org.cfn.json") {
            Some(org) => {
                let org: Value = serde_json::from_str(org).unwrap();
                check_template_shape(&org, &b, json!(role));
                let set = &org["Resources"]["BrokerRoleStackSet"]["Properties"];
                prop_assert_eq!(&set["PermissionModel"], "SERVICE_MANAGED");
                prop_assert_eq!(&set["AutoDeployment"]["Enabled"], true);
                prop_assert_eq!(
                    &set["StackInstancesGroup"][0]["DeploymentTargets"]["OrganizationalUnitIds"],
                    &json!(b.organizational_unit_ids)
                );
                let member: Value = serde_json::from_str(set["TemplateBody"].as_str().unwrap()).unwrap();
                check_template_shape(&member, &b, json!(role));
            }
            None => prop_assert!(b.organizational_unit_ids.is_empty()),
        }

        if let Some(link) = bundle.links.iter().find(|l| l.name == "cloudformation_quick_create") {
            prop_assert_eq!(query_param(&link.url, "templateURL"), TEMPLATE_URL);
            prop_assert_eq!(query_param(&link.url, "stackName"), stack.clone());
            prop_assert_eq!(query_param(&link.url, "param_ExternalId"), req.external_id.clone());
            let host = format!("https://{}/", b.partition.console_host());
            prop_assert!(link.url.starts_with(&host), "{}", link.url);
        } else {
            prop_assert!(b.template_url.is_none());
        }

        assert_bash_round_trip(&aws::commands(&b));
        assert_bash_round_trip(&aws::managed_policy_commands(&b));
        assert_bash_round_trip(&aws::cloudformation_commands(&b));
        let mut all = aws::commands(&b);
        all.extend(aws::managed_policy_commands(&b));
        all.extend(aws::cloudformation_commands(&b));
        assert_shellcheck_clean(&Commands::render(&all).unwrap().bash_script());
        prop_assert_eq!(&bundle.commands, &Commands::render(&aws::commands(&b)).unwrap());

        assert_only_templates(&bundle.terraform, &[PATH_MODULE]);
        prop_assert_eq!(bundle.terraform.matches(PATH_MODULE).count(), 2, "trust and baseline files");
    }

    #[test]
    fn role_arns_round_trip(
        partition in prop_oneof![Just("aws"), Just("aws-cn"), Just("aws-us-gov")],
        account in "[0-9]{12}",
        path in "(/[A-Za-z0-9_+=,.@-]{1,10}){0,3}/",
        name in "[A-Za-z0-9_+=,.@-]{1,64}",
    ) {
        let arn = format!("arn:{partition}:iam::{account}:role{path}{name}");
        let parsed: RoleArn = arn.parse().unwrap();
        prop_assert_eq!(parsed.to_string(), arn);
        prop_assert_eq!(parsed.path.as_str(), path);
    }

    #[test]
    fn arbitrary_strings_never_panic_the_arn_parser(s in "\\PC{0,200}") {
        let _ = s.parse::<RoleArn>();
    }
}

/// awscli's own shorthand parser reads the `--parameters` value back as the
/// exact external id, whatever of `, = / : + @ .` it contains.
#[test]
fn awscli_reads_the_parameters_shorthand_back() {
    let mut runner = TestRunner::new(ProptestConfig::with_cases(200));
    let mut ids: Vec<String> = (0..200)
        .map(|_| external_id().new_tree(&mut runner).unwrap().current())
        .collect();
    ids.extend(
        [
            "a,b=c",
            ",a,",
            "=a",
            "==,",
            "file://etc/hostname",
            "http://x",
        ]
        .map(str::to_owned),
    );
    let values: Vec<String> = ids
        .iter()
        .map(|id| {
            let b = AwsBootstrapRequest {
                external_id: id.clone(),
                ..request("org-acme")
            }
            .validate()
            .unwrap();
            let argv = aws::cloudformation_commands(&b)[0].argv();
            let at = argv.iter().position(|w| w == "--parameters").unwrap();
            argv[at + 1].clone()
        })
        .collect();
    let script = "import json, sys\nfrom awscli.shorthand import ShorthandParser\nprint(json.dumps([ShorthandParser().parse(v) for v in json.load(sys.stdin)]))";
    let mut child = std::process::Command::new(venv_tool("python"))
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("venv python runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&values).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let parsed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    for (id, p) in ids.iter().zip(&parsed) {
        assert_eq!(
            p,
            &json!({"ParameterKey": "ExternalId", "ParameterValue": id})
        );
    }
}

// ---------------------------------------------------------------- hostile input

fn hostile_corpus() -> Vec<String> {
    let mut corpus: Vec<String> = [
        "; rm -rf /",
        "| cat /etc/passwd",
        "& whoami",
        "$(reboot)",
        "`id`",
        "${HOME}",
        "%{ if true }x%{ endif }",
        "'",
        "\"",
        "a'b\"c",
        "\\",
        "line\nbreak",
        "cr\rlf",
        "nul\0byte",
        "tab\there",
        " leading",
        "trailing ",
        "",
        " ",
        "ünïcødé",
        "\u{2019}quote",
        "\u{202e}rtl",
        "😀",
        "org-acme\n$(id)",
        "__platform__;id",
        "{org_id}",
        "{org_id};id",
        "ou-ab12-cd34ef56;id",
        "https://evil.example.com/a'b",
        "https://user@evil.example.com/",
        "arn:aws:iam::123456789012:role/x",
        "-",
        "--",
        "--help",
        "../../etc/passwd",
        "/",
        "//",
        "111122223333\n",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    corpus.push("a".repeat(10_000));
    corpus.push("$(x)".repeat(2_500));
    corpus.push("é".repeat(5_000));
    corpus.push(format!("org-{}", "\0".repeat(10_000)));
    corpus
}

#[test]
fn hostile_input_gives_structured_errors_or_safe_output() {
    type Setter = fn(&mut AwsBootstrapRequest, String);
    let fields: [(&str, Setter); 10] = [
        ("org_id", |r, v| r.org_id = v),
        ("partner_account_id", |r, v| r.partner_account_id = v),
        ("external_id", |r, v| r.external_id = v),
        ("partition", |r, v| r.partition = Some(v)),
        ("region", |r, v| r.region = Some(v)),
        ("role_name_pattern", |r, v| r.role_name_pattern = Some(v)),
        ("role_path", |r, v| r.role_path = Some(v)),
        ("template_url", |r, v| r.template_url = Some(v)),
        ("organizational_unit_ids", |r, v| {
            r.organizational_unit_ids = Some(vec![v])
        }),
        ("managed_policy", |r, v| r.managed_policy = Some(v)),
    ];
    let (mut tried, mut refused) = (0, 0);
    for (field, set) in fields {
        for value in hostile_corpus() {
            let mut req = with_everything("org-acme");
            set(&mut req, value.clone());
            tried += 1;
            match aws::render(&req) {
                Err(err) => {
                    refused += 1;
                    assert!(
                        err.code().starts_with("invalid_"),
                        "{field}: {}",
                        err.code()
                    );
                    assert_eq!(err.field(), Some(field), "{value:?}");
                    let body = err.to_body();
                    assert!(body.message.len() < 400, "{field}: message echoes input");
                }
                Ok(bundle) => {
                    // Accepted values must be harmless where they land.
                    let b = req.validate().unwrap();
                    assert_bash_round_trip(&aws::commands(&b));
                    assert_bash_round_trip(&aws::cloudformation_commands(&b));
                    for f in &bundle.files {
                        serde_json::from_str::<Value>(&f.contents).unwrap();
                    }
                    // HCL evaluates `${…}` and `%{…}`, not `$(…)`: only the
                    // module path may be interpolated, whatever the value.
                    assert_only_templates(&bundle.terraform, &[PATH_MODULE]);
                    support::terraform_blocks(&bundle.terraform);
                }
            }
        }
    }
    println!("hostile inputs tried: {tried}, refused: {refused}");
    assert!(tried >= 400);
}

#[test]
fn hostile_role_arns_are_refused() {
    for value in hostile_corpus() {
        match value.parse::<RoleArn>() {
            Ok(parsed) => assert_eq!(parsed.to_string(), value),
            Err(err) => assert_eq!(err.code(), "invalid_role_arn"),
        }
        let arn = format!("arn:aws:iam::123456789012:role/{value}");
        if let Ok(parsed) = arn.parse::<RoleArn>() {
            // Only role-name characters get through.
            assert!(ROLE_NAME_RULE.accepts(parsed.name.as_str()), "{value:?}");
        }
    }
}
