//! The proxy binary as the run command starts it: production refuses the
//! sandbox; every file it writes lands under `ALPHASWARM_ADMIN_STATE_DIR`
//! (0600 files in a 0700 directory, nothing in `~/.alphaswarm`); its log is
//! plain text without terminal colours when stderr is a file, or one JSON
//! object per line with `ALPHASWARM_ADMIN_LOG_FORMAT=json`.

mod common;

use common::BinaryProxy;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A clean environment: the state dir under `dir` (and `HOME` = `dir`), a
/// free loopback port, no UI files, no background re-check; plus `vars`.
fn env(dir: &Path, vars: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut env = vec![
        (
            "ALPHASWARM_ADMIN_STATE_DIR",
            dir.join("state").display().to_string(),
        ),
        ("ALPHASWARM_ADMIN_BIND", "127.0.0.1:0".to_owned()),
        (
            "ALPHASWARM_ADMIN_WEB_DIR",
            dir.join("web").display().to_string(),
        ),
        ("ALPHASWARM_ADMIN_HEALTH_INTERVAL_SECONDS", "0".to_owned()),
    ];
    env.extend(vars.iter().map(|(k, v)| (*k, (*v).to_owned())));
    env
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn production_refuses_the_sandbox_at_start_up() {
    let dir = common::temp_dir("sandbox-production");
    let err_path = dir.join("err");
    let status = common::proxy_command(
        &dir,
        &env(
            &dir,
            &[
                ("ALPHASWARM_ENV", "production"),
                ("ALPHASWARM_ADMIN_SANDBOX", "1"),
            ],
        ),
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::fs::File::create(&err_path).unwrap())
    .status()
    .unwrap();
    assert_eq!(status.code(), Some(2));
    let err = std::fs::read_to_string(&err_path).unwrap();
    assert!(
        err.contains("ALPHASWARM_ADMIN_SANDBOX")
            && err.contains("production never simulates clouds"),
        "{err}"
    );
    assert!(!dir.join("state").exists(), "nothing was written");
}

#[tokio::test]
async fn the_sandbox_binary_writes_only_private_files_in_the_state_dir_and_plain_logs() {
    let dir = common::temp_dir("sandbox-binary");
    let proxy = BinaryProxy::spawn(
        &dir,
        "sandbox",
        &env(
            &dir,
            &[
                ("ALPHASWARM_ADMIN_SANDBOX", "1"),
                ("RUST_LOG", "info,tower_http=debug"),
            ],
        ),
    );
    let out = proxy.stdout();
    assert!(out.contains("SANDBOX: every cloud"), "{out}");
    let http = common::http_client();
    let health: serde_json::Value = http
        .get(format!("{}/healthz", proxy.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["sandbox"], true);
    // A login writes an audit row to the database, a bootstrap uses the
    // sandbox's partner account.
    let token = proxy.login(&http, &proxy.enrollment().0).await;
    let bootstrap = http
        .post(format!(
            "{}/admin/accounts/acme/cloud/aws/bootstrap",
            proxy.base
        ))
        .bearer_auth(&token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(bootstrap.status(), 200);
    let stderr_path = proxy.stderr_path.clone();
    drop(proxy);

    assert!(
        !dir.join(".alphaswarm").exists(),
        "nothing goes to ~/.alphaswarm when the state dir is set"
    );
    let state = dir.join("state");
    assert_eq!(mode(&state), 0o700);
    let files = files_under(&state);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // The database (its WAL beside it) holds the store and the trail.
    for expected in ["alphaswarm.db", "operator.json"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    let err = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(!err.trim().is_empty(), "the proxy logged");
    assert!(
        !err.contains('\u{1b}'),
        "no terminal colour codes in a log file: {err}"
    );
}

#[tokio::test]
async fn json_log_lines_with_the_log_format_setting() {
    let dir = common::temp_dir("json-log");
    let proxy = BinaryProxy::spawn(
        &dir,
        "json-log",
        &env(
            &dir,
            &[
                ("ALPHASWARM_ADMIN_LOG_FORMAT", "json"),
                ("RUST_LOG", "info"),
            ],
        ),
    );
    let http = common::http_client();
    let status = http
        .post(format!("{}/auth/login", proxy.base))
        .json(&serde_json::json!({ "username": "admin", "password": "wrong-canary" }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    let stderr_path = proxy.stderr_path.clone();
    drop(proxy);
    let err = std::fs::read_to_string(&stderr_path).unwrap();
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "the proxy logged");
    for line in lines {
        let row: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            row["level"].is_string() && row["timestamp"].is_string(),
            "{line}"
        );
    }
    assert!(!err.contains("wrong-canary"));
}
