//! Operator paths around the wizard: disconnecting what was never stored,
//! a store that cannot be written, and `verify-audit`'s exit codes.

mod common;

use alphaswarm_proxy::db::Pool;
use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn delete_with_nothing_stored_is_audited_and_says_nothing_was_removed() {
    let proxy = TestProxy::start("delete-nothing").await;
    let token = proxy.stepped_up().await;
    let (status, body) = proxy
        .send(
            reqwest::Method::DELETE,
            "/admin/accounts/acme/cloud/aws",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["removed"], false);
    // Without a record the clean-up still names the role the pattern gives.
    let cleanup = body["vendor_cleanup"].as_array().unwrap();
    assert!(
        cleanup[0]
            .as_str()
            .unwrap()
            .contains("alphaswarm-broker-acme"),
        "{body}"
    );
    let run = body["audit_run_id"].as_str().unwrap();
    let phases: Vec<Value> = proxy
        .audit_run(run)
        .await
        .into_iter()
        .map(|r| json!([r["step"], r["phase"], r["error_code"]]))
        .collect();
    assert_eq!(
        phases,
        [
            json!(["disconnect", "pending", null]),
            json!(["disconnect", "succeeded", null])
        ]
    );
    assert_eq!(proxy.aws.calls(), 0, "disconnect calls no cloud");
    // Nothing was written to the store (it lives in the database now).
    let count = "SELECT COUNT(*) FROM integrations";
    let stored: i64 = match proxy.database.pool() {
        Pool::Sqlite(p) => sqlx::query_scalar(count).fetch_one(p).await,
        Pool::Postgres(p) => sqlx::query_scalar(count).fetch_one(p).await,
    }
    .unwrap();
    assert_eq!(stored, 0, "nothing was written");
    assert!(proxy.integrations(&token, "acme").await.is_empty());
}

#[tokio::test]
async fn a_store_that_cannot_be_written_is_store_unavailable_and_audited() {
    let proxy = TestProxy::start("store-broken").await;
    let arn = proxy.aws.role(
        "acme",
        "alphaswarm-broker-acme",
        Trust::Rendered,
        Grant::Baseline,
    );
    let token = proxy.stepped_up().await;
    // The database refuses every store write (as a full disk or a revoked grant would).
    exec_sql(
        &proxy.database,
        "CREATE TRIGGER refuse_store BEFORE INSERT ON integrations BEGIN SELECT RAISE(ABORT, 'refused'); END",
    )
    .await;
    let (status, body) = proxy.role_step(&token, "acme", "connect", &arn).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("store_unavailable")),
        "{body}"
    );
    let hint = body["hint"].as_str().unwrap();
    assert!(hint.contains("ALPHASWARM_ADMIN_DATABASE_URL"), "{hint}");
    assert!(
        !body.to_string().contains(&external_id_for("acme")),
        "{body}"
    );
    let run = body["audit_run_id"].as_str().unwrap();
    let result = proxy.audit_run(run).await.pop().unwrap();
    assert_eq!(
        (result["phase"].as_str(), result["error_code"].as_str()),
        (Some("failed"), Some("store_unavailable"))
    );
    // Nothing half-written was left next to it.
    let leftovers: Vec<String> = std::fs::read_dir(&proxy.dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// `verify-audit` with the proxy's state dir (its checkpoint key).
fn verify_audit(
    state: &std::path::Path,
    args: &[&std::ffi::OsStr],
) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_alphaswarm-proxy"))
        .env_clear()
        .env("HOME", state)
        .env(alphaswarm_proxy::config::STATE_DIR, state)
        .arg("verify-audit")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn verify_audit_exits_0_intact_1_broken_2_unreadable() {
    let proxy = TestProxy::start("verify-cli").await;
    let token = proxy.stepped_up().await;
    for _ in 0..2 {
        let (status, _) = proxy
            .send(
                reqwest::Method::DELETE,
                "/admin/accounts/acme/cloud/aws",
                Some(&token),
                None,
            )
            .await;
        assert_eq!(status, 200);
    }
    let path = proxy.audit_export().await;
    let state = proxy.dir.join("state");

    let (code, stdout, _) = verify_audit(&state, &[path.as_os_str()]);
    assert_eq!(code, Some(0), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (report["ok"].clone(), report["rows"].clone()),
        (json!(true), json!(6)),
        "a login, a step-up and two disconnects' two rows each"
    );

    // A missing file is not an intact trail (checkpoints: `missing`).
    let missing = proxy.dir.join("no-such-audit.jsonl");
    let (code, stdout, _) = verify_audit(&state, &[missing.as_os_str()]);
    assert_eq!(code, Some(1), "{stdout}");

    // One row deleted: broken at the row after it.
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, l)| l)
        .collect();
    let broken = proxy.dir.join("broken.jsonl");
    std::fs::write(&broken, kept.join("\n") + "\n").unwrap();
    std::fs::copy(
        alphaswarm_proxy::audit::checkpoints_path(&path),
        alphaswarm_proxy::audit::checkpoints_path(&broken),
    )
    .unwrap();
    let (code, stdout, _) = verify_audit(&state, &[broken.as_os_str()]);
    assert_eq!(code, Some(1), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (report["ok"].clone(), report["first_bad_row"].clone()),
        (json!(false), json!(2))
    );

    // Unreadable: a directory where the file should be.
    let (code, _, stderr) = verify_audit(&state, &[proxy.dir.as_os_str()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot read"), "{stderr}");
    // No path: the configured database (here the state dir's SQLite file),
    // intact; too many paths: usage, 2.
    let (code, stdout, stderr) = verify_audit(&state, &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        report["rows"],
        json!(6),
        "a login, a step-up and two disconnects: {report}"
    );
    let (code, _, stderr) = verify_audit(&state, &[path.as_os_str(), path.as_os_str()]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("usage"), "{stderr}");
}
