#![cfg(not(target_arch = "wasm32"))]
//! Every error code the wizard can meet reaches the operator in their words.
//!
//! The codes are read from the sources, not listed here (a list would
//! drift): the `code()` of every error enum in core/ and proxy/, the code
//! of every `ApiError` the proxy builds, and the UI's own. For each, the
//! API's message and hint literals are checked with the same rule the UI
//! applies ([`developer_wording`]): where they are developer wording, the
//! code must have operator words in the table, so the operator sees those
//! and never the generic fallback. The table's own words must pass the rule.
// The test reads the sources; the core itself does no I/O.
#![allow(clippy::disallowed_methods)]

use alphaswarm_core::operator::{
    developer_wording, explanation, for_operator, id_error_message, operator_words, with_labels,
};
use alphaswarm_core::{CoreError, OrgId};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One place a code is produced, with the string literals of that call.
#[derive(Debug)]
struct Site {
    file: String,
    texts: Vec<String>,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file without its unit tests (their codes are made up for the test).
fn production_part(text: &str) -> &str {
    ["#[cfg(test)]", "#[cfg(all(test"]
        .iter()
        .filter_map(|m| text.find(m))
        .min()
        .map_or(text, |i| &text[..i])
}

/// The string literals of `text`, unescaped enough for wording checks.
fn literals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            // A char literal ('"') must not open a string.
            let mut look = chars.clone();
            if let (Some(_), Some('\'')) = (look.next(), look.next()) {
                chars.next();
                chars.next();
            }
            continue;
        }
        if c != '"' {
            continue;
        }
        let mut lit = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(e) = chars.next() {
                        lit.push(if e == 'n' { '\n' } else { e });
                    }
                }
                '"' => break,
                c => lit.push(c),
            }
        }
        out.push(lit);
    }
    out
}

/// The text of the call whose `(` is at `open`, up to its matching `)`.
fn call_text(text: &str, open: usize) -> &str {
    let mut depth = 0;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text[open..].char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open..=open + i];
                }
            }
            _ => {}
        }
    }
    &text[open..]
}

