//! The local operator (embedded default): an argon2 password, an RFC 6238
//! TOTP second factor and HS256 session tokens, all from
//! `<state dir>/operator.json` (0600), enrolled on first start.

use super::replay::{FileReplayGuard, TotpReplayGuard};
use super::{ADMIN_SCOPE, Claims, OPERATOR_USERNAME, now};
use crate::error::ApiError;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const LOCAL_ISSUER: &str = "alphaswarm-proxy-local";
const SESSION_SECONDS: i64 = 8 * 3600;
const TOTP_STEP: u64 = 30;

#[derive(Serialize)]
struct LocalClaims<'a> {
    sub: &'a str,
    scope: &'a str,
    amr: &'a [&'a str],
    auth_time: i64,
    iat: i64,
    exp: i64,
    iss: &'a str,
    aud: &'a str,
}

/// The local operator's credentials, kept 0600 in `<state dir>/operator.json`.
#[derive(Serialize, Deserialize)]
struct OperatorFile {
    username: String,
    password_hash: String,
    totp_secret_base32: String,
    token_signing_key: String,
}

/// What first start prints, once.
pub struct Enrollment {
    pub username: String,
    pub password: String,
    pub otpauth_uri: String,
}

pub struct LocalAuth {
    password_hash: String,
    totp: totp_rs::TOTP,
    encoding: EncodingKey,
    decoding: DecodingKey,
    replay: Arc<dyn TotpReplayGuard>,
    /// Passwords hashed and compared since start (each costs ~19 MiB).
    password_checks: AtomicU64,
}

impl LocalAuth {
    /// Loads the operator, enrolling one on first start (then `Some(Enrollment)`).
    pub fn load_or_enroll(state_dir: &Path) -> std::io::Result<(LocalAuth, Option<Enrollment>)> {
        let path = state_dir.join("operator.json");
        let (file, enrollment) = match std::fs::read(&path) {
            Ok(bytes) => (
                serde_json::from_slice::<OperatorFile>(&bytes).map_err(|_| {
                    std::io::Error::other(format!(
                        "{} is not an operator file; delete it to re-enrol",
                        path.display()
                    ))
                })?,
                None,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let password: String = rand::rng()
                    .sample_iter(rand::distr::Alphanumeric)
                    .take(24)
                    .map(char::from)
                    .collect();
                let password_hash = argon2::Argon2::default()
                    .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
                    .map_err(|e| std::io::Error::other(e.to_string()))?
                    .to_string();
                let totp_secret_base32 = match totp_rs::Secret::generate_secret().to_encoded() {
                    totp_rs::Secret::Encoded(s) => s,
                    totp_rs::Secret::Raw(_) => unreachable!("to_encoded returns Encoded"),
                };
                let mut key = [0u8; 32];
                rand::rng().fill(&mut key);
                let file = OperatorFile {
                    username: OPERATOR_USERNAME.to_owned(),
                    password_hash,
                    totp_secret_base32,
                    token_signing_key: base64::engine::general_purpose::STANDARD.encode(key),
                };
                let bytes = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
                crate::store::write_atomically(&path, &bytes)?;
                let totp = build_totp(&file.totp_secret_base32)?;
                let enrollment = Enrollment {
                    username: file.username.clone(),
                    password,
                    otpauth_uri: totp.get_url(),
                };
                (file, Some(enrollment))
            }
            Err(e) => return Err(e),
        };
        let key = base64::engine::general_purpose::STANDARD
            .decode(&file.token_signing_key)
            .map_err(|_| std::io::Error::other("operator.json: token_signing_key is not base64"))?;
        Ok((
            LocalAuth {
                password_hash: file.password_hash,
                totp: build_totp(&file.totp_secret_base32)?,
                encoding: EncodingKey::from_secret(&key),
                decoding: DecodingKey::from_secret(&key),
                replay: Arc::new(FileReplayGuard::open(state_dir)?),
                password_checks: AtomicU64::new(0),
            },
            enrollment,
        ))
    }

    /// Replaces the state directory's replay file with a shared guard (the
    /// database, so every replica refuses a code another one accepted).
    pub fn with_replay_guard(self, replay: Arc<dyn TotpReplayGuard>) -> Self {
        LocalAuth { replay, ..self }
    }

