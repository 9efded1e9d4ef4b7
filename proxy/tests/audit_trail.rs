//! The audit trail an attacker cannot rewrite (issue 8, findings 3, 4, 10
//! and 11): `verify-audit` and an independent Python script (exported
//! public key, `cryptography`) both catch re-hashed, truncated, emptied and
//! deleted trails and forged checkpoints (the database's trail, exported in
//! the file format by `export-audit`, is judged exactly as the file
//! sink's); a full disk never loses or tears a row; a file-era audit path
//! on a device is refused before anything reads it.

mod common;

use alphaswarm_proxy::audit::{AuditRow, checkpoints_path, row_hash};
use alphaswarm_proxy::config;
use common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs the proxy binary's CLI with only the state directory set.
fn cli(state_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alphaswarm-proxy"))
        .env_clear()
        .env("HOME", state_dir)
        .env(config::STATE_DIR, state_dir)
        .args(args)
        .output()
        .unwrap()
}

fn verify_cli(state_dir: &Path, audit: &Path) -> (i32, Value) {
    let output = cli(state_dir, &["verify-audit", audit.to_str().unwrap()]);
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap(), report)
}

/// The independent check: Python's `cryptography`, the exported key, API.md's formulas.
fn python_verify(public_key: &Path, audit: &Path) -> (bool, String) {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "the test venv is missing: run `bash -c 'source scripts/lib.sh; ensure_venv'` in the repository root"
    );
    let output = Command::new(python)
        .arg(repo_root().join("proxy/tests/support/verify_audit_checkpoints.py"))
        .arg(public_key)
        .arg(audit)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{text}");
    (output.status.success(), text)
}

fn read_rows(path: &Path) -> Vec<AuditRow> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_rows(path: &Path, rows: &[AuditRow]) {
    let text: String = rows
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(path, text).unwrap();
}

/// What an attacker with write access does: edit a row, drop rows from the
/// end, and recompute every hash so the chain is consistent again.
fn edit_drop_and_rehash(path: &Path, drop: usize) {
    let mut rows = read_rows(path);
    rows.truncate(rows.len() - drop);
    rows[1].event.actor = "someone-else".into();
    let mut prev = alphaswarm_proxy::audit::GENESIS_HASH.to_owned();
    for row in &mut rows {
        row.prev_hash = prev.clone();
        row.hash = row_hash(row.seq, &row.event, &prev);
        prev = row.hash.clone();
    }
    write_rows(path, &rows);
}

/// Something done to a copy of the rows file.
type Damage = dyn Fn(&Path);

/// A copy of the trail (rows and checkpoints) to damage.
fn copy_trail(from: &Path, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let to = dir.join("audit.jsonl");
    std::fs::copy(from, &to).unwrap();
    std::fs::copy(checkpoints_path(from), checkpoints_path(&to)).unwrap();
    to
}

