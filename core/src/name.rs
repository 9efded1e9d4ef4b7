//! Cloud names derived from an org id (role names, pool ids, display names).
//!
//! `<prefix><org_id><suffix>` is used as is whenever the cloud's rule accepts
//! it. Otherwise a deterministic short form is derived:
//! `<prefix><sanitised, truncated org_id>--<hash>` where `hash` is the first
//! hex digits of SHA-256 over the org id. Org ids never contain `--`, so a
//! short form can never equal the plain name of another org.

use crate::ids::OrgId;
use crate::rule::Rule;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Hex digits of the org-id hash in a short form (40 bits).
pub const SHORT_HASH_LEN: usize = 10;

/// A name derived for one cloud, with whether it had to be shortened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct DerivedName {
    pub value: String,
    /// The name the plain pattern would have produced, when it was refused.
    pub shortened_from: Option<String>,
}

impl DerivedName {
    pub fn is_shortened(&self) -> bool {
        self.shortened_from.is_some()
    }
}

/// How to fit a name into a cloud's rule.
pub struct NameShape<'a> {
    pub prefix: &'a str,
    pub suffix: &'a str,
    pub rule: &'a Rule,
    /// Maps one org-id character into the cloud's alphabet (`None` drops it).
    pub sanitise: fn(char) -> Option<char>,
}

pub fn org_hash(org: &OrgId) -> String {
    text_hash(org.as_str())
}

fn text_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    hex::encode(digest)[..SHORT_HASH_LEN].to_owned()
}

/// Derives the name for `org`, shortening only when the plain form is refused.
///
/// Callers guarantee `prefix`/`suffix` are valid in the rule; the short form
/// then always satisfies it (checked by property tests for every valid org id).
pub fn derive(shape: &NameShape<'_>, org: &OrgId) -> DerivedName {
    derive_text(shape, org.as_str())
}

/// [`derive`] for any validated text (e.g. `<namespace>-<service account>`).
/// The `--` marker is unique only when `text` cannot contain `--` itself,
/// as for org ids; elsewhere the hash alone tells short forms apart.
pub fn derive_text(shape: &NameShape<'_>, text: &str) -> DerivedName {
    let plain = format!("{}{}{}", shape.prefix, text, shape.suffix);
    if shape.rule.accepts(&plain) {
        return DerivedName {
            value: plain,
            shortened_from: None,
        };
    }
    let hash = text_hash(text);
    let mut cleaned = String::new();
    for c in text.chars().filter_map(shape.sanitise) {
        // Collapse runs of '-' so the only "--" is the one before the hash.
        if !(c == '-' && (cleaned.is_empty() || cleaned.ends_with('-'))) {
            cleaned.push(c);
        }
    }
    let fixed = shape.prefix.len() + shape.suffix.len() + 2 + hash.len();
    let room = shape.rule.max.saturating_sub(fixed);
    let mut head: String = cleaned.chars().take(room).collect();
    while head.ends_with('-') {
        head.pop();
    }
    let value = if head.is_empty() {
        format!("{}{}{}", shape.prefix, hash, shape.suffix)
    } else {
        format!("{}{}--{}{}", shape.prefix, head, hash, shape.suffix)
    };
    DerivedName {
        value,
        shortened_from: Some(plain),
    }
}

/// Lowercase letters, digits and '-'; everything else becomes '-'.
pub fn sanitise_lower_dash(c: char) -> Option<char> {
    let c = c.to_ascii_lowercase();
    Some(if c.is_ascii_lowercase() || c.is_ascii_digit() {
        c
    } else {
        '-'
    })
}

/// Letters, digits and '-'; everything else becomes '-'.
pub fn sanitise_alnum_dash(c: char) -> Option<char> {
    Some(if c.is_ascii_alphanumeric() { c } else { '-' })
}