    /// Names this operator in a shared replay guard: a digest of the TOTP
    /// secret, never the secret (replicas of one operator share it, test
    /// proxies with their own operators do not).
    pub fn replay_scope(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&self.totp.secret);
        hex::encode(&digest[..8])
    }

    pub fn operator_file(state_dir: &Path) -> PathBuf {
        state_dir.join("operator.json")
    }

    /// How many passwords were hashed and compared since start: what the
    /// hash gate and the attempt budgets keep low under a flood.
    pub fn password_checks(&self) -> u64 {
        self.password_checks.load(Ordering::Relaxed)
    }

    pub(super) async fn check_password(&self, password: &str) -> bool {
        self.password_checks.fetch_add(1, Ordering::Relaxed);
        let hash = self.password_hash.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || password_matches(password.as_bytes(), &hash))
            .await
            .unwrap_or(false)
    }

    /// Time steps (current, one either side) whose code is `code`, oldest first.
    fn steps_matching(&self, code: &str) -> Vec<u64> {
        let current = now().max(0) as u64 / TOTP_STEP;
        [current.saturating_sub(1), current, current + 1]
            .into_iter()
            .filter(|step| self.totp.check(code, step * TOTP_STEP))
            .collect()
    }

    /// Whether `code` is a current code of `subject` not accepted before
    /// (RFC 6238 §5.2); the replay guard records it durably.
    pub(super) async fn accept_totp(&self, subject: &str, code: &str) -> std::io::Result<bool> {
        for step in self.steps_matching(code) {
            if self.replay.claim(subject, step).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub(super) fn issue(
        &self,
        subject: &str,
        amr: &[&str],
        auth_time: i64,
    ) -> Result<(String, i64), ApiError> {
        let iat = now();
        let exp = iat + SESSION_SECONDS;
        let claims = LocalClaims {
            sub: subject,
            scope: ADMIN_SCOPE,
            amr,
            auth_time,
            iat,
            exp,
            iss: LOCAL_ISSUER,
            aud: LOCAL_ISSUER,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| {
            ApiError::internal(
                "token_signing_failed",
                "The session token could not be signed.",
            )
        })?;
        Ok((token, exp))
    }

    pub(super) fn verify(&self, token: &str) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[LOCAL_ISSUER]);
        validation.set_audience(&[LOCAL_ISSUER]);
        validation.leeway = 0;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()
            .map(|d| d.claims)
    }
}

fn build_totp(secret_base32: &str) -> std::io::Result<totp_rs::TOTP> {
    let bytes = totp_rs::Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|_| std::io::Error::other("operator.json: the TOTP secret is not base32"))?;
    totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        0,
        TOTP_STEP,
        bytes,
        Some("AlphaSwarm".to_owned()),
        OPERATOR_USERNAME.to_owned(),
    )
    .map_err(|e| std::io::Error::other(format!("operator.json: {e}")))
}

/// Blocks of argon2 working memory reserved per hash: more than glibc's
/// largest dynamic mmap threshold (32 MiB on 64-bit), so the buffer is
/// always mapped for this hash alone and unmapped when it is freed.
/// Without that, glibc raises its threshold after the first hash and
/// keeps every later hash's 19 MiB in a thread arena for good (about
/// 19 MiB of idle RSS per thread that ever checked a password). Only the
/// blocks the parameters ask for are touched; the rest stays unbacked.
const ARGON2_RESERVED_BLOCKS: usize = 32 * 1024 + 1;

/// Whether `password` hashes to the PHC string `phc` (what argon2's
/// `verify_password` decides: its algorithm, version, parameters and
/// salt; constant-time comparison), with working memory that goes back to
/// the system afterwards ([`ARGON2_RESERVED_BLOCKS`]).
fn password_matches(password: &[u8], phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let algorithm = argon2::Algorithm::try_from(parsed.algorithm);
    let version = parsed
        .version
        .map_or(Ok(argon2::Version::default()), argon2::Version::try_from);
    let params = argon2::Params::try_from(&parsed);
    let (Ok(algorithm), Ok(version), Ok(params)) = (algorithm, version, params) else {
        return false;
    };
    let mut salt_bytes = [0u8; argon2::password_hash::Salt::MAX_LENGTH];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    let mut memory = Vec::with_capacity(blocks.max(ARGON2_RESERVED_BLOCKS));
    memory.resize(blocks, argon2::Block::default());
    let mut computed = vec![0u8; expected.len()];
    let hashed = argon2::Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password,
        salt,
        &mut computed,
        &mut memory,
    );
    hashed.is_ok() && argon2::password_hash::Output::new(&computed).is_ok_and(|c| c == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier;
    use argon2::{Algorithm as Kind, Argon2, Params, Version};

    #[test]
    fn the_password_check_decides_as_argon2s_own_verifier() {
        let salt = SaltString::generate(&mut OsRng);
        let small = Params::new(64, 1, 1, Some(16)).unwrap();
        for argon in [
            Argon2::default(),
            Argon2::new(Kind::Argon2d, Version::V0x10, small.clone()),
            Argon2::new(Kind::Argon2i, Version::V0x13, small),
        ] {
            let phc = argon.hash_password(b"right", &salt).unwrap().to_string();
            let parsed = PasswordHash::new(&phc).unwrap();
            for (password, expected) in [(&b"right"[..], true), (b"wrong", false), (b"", false)] {
                assert_eq!(password_matches(password, &phc), expected, "{phc}");
                assert_eq!(argon.verify_password(password, &parsed).is_ok(), expected);
            }
            // Another salt or a cut hash is another password's hash.
            let (head, _) = phc.rsplit_once('$').unwrap();
            assert!(!password_matches(
                b"right",
                &format!("{head}$AAAAAAAAAAAAAAAAAAAAAA")
            ));
        }
        for garbage in ["", "not a hash", "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ"] {
            assert!(!password_matches(b"right", garbage), "{garbage}");
        }
    }
}