#[tokio::test]
async fn verify_audit_and_an_offline_script_catch_every_rewrite() {
    let proxy = TestProxy::start_with("trail", &[(config::AUDIT_CHECKPOINT_ROWS, "10")]).await;
    let arn = proxy.aws.role(
        "acme",
        "alphaswarm-broker-acme",
        Trust::Rendered,
        Grant::Baseline,
    );
    let token = proxy.stepped_up().await;
    // The login and the step-up are a row each; 14 runs of 2 rows make 30.
    for _ in 0..14 {
        let (status, body) = proxy
            .post(
                &step("acme", "validate-identity"),
                &token,
                json!({"role_arn": arn}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let state = proxy.dir.join("state");
    // The operator's export: the CLI writes the database's trail in the
    // file format (the very lines the database holds), privately, and
    // replaces an earlier export only when told to.
    let audit = proxy.dir.join("exported").join("audit.jsonl");
    std::fs::create_dir_all(audit.parent().unwrap()).unwrap();
    let export = |force: bool| {
        let mut args = vec!["export-audit", audit.to_str().unwrap()];
        args.extend(force.then_some("--force"));
        cli(&state, &args)
    };
    let exported = export(false);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let from_database = proxy.audit_export().await;
    for (file, lines) in [
        (&audit, &from_database),
        (&checkpoints_path(&audit), &checkpoints_path(&from_database)),
    ] {
        assert_eq!(
            std::fs::read(file).unwrap(),
            std::fs::read(lines).unwrap(),
            "{}",
            file.display()
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(file).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
    std::fs::write(checkpoints_path(&audit), "kept\n").unwrap();
    assert_eq!(export(false).status.code(), Some(2), "no silent overwrite");
    assert_eq!(
        std::fs::read_to_string(checkpoints_path(&audit)).unwrap(),
        "kept\n"
    );
    assert!(export(true).status.success());
    assert_eq!(
        std::fs::read(checkpoints_path(&audit)).unwrap(),
        std::fs::read(checkpoints_path(&from_database)).unwrap()
    );

    // Intact: 30 rows, checkpoints at start (0), 10, 20 and 30.
    let (code, report) = verify_cli(&state, &audit);
    assert_eq!(
        (code, report["status"].as_str(), report["rows"].as_u64()),
        (0, Some("intact"), Some(30)),
        "{report}"
    );
    assert_eq!(
        (
            report["checkpoints"].as_u64(),
            report["rows_after_last_checkpoint"].as_u64()
        ),
        (Some(4), Some(0))
    );
    let (_, endpoint) = proxy
        .send(
            reqwest::Method::GET,
            "/admin/audit/verify",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(endpoint, report, "the endpoint and the CLI agree");

    // The auditor's copy of the key, and the independent check.
    let exported = cli(&state, &["audit-public-key"]);
    assert!(exported.status.success());
    let pem = String::from_utf8(exported.stdout).unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    let signing_key =
        std::fs::read_to_string(state.join(alphaswarm_proxy::audit::SIGNING_KEY_FILE)).unwrap();
    assert!(
        !pem.contains(signing_key.lines().nth(1).unwrap()),
        "only the public half is exported"
    );
    let auditor = temp_dir("auditor");
    let public_key = auditor.join("audit-key.pem");
    std::fs::write(&public_key, &pem).unwrap();
    let (ok, text) = python_verify(&public_key, &audit);
    assert!(
        ok && text.contains("verified: 30 rows, 4 checkpoints"),
        "{text}"
    );
    let with_key = cli(
        &auditor,
        &[
            "verify-audit",
            audit.to_str().unwrap(),
            "--public-key",
            public_key.to_str().unwrap(),
        ],
    );
    assert_eq!(
        with_key.status.code(),
        Some(0),
        "the exported key alone verifies"
    );

    // Each rewrite, on a copy: CLI status and exit code, and the script.
    let damages: [(&str, &Damage, &str, Option<u64>); 5] = [
        (
            "edit row 2, drop 20 rows, re-hash",
            &|p| edit_drop_and_rehash(p, 20),
            "rehashed",
            Some(1),
        ),
        (
            "edit row 2, re-hash",
            &|p| edit_drop_and_rehash(p, 0),
            "rehashed",
            Some(1),
        ),
        (
            "cut to 25 rows",
            &|p| write_rows(p, &read_rows(p)[..25]),
            "truncated",
            Some(26),
        ),
        (
            "emptied",
            &|p| std::fs::write(p, "").unwrap(),
            "emptied",
            Some(1),
        ),
        (
            "deleted",
            &|p| std::fs::remove_file(p).unwrap(),
            "missing",
            Some(1),
        ),
    ];
    for (i, (what, damage, status, first_bad_row)) in damages.into_iter().enumerate() {
        let copy = copy_trail(&audit, &auditor.join(format!("damage-{i}")));
        damage(&copy);
        let (code, report) = verify_cli(&state, &copy);
        assert_eq!(
            (
                code,
                report["status"].as_str(),
                report["first_bad_row"].as_u64()
            ),
            (1, Some(status), first_bad_row),
            "{what}: {report}"
        );
        if copy.exists() {
            let (ok, text) = python_verify(&public_key, &copy);
            assert!(!ok, "{what}: the script must refuse it too: {text}");
        }
    }
    // Both files deleted: still not an "ok, 0 rows".
    let gone = copy_trail(&audit, &auditor.join("gone"));
    std::fs::remove_file(&gone).unwrap();
    std::fs::remove_file(checkpoints_path(&gone)).unwrap();
    let (code, report) = verify_cli(&state, &gone);
    assert_eq!(
        (code, report["status"].as_str(), report["ok"].as_bool()),
        (1, Some("missing"), Some(false))
    );

    // A checkpoint edited to sign fewer rows (to hide a cut) is caught.
    let forged = copy_trail(&audit, &auditor.join("forged"));
    let checkpoints = std::fs::read_to_string(checkpoints_path(&forged)).unwrap();
    std::fs::write(
        checkpoints_path(&forged),
        checkpoints.replace("\"rows\":30", "\"rows\":25"),
    )
    .unwrap();
    write_rows(&forged, &read_rows(&forged)[..25]);
    let (code, report) = verify_cli(&state, &forged);
    assert_eq!(
        (
            code,
            report["status"].as_str(),
            report["first_bad_checkpoint"].as_u64()
        ),
        (1, Some("bad_checkpoint"), Some(4))
    );
    assert!(!python_verify(&public_key, &forged).0);

    // Cannot check at all: exit 2.
    assert_eq!(
        verify_cli(&state, Path::new("/dev/full")).0,
        2,
        "a device is not read"
    );
    assert_eq!(
        verify_cli(&temp_dir("no-key"), &audit).0,
        2,
        "no key, no verdict"
    );
}

#[test]
fn an_audit_path_on_a_device_stops_the_proxy_before_reading_it() {
    let dir = temp_dir("devfull");
    let started = std::time::Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_alphaswarm-proxy"))
        .env_clear()
        .env("HOME", &dir)
        .env(config::BIND, "127.0.0.1:0")
        .env(config::AUDIT_PATH, "/dev/full")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(config::AUDIT_PATH) && stderr.contains("not a regular file"),
        "{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// A tmpfs of a few pages, unmounted on drop; `None` without the right to mount.
struct TinyTmpfs(PathBuf);

impl TinyTmpfs {
    fn mount() -> Option<TinyTmpfs> {
        let dir = temp_dir("tmpfs");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs"])
            .arg(&dir)
            .output()
            .is_ok_and(|o| o.status.success());
        mounted.then_some(TinyTmpfs(dir))
    }

    /// Fills the file system (what is left of the audit file's last page
    /// stays usable: the next rows tear where it ends).
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.0.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        while file.write_all(&[0u8; 512]).is_ok() {}
        filler
    }
}

impl Drop for TinyTmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test]
async fn a_full_disk_refuses_the_step_and_leaves_a_verifiable_chain() {
    let Some(tmpfs) = TinyTmpfs::mount() else {
        eprintln!(
            "SKIPPED: mounting a tmpfs needs root; state_backends' a_full_sqlite_database_refuses_the_row_whole_and_the_chain_goes_on covers the database sink without it"
        );
        return;
    };
    // The database (and the rest of the state) on a file system about to fill.
    let state = tmpfs.0.join("state");
    let proxy =
        TestProxy::start_with("diskfull", &[(config::STATE_DIR, state.to_str().unwrap())]).await;
    let token = proxy.stepped_up().await;
    let arn = role_arn(CUSTOMER, "alphaswarm-broker-acme");
    let path = step("acme", "validate-identity");
    let call = || proxy.post(&path, &token, json!({"role_arn": arn}));
    assert_eq!(
        call().await.0,
        422,
        "rows are written before the disk fills"
    );
    let filler = tmpfs.fill();
    let mut refused = None;
    let mut answered = Vec::new();
    for _ in 0..256 {
        let (status, body) = call().await;
        if status == 503 {
            refused = Some(body);
            break;
        }
        answered.push(body["audit_run_id"].as_str().unwrap().to_owned());
    }
    let refused = refused.expect("the full disk refused a step");
    assert_eq!(refused["code"], "audit_unavailable");
    let report = proxy.verify_audit().await;
    assert!(report.ok, "{report:?}");

    std::fs::remove_file(filler).unwrap();
    // Every connection of the pool is used again (SQLite rolled some of
    // their transactions back itself): each step writes both rows.
    for round in 1..=4 {
        let (status, body) = call().await;
        assert_eq!(
            status, 422,
            "the step runs again (the fake knows no such role): {body}"
        );
        answered.push(body["audit_run_id"].as_str().unwrap().to_owned());
        let after = proxy.verify_audit().await;
        assert!(
            after.ok && after.rows == report.rows + 2 * round,
            "{after:?}"
        );
    }
    // An answer is only given once its result row is written.
    let rows = proxy.audit_rows().await;
    for id in &answered {
        assert!(
            rows.iter()
                .any(|r| r["audit_run_id"] == id.as_str() && r["phase"] == "failed"),
            "the answered step {id} has its result row"
        );
    }
}

/// The checkpoints a binary proxy in `dir` has signed into its database.
async fn checkpoints_of(dir: &Path) -> Vec<alphaswarm_proxy::audit::Checkpoint> {
    let db = binary_database(dir).await;
    let lines = checkpoint_lines(&db).await;
    db.close().await;
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn timed_and_shutdown_checkpoints_sign_the_latest_rows() {
    use alphaswarm_proxy::audit::CheckpointReason;
    let dir = temp_dir("timed");
    let key = alphaswarm_proxy::store::FernetFileStore::generate_key();
    let aws = LoopbackAws::start().await;
    aws.role(
        "acme",
        "alphaswarm-broker-acme",
        Trust::Rendered,
        Grant::Baseline,
    );
    let mut env = binary_env(&dir, &key, EXTERNAL_ID_SECRET);
    env.extend(aws.env());
    let http = http_client();
    let audited_step = async |proxy: &BinaryProxy, token: &str| {
        let arn = role_arn(CUSTOMER, "alphaswarm-broker-acme");
        let body = proxy
            .post_json(
                &http,
                &step("acme", "validate-identity"),
                Some(token),
                json!({"role_arn": arn}),
            )
            .await;
        assert!(body["audit_run_id"].is_string(), "{body}");
    };

    // Every second while rows are unsigned: an `interval` checkpoint.
    let mut timed = env.clone();
    timed.push((config::AUDIT_CHECKPOINT_SECONDS, "1".to_owned()));
    let first = BinaryProxy::spawn(&dir, "timed", &timed);
    let (password, totp) = first.enrollment();
    let token = first.stepped_up(&http, &password, &totp).await;
    audited_step(&first, &token).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !checkpoints_of(&dir)
        .await
        .iter()
        .any(|c| c.reason == CheckpointReason::Interval && c.rows == 4)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            checkpoints_of(&dir).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    drop(first);

    // A graceful stop signs what was written since.
    let second = BinaryProxy::spawn(&dir, "shutdown", &env);
    let token = second
        .stepped_up_with_code(&http, &password, &next_totp_code(&totp))
        .await;
    audited_step(&second, &token).await;
    let stopped = Command::new("kill")
        .args(["-TERM", &second.child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while checkpoints_of(&dir).await.last().map(|c| c.reason) != Some(CheckpointReason::Shutdown) {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            checkpoints_of(&dir).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Each start: a login, a step-up and a step's two rows.
    assert_eq!(checkpoints_of(&dir).await.last().unwrap().rows, 8);
    let output = cli(&dir.join("state"), &["verify-audit"]);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    assert_eq!(
        (
            output.status.code().unwrap(),
            report["rows_after_last_checkpoint"].as_u64()
        ),
        (0, Some(0)),
        "{report}"
    );
}
