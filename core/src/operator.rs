//! Errors in an operator's words.
//!
//! The API's `{code, message, field, hint}` speaks to whoever writes a
//! client: routes, header names, body fields. The wizard speaks to a person
//! at a form. This is the one table from stable error codes to what the
//! wizard says instead, plus the rule ([`developer_wording`]) that decides
//! whether the API's own text may be shown as it is. `core/tests/operator_words.rs`
//! walks every code the proxy, the core and the UI can produce and fails
//! when one would reach the operator in developer wording.

use crate::IdError;
use crate::rule::Reason;

/// What the wizard says for one error code. `message: None` keeps the
/// API's message (it is specific and already readable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperatorWords {
    pub message: Option<&'static str>,
    pub hint: &'static str,
}

const fn hint(hint: &'static str) -> OperatorWords {
    OperatorWords {
        message: None,
        hint,
    }
}

const fn both(message: &'static str, hint: &'static str) -> OperatorWords {
    OperatorWords {
        message: Some(message),
        hint,
    }
}

/// Shown when the API's hint is developer wording and the code has no entry.
pub const FALLBACK_HINT: &str =
    "If this keeps happening, ask whoever runs AlphaSwarm to look at the proxy's log.";

/// Shown when the API's message is developer wording and the code has no entry.
pub const FALLBACK_MESSAGE: &str = "AlphaSwarm could not do this.";

/// The operator's words for `code`, when the API's are not theirs.
pub fn operator_words(code: &str) -> Option<OperatorWords> {
    Some(match code {
        // Session and sign-in.
        "unauthenticated" => both(
            "You are signed out, or your session has ended.",
            "Sign in again with your user name and password.",
        ),
        "step_up_required" => {
            hint("Confirm with the 6-digit code from your authenticator app, then try again.")
        }
        "insufficient_scope" => both(
            "Your account may not administer cloud connections.",
            "Ask an AlphaSwarm administrator to grant your account administrator access.",
        ),
        "local_login_disabled" => both(
            "Sign-in with a password is turned off here.",
            "Sign in through your organisation's identity provider.",
        ),
        "sign_in_busy" => hint("Wait a second and sign in again."),
        "identity_provider_unreachable" => hint(
            "Try again in a minute; if it persists, ask whoever runs AlphaSwarm to check the identity provider.",
        ),
        "replay_guard_unavailable"
        | "token_signing_failed"
        | "audit_unavailable"
        | "internal_error" => hint(FALLBACK_HINT),
        // The request itself: a UI and a proxy from different builds, or a bug.
        "invalid_body"
        | "invalid_json"
        | "unsupported_media_type"
        | "invalid_path"
        | "unknown_step"
        | "method_not_allowed"
        | "not_found"
        | "missing_host"
        | "host_not_allowed"
        | "body_too_large" => both(
            "The proxy did not understand what this page sent.",
            "Reload the page and try again; if it persists, the page and the proxy are from different versions.",
        ),
        "request_timeout" | "response_timeout" => both(
            "This took too long and was stopped; nothing was saved.",
            "Try again; if it keeps happening, the cloud may be slow to answer right now.",
        ),
        "web_ui_not_built" => hint("Build the web UI (bash scripts/run.sh does it) and reload."),
        "cloud_not_supported" => both(
            "This cloud is not offered by this AlphaSwarm proxy.",
            "Choose another cloud, or ask whoever runs AlphaSwarm to turn this one on.",
        ),
        "integration_not_found" => {
            hint("Reload the page: the connection may have been removed meanwhile.")
        }
        "integration_changed" => {
            hint("Reload the page to see the connection as it is now, then try again.")
        }
        "integration_kind_not_supported" => both(
            "This kind of connection is not offered here.",
            "Cloud accounts connect through the wizard; HuggingFace and Docker Hub with a token.",
        ),
        "project_already_connected" | "subscription_already_connected" => hint(
            "Disconnect it from the other organisation first (its page, Disconnect), or connect another one.",
        ),
        // Azure and GCP inputs named by their wire values.
        "invalid_azure_mode" | "client_id_not_applicable" => both(
            "The way of connecting and the client id do not fit together.",
            "Choose \"Managed identity\" to use your own identity's client id, or \"Shared app\" and leave the client id empty.",
        ),
        "jwks_twice" => both(
            "Two sets of signing keys were given.",
            "Give either the exported signing keys or the option to upload them, not both.",
        ),
        "wif_provider_unavailable" => hint(
            "Check the project number, then run step 2's pool and provider commands again. A deleted pool can be restored within 30 days; its id stays taken for 30 days, so a new pool needs another pool id.",
        ),
        "huggingface_token_refused" => both(
            "HuggingFace refused the token.",
            "The token may have been revoked, have expired or be mistyped: create a new one in your HuggingFace settings and connect again.",
        ),
        // Sandbox mode. Its hint lists the wire names of the breakages
        // (`wrong_external_id`), built at run time.
        "invalid_break" => {
            hint("Choose one of the offered ways to break the set-up, or none, and apply again.")
        }
        // Minting a short-lived credential.
        "credential_key_reserved" => hint(
            "Pick a credential name of your own: this one belongs to a connection or to AlphaSwarm itself.",
        ),
        "invalid_duration" => {
            hint("Ask for between 15 minutes and 12 hours; the cloud may allow less.")
        }
        // AWS.
        "platform_credentials_missing" => both(
            "AlphaSwarm's own AWS credentials are not set up on this proxy, so it cannot check the customer's role.",
            "Ask whoever runs AlphaSwarm to give the proxy AWS credentials of the partner account, or to start it in sandbox mode.",
        ),
        "platform_credentials_invalid" => {
            hint("Ask whoever runs AlphaSwarm to renew the proxy's AWS credentials.")
        }
        "aws_config_invalid" => both(
            "A setting of the proxy's AWS connection is invalid.",
            "Ask whoever runs AlphaSwarm to correct the proxy's AWS settings.",
        ),
        // Client-side checks of the UI itself.
        "network_error" => hint("Check that the proxy is running, then retry."),
        "unexpected_response" => both(
            "The proxy sent an answer this page does not understand.",
            "Reload the page; the page and the proxy may be from different versions.",
        ),
        _ => return None,
    })
}