fn is_code(s: &str) -> bool {
    s.len() > 2
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Every code the proxy, the core and the UI produce, with where.
fn codes() -> BTreeMap<String, Vec<Site>> {
    let mut files = Vec::new();
    for area in ["core/src", "proxy/src", "web/src"] {
        rust_files(&repo().join(area), &mut files);
    }
    let mut codes: BTreeMap<String, Vec<Site>> = BTreeMap::new();
    for path in files {
        let full = std::fs::read_to_string(&path).unwrap();
        let text = production_part(&full);
        let file = path
            .strip_prefix(repo())
            .unwrap_or(&path)
            .display()
            .to_string();
        let mut add = |code: String, texts: Vec<String>| {
            codes.entry(code).or_default().push(Site {
                file: file.clone(),
                texts,
            });
        };
        // The stable codes of the error enums (`fn code(&self) -> &'static str`).
        for (at, _) in text.match_indices("fn code(") {
            let body = &text[at..];
            let end = body.find("\n    }\n").unwrap_or(body.len());
            for (arm, _) in body[..end].match_indices("=> \"") {
                if let Some(code) = literals(&body[arm..end]).into_iter().next() {
                    add(code, Vec::new());
                }
            }
        }
        // The proxy's errors built in place: the first code-shaped literal
        // of the call is its code, the others its message and hint.
        for ctor in [
            "ApiError::new(",
            "ApiError::bad_request(",
            "ApiError::not_found(",
            "ApiError::internal(",
            "Self::new(",
            "refused(",
        ] {
            for (at, _) in text.match_indices(ctor) {
                let call = call_text(text, at + ctor.len() - 1);
                // Prose has spaces; format arguments (`serviceAccount:{}`) do not.
                let (codes, texts): (Vec<String>, Vec<String>) =
                    literals(call).into_iter().partition(|l| is_code(l));
                let texts: Vec<String> = texts.into_iter().filter(|t| t.contains(' ')).collect();
                // A variable code has its literal in another call; two are
                // one call choosing between codes.
                for code in codes {
                    add(code, texts.clone());
                }
            }
        }
        // The UI's own (a request that got no answer, an answer it cannot read).
        for (at, _) in text.match_indices("code: \"") {
            if let Some(code) = literals(&text[at..]).into_iter().next() {
                add(code, Vec::new());
            }
        }
        for (at, _) in text.match_indices("=> \"network_error\"") {
            add(
                literals(&text[at..]).into_iter().next().unwrap(),
                Vec::new(),
            );
        }
    }
    codes
}

#[test]
fn the_scan_finds_the_codes_the_issue_names() {
    let codes = codes();
    assert!(codes.len() > 120, "only {} codes found", codes.len());
    for known in [
        "unauthenticated",
        "step_up_required",
        "invalid_org_id",
        "invalid_role_arn",
        "invalid_body",
        "assume_role_access_denied",
        "platform_credentials_missing",
        "network_error",
        "unexpected_response",
    ] {
        assert!(codes.contains_key(known), "{known} not found by the scan");
    }
}

#[test]
fn every_code_reaches_the_operator_in_their_words() {
    let mut failures = Vec::new();
    for (code, sites) in codes() {
        let words = operator_words(&code);
        let mut ours: Vec<&str> = explanation(&code).into_iter().collect();
        if let Some(w) = words {
            ours.extend(w.message);
            ours.push(w.hint);
        }
        for text in ours {
            if let Some(why) = developer_wording(text) {
                failures.push(format!("{code}: the table's words have {why}: {text}"));
            }
        }
        for site in &sites {
            // A literal that is developer wording even once its field
            // names are labels needs the table's words, or the operator
            // would see the generic fallback instead of an explanation.
            for text in &site.texts {
                let labelled = with_labels(text);
                if let Some(why) = developer_wording(&labelled)
                    && words.is_none()
                {
                    failures.push(format!(
                        "{code} ({}): {why} in {text:?} and no operator words",
                        site.file
                    ));
                }
            }
            let (message, hint) = for_operator(
                &code,
                site.texts.first().map_or("", String::as_str),
                site.texts.get(1).map_or("", String::as_str),
            );
            for shown in [message, hint] {
                if let Some(why) = developer_wording(&shown) {
                    failures.push(format!("{code}: shown with {why}: {shown}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_wording_rule_catches_what_operators_were_shown() {
    for developer in [
        "Log in (POST /auth/login) and send the token as Authorization: Bearer <token>.",
        "character O at position 0 is not allowed",
        "pass its https URL as templateUrl",
        "role_arn is invalid",
        "Check the URL against proxy/API.md.",
        "Send Content-Type: application/json.",
    ] {
        assert!(developer_wording(developer).is_some(), "{developer}");
    }
    for operator in [
        "Set ALPHASWARM_ADMIN_AWS_TEMPLATE_URL on the proxy and restart it.",
        "Grant roles/iam.workloadIdentityUser to the pool, then retry.",
        "AWS refused sts:AssumeRole on the role (AccessDenied).",
        "Wait {seconds} seconds; each further failure doubles the wait.",
        "Role ARN is not a valid IAM role ARN.",
    ] {
        assert_eq!(developer_wording(operator), None, "{operator}");
    }
    // The org id the issue quotes: the character, not its position.
    let bad = OrgId::parse("Oops").unwrap_err();
    assert!(developer_wording(&bad.to_body().message).is_some());
    let shown = id_error_message("Organisation id", &bad);
    assert_eq!(developer_wording(&shown), None, "{shown}");
    assert!(shown.contains("\"O\""), "{shown}");
    assert_eq!(
        with_labels("role_arn is invalid: no account"),
        "Role ARN is invalid: no account"
    );
}
