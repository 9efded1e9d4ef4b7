//! A moto server on 127.0.0.1 and awscli pointed at it, both from the
//! project venv (scripts/lib.sh ensure_venv).

use serde_json::Value;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// moto's default account.
pub const MOTO_ACCOUNT: &str = "123456789012";

pub fn venv_bin() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin");
    assert!(
        bin.join("moto_server").exists() && bin.join("aws").exists(),
        "moto and awscli are missing: run `bash -c 'source scripts/lib.sh; ensure_venv'`"
    );
    bin
}

/// A moto server this test started; stopped (by its own handle) on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(venv_bin().join("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // AWS managed policies such as ReadOnlyAccess exist only then.
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not listen in 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Runs a bash script with awscli pointed at this moto; returns stdout.
    pub fn bash(&self, dir: &Path, script: &str) -> String {
        let out = self.run(dir, script);
        assert!(
            out.status.success(),
            "script failed:\n{script}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a bash script with awscli pointed at this moto, whatever its outcome.
    pub fn run(&self, dir: &Path, script: &str) -> std::process::Output {
        let path = format!(
            "{}:{}",
            venv_bin().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new("bash")
            .args(["-c", script])
            .current_dir(dir)
            .env("PATH", path)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .expect("bash runs")
    }

    pub fn json(&self, dir: &Path, script: &str) -> Value {
        serde_json::from_str(&self.bash(dir, script)).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a bundle's files into a fresh temp directory named after `tag`.
pub fn bundle_dir(tag: &str, bundle: &alphaswarm_core::Bundle) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("alphaswarm-moto-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in &bundle.files {
        std::fs::write(dir.join(&f.name), &f.contents).unwrap();
    }
    dir
}