/// The label the wizard shows for an input named `field` on the wire, for
/// messages that name the input.
pub fn field_label(field: &str) -> Option<&'static str> {
    Some(match field {
        "org_id" => "Organisation id",
        "role_arn" => "Role ARN",
        "region" => "Region",
        "organizational_unit_ids" => "Organizational unit ids",
        "external_id" => "External id",
        "tenant_id" => "Tenant id",
        "subscription_id" => "Subscription id",
        "client_id" => "Client id",
        "resource_group" => "Resource group",
        "project_id" => "Project id",
        "project_number" => "Project number",
        "service_account_email" => "Service account email",
        "account_id" => "Account id",
        "api_token" | "token" => "API token",
        "username" => "User name",
        "password" => "Password",
        "code" => "One-time code",
        "namespace" => "Namespace",
        _ => return None,
    })
}

/// Why `text` is developer wording (`None` when an operator may read it):
/// an HTTP method, a route, a header, a character position or an
/// identifier written as code (`role_arn`, `templateUrl`). Setting names in
/// capitals (`ALPHASWARM_ADMIN_AWS_TEMPLATE_URL`) are what an operator
/// sets, so they pass.
pub fn developer_wording(text: &str) -> Option<&'static str> {
    const PHRASES: [(&str, &str); 8] = [
        ("/auth/", "a route"),
        ("/admin/", "a route"),
        ("API.md", "the API reference"),
        ("Authorization", "a header name"),
        ("Bearer", "a header value"),
        ("Content-Type", "a header name"),
        ("JSON body", "the request body"),
        ("HTTP ", "an HTTP status"),
    ];
    if let Some((_, why)) = PHRASES.iter().find(|(p, _)| text.contains(p)) {
        return Some(why);
    }
    // Words with the character before each and the text after: an identifier inside a cloud
    // name or a command (`roles/iam.workloadIdentityUser`, `--role_x`) is
    // something to type, not a field of our API.
    let mut words: Vec<(char, &str, &str)> = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        let in_word = c.is_ascii_alphanumeric() || c == '_';
        match (in_word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let before = text[..s].chars().next_back().unwrap_or(' ');
                words.push((before, &text[s..i], &text[i..]));
                start = None;
            }
            _ => {}
        }
    }
    for pair in words.windows(2) {
        if pair[0].1 == "position" && pair[1].1.bytes().all(|b| b.is_ascii_digit()) {
            return Some("a character position");
        }
    }
    let mut after_flag = false;
    for (before, word, rest) in words {
        if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&word) {
            return Some("an HTTP method");
        }
        // A flag's value (`--query tenantId`) is typed as it is.
        let flag_value = std::mem::replace(&mut after_flag, before == '-');
        // A prefix (`cfat_`) or a file name (`trust_policy.json`) is seen as is.
        let file_or_prefix = word.ends_with('_') || rest.starts_with(".json");
        // Cloud vocabulary an operator meets in the cloud's own console.
        let cloud_term = ["principalSet", "principal_set"].contains(&word);
        if flag_value || file_or_prefix || cloud_term || ".:/=-$@{(".contains(before) {
            continue;
        }
        let lower_start = word.starts_with(|c: char| c.is_ascii_lowercase());
        let code_like = word.contains('_') || word.contains(|c: char| c.is_ascii_uppercase());
        if lower_start && code_like {
            return Some("a field name written as code");
        }
    }
    None
}

