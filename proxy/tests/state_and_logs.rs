//! The proxy binary as the run command starts it: production refuses the
//! sandbox; every file it writes lands under `ALPHASWARM_ADMIN_STATE_DIR`
//! (0600 files in a 0700 directory, nothing in `~/.alphaswarm`); its log is
//! plain text without terminal colours when stderr is a file, or one JSON
//! object per line with `ALPHASWARM_ADMIN_LOG_FORMAT=json`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_alphaswarm-proxy");

/// The binary with a clean environment: `HOME` and the state dir under
/// `dir`, a free loopback port, output to files in `dir`.
fn proxy(dir: &Path, vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.join("home"))
        .env("ALPHASWARM_ADMIN_STATE_DIR", dir.join("state"))
        .env("ALPHASWARM_ADMIN_BIND", "127.0.0.1:0")
        .env("ALPHASWARM_ADMIN_WEB_DIR", dir.join("web"))
        .env("ALPHASWARM_ADMIN_HEALTH_INTERVAL_SECONDS", "0")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("out")).unwrap())
        .stderr(std::fs::File::create(dir.join("err")).unwrap());
    for (k, v) in vars {
        command.env(k, v);
    }
    command
}

/// Stops the child this test started (by its own handle) when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until stdout names the address; answers it (`host:port`).
fn started(dir: &Path, child: &mut Running) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = std::fs::read_to_string(dir.join("out")).unwrap_or_default();
        if let Some(line) = out
            .lines()
            .find(|l| l.starts_with("AlphaSwarm proxy listening on "))
        {
            return line
                .trim_start_matches("AlphaSwarm proxy listening on http://")
                .trim_end_matches('/')
                .to_owned();
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!(
                "the proxy exited ({status}): {}",
                std::fs::read_to_string(dir.join("err")).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "the proxy did not start: {out}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn password(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("out"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("  password: "))
        .unwrap()
        .to_owned()
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
    let status = proxy(
        &dir,
        &[
            ("ALPHASWARM_ENV", "production"),
            ("ALPHASWARM_ADMIN_SANDBOX", "1"),
        ],
    )
    .status()
    .unwrap();
    assert_eq!(status.code(), Some(2));
    let err = std::fs::read_to_string(dir.join("err")).unwrap();
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
    let mut child = Running(
        proxy(
            &dir,
            &[
                ("ALPHASWARM_ADMIN_SANDBOX", "1"),
                ("RUST_LOG", "info,tower_http=debug"),
            ],
        )
        .spawn()
        .unwrap(),
    );
    let address = started(&dir, &mut child);
    let out = std::fs::read_to_string(dir.join("out")).unwrap();
    assert!(out.contains("SANDBOX: every cloud"), "{out}");
    let http = common::http_client();
    let health: serde_json::Value = http
        .get(format!("http://{address}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["sandbox"], true);
    // A login writes an audit row to the database, a bootstrap uses the
    // sandbox's partner account.
    let login: serde_json::Value = http
        .post(format!("http://{address}/auth/login"))
        .json(&serde_json::json!({ "username": "admin", "password": password(&dir) }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let bootstrap = http
        .post(format!(
            "http://{address}/admin/accounts/acme/cloud/aws/bootstrap"
        ))
        .bearer_auth(token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(bootstrap.status(), 200);
    drop(child);

    assert!(
        !dir.join("home").join(".alphaswarm").exists(),
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
    let err = std::fs::read_to_string(dir.join("err")).unwrap();
    assert!(!err.trim().is_empty(), "the proxy logged");
    assert!(
        !err.contains('\u{1b}'),
        "no terminal colour codes in a log file: {err}"
    );
}

#[tokio::test]
async fn json_log_lines_with_the_log_format_setting() {
    let dir = common::temp_dir("json-log");
    let mut child = Running(
        proxy(
            &dir,
            &[
                ("ALPHASWARM_ADMIN_LOG_FORMAT", "json"),
                ("RUST_LOG", "info"),
            ],
        )
        .spawn()
        .unwrap(),
    );
    let address = started(&dir, &mut child);
    let http = common::http_client();
    let status = http
        .post(format!("http://{address}/auth/login"))
        .json(&serde_json::json!({ "username": "admin", "password": "wrong-canary" }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    drop(child);
    let err = std::fs::read_to_string(dir.join("err")).unwrap();
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
