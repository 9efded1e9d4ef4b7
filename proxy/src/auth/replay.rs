//! "A TOTP code is accepted once", across restarts.
//!
//! RFC 6238 §5.2: a verifier must not accept the second attempt of a code
//! it has already accepted. The guard remembers, per subject, the last time
//! step it accepted; a step at or before it is refused. The default keeps
//! that in `<state dir>/totp_replay.json` (0600, written atomically before
//! the step-up answers), so a restart does not reopen the window; a shared
//! backend holds it across replicas behind [`TotpReplayGuard`].

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[async_trait]
pub trait TotpReplayGuard: Send + Sync {
    /// Claims time step `step` for `subject`: true the first time, false for
    /// it or any earlier step afterwards. Durable when it returns true.
    async fn claim(&self, subject: &str, step: u64) -> std::io::Result<bool>;
}

const FORMAT: &str = "alphaswarm-totp-replay/1";

#[derive(Serialize, Deserialize)]
struct ReplayFile {
    format: String,
    last_step: BTreeMap<String, u64>,
}

/// The default guard: a small JSON file in the state directory.
pub struct FileReplayGuard {
    path: PathBuf,
    last_step: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl FileReplayGuard {
    pub fn open(state_dir: &Path) -> std::io::Result<Self> {
        let path = state_dir.join("totp_replay.json");
        let last_step = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<ReplayFile>(&bytes)
                .ok()
                .filter(|f| f.format == FORMAT)
                .ok_or_else(|| {
                    std::io::Error::other(format!(
                        "{} is not a TOTP replay file; delete it only if no code of the last minute may be reused",
                        path.display()
                    ))
                })?
                .last_step,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e),
        };
        Ok(FileReplayGuard {
            path,
            last_step: Arc::new(Mutex::new(last_step)),
        })
    }
}

#[async_trait]
impl TotpReplayGuard for FileReplayGuard {
    async fn claim(&self, subject: &str, step: u64) -> std::io::Result<bool> {
        let (path, last_step, subject) = (
            self.path.clone(),
            self.last_step.clone(),
            subject.to_owned(),
        );
        // The lock is taken and held inside the blocking task, so a caller
        // that gives up cannot let another claim in before the file is written.
        tokio::task::spawn_blocking(move || {
            let mut last = last_step.lock().unwrap_or_else(|p| p.into_inner());
            if last.get(&subject).is_some_and(|used| *used >= step) {
                return Ok(false);
            }
            let mut next = last.clone();
            next.insert(subject, step);
            let bytes = serde_json::to_vec(&ReplayFile {
                format: FORMAT.to_owned(),
                last_step: next.clone(),
            })
            .map_err(std::io::Error::other)?;
            crate::store::write_atomically(&path, &bytes)?;
            *last = next;
            Ok(true)
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_claimed_step_stays_claimed_after_reopening() {
        let dir = std::env::temp_dir().join(format!("alphaswarm-replay-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let guard = FileReplayGuard::open(&dir).unwrap();
        assert!(guard.claim("admin", 100).await.unwrap());
        assert!(!guard.claim("admin", 100).await.unwrap());
        assert!(!guard.claim("admin", 99).await.unwrap());
        assert!(guard.claim("someone-else", 100).await.unwrap());
        let reopened = FileReplayGuard::open(&dir).unwrap();
        assert!(!reopened.claim("admin", 100).await.unwrap());
        assert!(reopened.claim("admin", 101).await.unwrap());
        std::fs::write(dir.join("totp_replay.json"), "{}").unwrap();
        assert!(
            FileReplayGuard::open(&dir).is_err(),
            "a foreign file is not silently reset"
        );
    }
}
