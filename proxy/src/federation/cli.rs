//! `alphaswarm-proxy federation-keys rotate [--overlap <duration>]` and
//! `alphaswarm-proxy federation-keys export-jwks <file>`: key operations run
//! beside (or without) a serving proxy, on the same configuration and so the
//! same database. A serving proxy (every replica) picks a rotation up on its
//! next request.
//! Nothing printed here carries key material: kids and times only.

use super::keys::DEFAULT_OVERLAP_SECONDS;
use super::{FederationIssuer, encryption_key, now};
use crate::app::{StartNotes, federation_issuer};
use crate::db::{Database, OpenOptions};
use std::process::ExitCode;

pub const USAGE: &str = "       alphaswarm-proxy federation-keys rotate [--overlap <duration, e.g. 24h, 90m, 0 for an emergency switch>]\n       alphaswarm-proxy federation-keys export-jwks <file>";

/// `24h`, `90m`, `3600s`, `3600`, `2d`: a duration in seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let number: i64 = number.parse().ok()?;
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    number.checked_mul(factor).filter(|s| *s <= 365 * 86_400)
}

/// The issuer over the configured database (as `serve` opens it), with
/// the runtime to drive it.
fn issuer_from_env() -> Result<(FederationIssuer, tokio::runtime::Runtime), String> {
    // The integrations key may live in any store of the chain, as for serve.
    let (config, _) = runtime()?
        .block_on(crate::credentials::load_from_process())
        .map_err(|e| format!("configuration error: {e}"))?;
    crate::app::create_private_dir(&config.state_dir)
        .map_err(|e| format!("cannot use {}: {e}", config.state_dir.display()))?;
    let (key, warning) = encryption_key(config.integrations_key.as_ref(), &config.state_dir)
        .map_err(|e| format!("cannot read the key file's encryption key: {e}"))?;
    if let Some(warning) = warning {
        eprintln!("{warning}");
    }
    let runtime = runtime()?;
    let issuer = runtime.block_on(async {
        let db = Database::open(&config.database, OpenOptions::default())
            .await
            .map_err(|e| format!("[{}] {e}", e.code()))?;
        let mut notes = StartNotes::default();
        let issuer = federation_issuer(&config, &db, &key, &mut notes)
            .await
            .map_err(|e| format!("[{}] {e}", e.code()))?;
        for warning in notes.warnings {
            eprintln!("{warning}");
        }
        Ok::<_, String>(issuer)
    })?;
    Ok((issuer, runtime))
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

fn rfc3339(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| seconds.to_string())
}

fn finish(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// `federation-keys rotate [--overlap D]`.
pub fn rotate(args: &[&str]) -> ExitCode {
    let overlap = match args {
        [] => Some(DEFAULT_OVERLAP_SECONDS),
        ["--overlap", value] => parse_duration(value),
        _ => None,
    };
    let Some(overlap) = overlap else {
        eprintln!("usage:\n{USAGE}");
        return ExitCode::from(2);
    };
    finish((|| {
        let (issuer, runtime) = issuer_from_env()?;
        let rotation = runtime
            .block_on(issuer.rotate_at(now(), overlap))
            .map_err(|e| e.to_string())?;
        println!(
            "Published key {} now; it signs from {}.",
            rotation.new_kid,
            rfc3339(rotation.signs_from)
        );
        for old in &rotation.retiring {
            println!(
                "Key {} signs until {} and leaves the JWKS at {}.",
                old.kid,
                rfc3339(old.signs_until),
                rfc3339(old.published_until)
            );
        }
        if overlap < DEFAULT_OVERLAP_SECONDS {
            println!(
                "Warning: an overlap shorter than relying parties' JWKS caches can make Entra or GCP refuse new assertions (unknown key id) until they refetch."
            );
        }
        Ok(())
    })())
}

/// `federation-keys export-jwks FILE`: the public JWKS, e.g. for GCP's
/// `--jwk-json-path` when the issuer is not publicly reachable.
pub fn export_jwks(file: &str) -> ExitCode {
    finish((|| {
        let (issuer, runtime) = issuer_from_env()?;
        runtime
            .block_on(issuer.ensure_key(now()))
            .map_err(|e| e.to_string())?;
        let jwks = runtime.block_on(issuer.jwks()).map_err(|e| e.to_string())?;
        let mut bytes = serde_json::to_vec_pretty(&jwks).map_err(|e| e.to_string())?;
        bytes.push(b'\n');
        let path = std::path::Path::new(file);
        std::fs::write(path, &bytes).map_err(|e| format!("cannot write {file}: {e}"))?;
        println!(
            "Wrote {} public key(s) of issuer {} to {file}.",
            jwks.keys.len(),
            issuer.issuer()
        );
        Ok(())
    })())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Some(86_400));
        assert_eq!(parse_duration("90m"), Some(5_400));
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("3600s"), Some(3_600));
        assert_eq!(parse_duration("2d"), Some(172_800));
        for bad in ["", "h", "-1h", "1y", "1.5h", "9999d"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