/// `text` with every wire field name that has a label replaced by it
/// (`role_arn is invalid` → `Role ARN is invalid`).
pub fn with_labels(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        match field_label(word) {
            Some(label) if word.contains('_') => out.push_str(label),
            _ => out.push_str(word),
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The message and hint the wizard shows for an API error: the table's
/// words where there are some, else the API's own once its field names are
/// labels, else a plain fallback. Never developer wording.
pub fn for_operator(code: &str, message: &str, api_hint: &str) -> (String, String) {
    let words = operator_words(code);
    let message = match words.and_then(|w| w.message) {
        Some(m) => m.to_owned(),
        None => readable_or(message, FALLBACK_MESSAGE),
    };
    let hint = match words {
        Some(w) => w.hint.to_owned(),
        None if api_hint.is_empty() => String::new(),
        None => readable_or(api_hint, FALLBACK_HINT),
    };
    (message, hint)
}

/// `text` with labels for field names when that is operator wording, else `fallback`.
fn readable_or(text: &str, fallback: &str) -> String {
    let labelled = with_labels(text);
    if developer_wording(&labelled).is_none() {
        labelled
    } else {
        fallback.to_owned()
    }
}

/// A core validation error in an operator's words: the input's label, not
/// its wire name, and the offending character rather than its position.
pub fn id_error_message(label: &str, e: &IdError) -> String {
    let reason = match &e.reason {
        Reason::ForbiddenChar { ch, allowed, .. } => {
            let ch = match ch {
                ' ' => "a space".to_owned(),
                c if c.is_whitespace() || c.is_control() => "an invisible character".to_owned(),
                c => format!("\"{c}\""),
            };
            format!("it contains {ch}, which is not allowed (allowed: {allowed})")
        }
        other => other.to_string(),
    };
    format!("{label} is not a valid {}: {reason}.", e.kind.what())
}

/// What a known failure means for the operator, in plain words.
pub fn explanation(code: &str) -> Option<&'static str> {
    Some(match code {
        "assume_role_access_denied" => {
            "AWS refused sts:AssumeRole (AccessDenied): the role's trust policy does not let AlphaSwarm in. Either the trust policy from step 2 is not attached to this role, or its sts:ExternalId differs from the external id shown in step 2, or the role does not exist (AWS does not say which)."
        }
        "role_not_found" => {
            "AWS says no such role exists: check the account id and role name in the ARN, or create the role with the step 2 commands."
        }
        "region_disabled" => {
            "STS is disabled in that region for this account: enable the region or pick another one."
        }
        "account_mismatch" => {
            "The identity AWS returned belongs to a different account than the ARN names."
        }
        "trust_policy_unsafe" => {
            "The role trusts AlphaSwarm without requiring the external id, so anyone using AlphaSwarm could reach it (confused deputy). Use the trust policy from step 2."
        }
        "simulate_denied" => {
            "AWS refused step 4's own check: the role may not read its own permissions (iam:SimulatePrincipalPolicy), so none of them could be checked. Put the least-privilege policy below on the role and check again."
        }
        "step_up_required" => "Your second-factor confirmation is missing or too old.",
        "network_error" => "The request did not reach the proxy; nothing was changed.",
        _ => return None,
    })
}
