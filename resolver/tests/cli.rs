//! `alphaswarm-resolve` as an operator runs it in a pod: describe, locate,
//! get (masked, `--field`, `--reveal`, `--json`) and its exit statuses.

mod support;

use std::process::{Command, Output};

use support::*;

fn run(dir: &TempDir, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_alphaswarm-resolve"))
        .args(args)
        .env_clear()
        .env("HOME", dir.str())
        .env("ALPHASWARM_BOOTSTRAP_STATE_DIR", dir.str())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

#[test]
fn describe_and_locate_show_the_chain_without_values() {
    let dir = TempDir::new();
    let secret = canary();
    let env = [("BROKER_API_KEY", secret.as_str())];
    let (code, out, err) = run(&dir, &env, &["describe"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("  30  file")
            && lines[0].contains(&format!("bootstrap_state_dir={}", dir.str())),
        "{out}"
    );
    assert!(lines[1].starts_with(" 100  env"), "{out}");
    let (code, json, _) = run(&dir, &env, &["describe", "--json"]);
    assert_eq!(code, 0);
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["stores"][1]["source"], "env");
    let (code, located, _) = run(&dir, &env, &["locate", "broker:api_key"]);
    assert_eq!(code, 0);
    assert!(
        located.contains(&format!("file  {}/broker-api_key.json", dir.str())),
        "{located}"
    );
    assert!(located.contains("env  BROKER_API_KEY"), "{located}");
    assert_no_canary(&format!("{out}{err}{json}{located}"), &[&secret]);
}

#[test]
fn get_masks_unless_revealed() {
    let dir = TempDir::new();
    let secret = canary();
    dir.write(
        "polaris-oauth.json",
        &format!(r#"{{"client_id": "runtime", "client_secret": "{secret}"}}"#),
    );
    let (code, out, err) = run(&dir, &[], &["get", "polaris:oauth"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("credential polaris:oauth\nsource: file\n"),
        "{out}"
    );
    assert!(
        out.contains("  client_secret: ********") && out.contains("  client_id: ********"),
        "{out}"
    );
    let (_, field, _) = run(
        &dir,
        &[],
        &["get", "polaris:oauth", "--field", "client_secret"],
    );
    assert_eq!(field, "client_secret: ********\n");
    let (_, json, _) = run(&dir, &[], &["get", "polaris:oauth", "--json"]);
    assert_no_canary(&format!("{out}{err}{field}{json}"), &[&secret]);

    let (code, revealed, _) = run(
        &dir,
        &[],
        &[
            "get",
            "polaris:oauth",
            "--field",
            "client_secret",
            "--reveal",
        ],
    );
    assert_eq!((code, revealed), (0, format!("{secret}\n")));
    let (_, all, _) = run(&dir, &[], &["get", "polaris:oauth", "--reveal", "--json"]);
    let parsed: serde_json::Value = serde_json::from_str(&all).unwrap();
    assert_eq!(parsed["fields"]["client_secret"], secret.as_str());
    assert_eq!(parsed["source"], "file");
}

#[test]
fn exit_statuses_say_what_went_wrong() {
    let dir = TempDir::new();
    dir.write("svc-p.json", r#"{"a": "b"}"#);
    let (code, _, err) = run(&dir, &[], &["get", "absent:key"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("error[credential_not_found]: credential absent:key was not found")
            && err.contains("hint: "),
        "{err}"
    );
    let (code, _, err) = run(&dir, &[], &["get", "svc:p", "--field", "missing"]);
    assert_eq!(code, 1);
    assert!(err.contains("has no field missing (it has a)"), "{err}");
    let (code, _, err) = run(&dir, &[], &["get", "Not A Key"]);
    assert_eq!(code, 2);
    assert!(err.contains("error[invalid_credential_key]"), "{err}");
    let (code, _, err) = run(
        &dir,
        &[("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "oracle")],
        &["describe"],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("error[invalid_resolver_config]: ALPHASWARM_DEFAULT_CLOUD_PROVIDER"),
        "{err}"
    );
    for args in [
        &[][..],
        &["frobnicate"],
        &["get"],
        &["describe", "--reveal"],
        &["get", "a:b", "--bogus"],
    ] {
        let (code, _, err) = run(&dir, &[], args);
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains("usage:"), "{args:?}: {err}");
    }
}
