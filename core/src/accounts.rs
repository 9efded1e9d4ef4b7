//! Account integrations of seed 003 that hold a token: HuggingFace and
//! Docker Hub.
//!
//! Everything here is checked before any call leaves the proxy (and can be
//! checked in the browser): the integration kind and its URL spellings, the
//! token formats (`hf_…`, `dckr_pat_…` / `dckr_oat_…`), the Docker ID and the
//! namespace rules. Errors name the field and say what the value looks like
//! instead; they never quote a token, not even one character of it.

use crate::error::CoreError;
use crate::rule::{self, Reason, Rule};

/// The token-based account kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccountKind {
    HuggingFace,
    DockerHub,
}

impl AccountKind {
    pub const ALL: [AccountKind; 2] = [AccountKind::HuggingFace, AccountKind::DockerHub];

    /// The integration kind and credential-key service (seed 003).
    pub fn integration_kind(self) -> &'static str {
        match self {
            AccountKind::HuggingFace => "huggingface",
            AccountKind::DockerHub => "docker_hub",
        }
    }

    /// Reads a URL segment or a kind: seed 003 spells Docker Hub both
    /// `dockerhub` (connect) and `docker_hub` (disconnect); both are accepted
    /// everywhere and `docker_hub` is what is stored and reported.
    pub fn from_segment(segment: &str) -> Option<AccountKind> {
        match segment {
            "huggingface" => Some(AccountKind::HuggingFace),
            "docker_hub" | "dockerhub" => Some(AccountKind::DockerHub),
            _ => None,
        }
    }

    /// The product name shown to operators.
    pub fn display_name(self) -> &'static str {
        match self {
            AccountKind::HuggingFace => "HuggingFace",
            AccountKind::DockerHub => "Docker Hub",
        }
    }

    /// The body field that carries the token.
    pub fn token_field(self) -> &'static str {
        match self {
            AccountKind::HuggingFace => "token",
            AccountKind::DockerHub => "pat",
        }
    }

    /// Where the operator creates (and revokes) tokens.
    pub fn tokens_page(self) -> &'static str {
        match self {
            AccountKind::HuggingFace => "https://huggingface.co/settings/tokens",
            AccountKind::DockerHub => "https://app.docker.com/settings/personal-access-tokens",
        }
    }
}

impl std::fmt::Display for AccountKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.integration_kind())
    }
}

// ---------------------------------------------------------------- tokens

/// HuggingFace user access tokens (huggingface.js: "Actually `hf_${string}`").
pub const HF_TOKEN_PREFIX: &str = "hf_";
/// Docker Hub personal access tokens.
pub const DOCKER_PAT_PREFIX: &str = "dckr_pat_";
/// Docker Hub organization access tokens (the identifier is then the org).
pub const DOCKER_OAT_PREFIX: &str = "dckr_oat_";

/// Bounds of the part after the prefix. Real HuggingFace tokens carry 34
/// characters and Docker's examples 15 to 27; the bounds only refuse what
/// cannot be a token (a truncated paste, a whole file).
const TOKEN_BODY_MIN: usize = 10;
const TOKEN_BODY_MAX: usize = 256;

/// Which kind of token a value is, judged by its prefix alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    HuggingFace,
    DockerPersonal,
    DockerOrganization,
}

impl TokenKind {
    fn of(token: &str) -> Option<TokenKind> {
        if token.starts_with(HF_TOKEN_PREFIX) {
            Some(TokenKind::HuggingFace)
        } else if token.starts_with(DOCKER_PAT_PREFIX) {
            Some(TokenKind::DockerPersonal)
        } else if token.starts_with(DOCKER_OAT_PREFIX) {
            Some(TokenKind::DockerOrganization)
        } else {
            None
        }
    }

    pub fn account(self) -> AccountKind {
        match self {
            TokenKind::HuggingFace => AccountKind::HuggingFace,
            TokenKind::DockerPersonal | TokenKind::DockerOrganization => AccountKind::DockerHub,
        }
    }

    /// `access_token`, `personal_access_token`, `organization_access_token`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::HuggingFace => "access_token",
            TokenKind::DockerPersonal => "personal_access_token",
            TokenKind::DockerOrganization => "organization_access_token",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            TokenKind::HuggingFace => HF_TOKEN_PREFIX,
            TokenKind::DockerPersonal => DOCKER_PAT_PREFIX,
            TokenKind::DockerOrganization => DOCKER_OAT_PREFIX,
        }
    }

    /// Characters after the prefix: HuggingFace tokens are alphanumeric,
    /// Docker's also use `_` and `-` (trufflehog: `dckr_pat_[a-zA-Z0-9_-]{27}`).
    fn body_char(self, c: char) -> bool {
        match self {
            TokenKind::HuggingFace => c.is_ascii_alphanumeric(),
            TokenKind::DockerPersonal | TokenKind::DockerOrganization => {
                c.is_ascii_alphanumeric() || c == '_' || c == '-'
            }
        }
    }
}

/// What a refused token looked like, so the hint can say what to do. Never
/// carries any part of the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenShape {
    /// A token of the other product.
    OtherProduct(AccountKind),
    /// The right prefix, but too short, too long or with foreign characters.
    Malformed,
    /// No known prefix: for Docker Hub most likely the account password.
    Unprefixed,
}

/// A token whose format was checked; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountToken {
    value: String,
    kind: TokenKind,
}

impl AccountToken {
    pub fn expose(&self) -> &str {
        &self.value
    }
    pub fn kind(&self) -> TokenKind {
        self.kind
    }
}

impl std::fmt::Debug for AccountToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountToken")
            .field("kind", &self.kind)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// Checks a pasted token for `account`. Surrounding whitespace (a paste
/// artefact) is dropped; nothing else is ever changed.
pub fn parse_token(account: AccountKind, raw: &str) -> Result<AccountToken, AccountError> {
    let field = account.token_field();
    let value = raw.trim();
    if value.is_empty() {
        return Err(AccountError::MissingToken { account, field });
    }
    let refused = |shape| AccountError::TokenFormat {
        account,
        field,
        shape,
    };
    let kind = TokenKind::of(value).ok_or(refused(TokenShape::Unprefixed))?;
    if kind.account() != account {
        return Err(refused(TokenShape::OtherProduct(kind.account())));
    }
    let body = &value[kind.prefix().len()..];
    let body_len = body.chars().take(TOKEN_BODY_MAX + 1).count();
    if !(TOKEN_BODY_MIN..=TOKEN_BODY_MAX).contains(&body_len)
        || !body.chars().all(|c| kind.body_char(c))
    {
        return Err(refused(TokenShape::Malformed));
    }
    Ok(AccountToken {
        value: value.to_owned(),
        kind,
    })
}

// ---------------------------------------------------------------- names

/// HuggingFace user and organisation names (the owner part of a repo id):
/// letters, digits, `-`, `_`, `.`; no `--` or `..`; at most 96 characters.
const HF_NAMESPACE_RULE: Rule = Rule {
    min: 1,
    max: 96,
    allowed: |c| rule::is_alnum(c) || matches!(c, '-' | '_' | '.'),
    allowed_desc: "letters, digits, -, _ and .",
    first: Some((rule::is_alnum, "a letter or digit")),
    last: Some((rule::is_alnum, "a letter or digit")),
};

/// Docker Hub namespaces and Docker IDs, lowercased: Docker IDs are
/// lowercase letters and digits; `-`, `_` and `.` are let through so an
/// older or organisation name is never refused here (Docker Hub decides).
const DOCKER_NAME_RULE: Rule = Rule {
    min: 2,
    max: 255,
    allowed: |c| rule::is_lower_alnum(c) || matches!(c, '-' | '_' | '.'),
    allowed_desc: "lowercase letters, digits, -, _ and .",
    first: Some((rule::is_lower_alnum, "a letter or digit")),
    last: Some((rule::is_lower_alnum, "a letter or digit")),
};

/// A user or organisation name of one product, checked by its rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Namespace(String);

impl Namespace {
    /// HuggingFace keeps the case as typed (the proxy compares it with
    /// whoami's names without regard to case); Docker Hub names are
    /// lowercased first, as Docker Hub itself stores them.
    pub fn parse(account: AccountKind, raw: &str) -> Result<Namespace, AccountError> {
        let value = normalise(account, raw);
        check_name(account, "namespace", &value)?;
        Ok(Namespace(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Docker ID (or, with an organisation access token, the org name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DockerUsername(String);

impl DockerUsername {
    /// `None` or blank is [`AccountError::MissingUsername`]: Docker Hub's
    /// login never accepts a token alone.
    pub fn parse(raw: Option<&str>) -> Result<DockerUsername, AccountError> {
        let value = normalise(AccountKind::DockerHub, raw.unwrap_or_default());
        if value.is_empty() {
            return Err(AccountError::MissingUsername);
        }
        if value.contains('@') {
            return Err(AccountError::UsernameIsEmail);
        }
        check_name(AccountKind::DockerHub, "username", &value)?;
        Ok(DockerUsername(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The namespace of the user's own repositories.
    pub fn namespace(&self) -> Namespace {
        Namespace(self.0.clone())
    }
}

impl std::fmt::Display for DockerUsername {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn normalise(account: AccountKind, raw: &str) -> String {
    match account {
        AccountKind::HuggingFace => raw.trim().to_owned(),
        AccountKind::DockerHub => raw.trim().to_ascii_lowercase(),
    }
}

fn check_name(account: AccountKind, field: &'static str, value: &str) -> Result<(), AccountError> {
    // A token pasted into a name field must go nowhere: not into a login
    // identifier, a URL path or an error message.
    if TokenKind::of(&value.to_ascii_lowercase()).is_some() {
        return Err(AccountError::TokenInNameField { account, field });
    }
    let rule = match account {
        AccountKind::HuggingFace => HF_NAMESPACE_RULE,
        AccountKind::DockerHub => DOCKER_NAME_RULE,
    };
    let refused = |reason| AccountError::InvalidName {
        account,
        field,
        reason,
    };
    rule.check(value).map_err(refused)?;
    if value.contains("--") || value.contains("..") {
        return Err(refused(Reason::Format {
            expected: "no doubled - or .",
        }));
    }
    Ok(())
}

// ---------------------------------------------------------------- errors

/// Why an account form was refused before any call. Messages name fields and
/// describe the problem; they never contain a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("no {} token was given", .account.display_name())]
    MissingToken {
        account: AccountKind,
        field: &'static str,
    },
    #[error("{}", token_format_message(*.account, *.shape))]
    TokenFormat {
        account: AccountKind,
        field: &'static str,
        shape: TokenShape,
    },
    #[error("a Docker Hub token was given without the Docker ID it belongs to")]
    MissingUsername,
    #[error("the Docker ID looks like an email address")]
    UsernameIsEmail,
    #[error("the {field} field holds what looks like an access token")]
    TokenInNameField {
        account: AccountKind,
        field: &'static str,
    },
    #[error("the {} {field} is not valid: {reason}", .account.display_name())]
    InvalidName {
        account: AccountKind,
        field: &'static str,
        reason: Reason,
    },
}

fn token_format_message(account: AccountKind, shape: TokenShape) -> String {
    let name = account.display_name();
    match shape {
        TokenShape::OtherProduct(other) => {
            format!("this is a {} token, not a {name} token", other.display_name())
        }
        TokenShape::Malformed => format!("this does not have the format of a {name} token"),
        TokenShape::Unprefixed => match account {
            AccountKind::HuggingFace => "HuggingFace tokens start with hf_".to_owned(),
            AccountKind::DockerHub => {
                "Docker Hub access tokens start with dckr_pat_ or dckr_oat_; passwords are not accepted".to_owned()
            }
        },
    }
}

impl CoreError for AccountError {
    fn code(&self) -> &'static str {
        match self {
            AccountError::MissingToken { .. } => "missing_token",
            AccountError::TokenFormat { .. } => "invalid_token_format",
            AccountError::MissingUsername => "missing_username",
            AccountError::UsernameIsEmail
            | AccountError::InvalidName {
                field: "username", ..
            }
            | AccountError::TokenInNameField {
                field: "username", ..
            } => "invalid_username",
            AccountError::InvalidName { .. } | AccountError::TokenInNameField { .. } => {
                "invalid_namespace"
            }
        }
    }

    fn field(&self) -> Option<&str> {
        Some(match self {
            AccountError::MissingToken { field, .. }
            | AccountError::TokenFormat { field, .. }
            | AccountError::TokenInNameField { field, .. }
            | AccountError::InvalidName { field, .. } => field,
            AccountError::MissingUsername | AccountError::UsernameIsEmail => "username",
        })
    }

    fn hint(&self) -> String {
        match self {
            AccountError::MissingToken { account, .. } => format!(
                "Paste the {} token created at {}.",
                account.display_name(),
                account.tokens_page()
            ),
            AccountError::TokenFormat { account, shape, .. } => match shape {
                TokenShape::OtherProduct(other) => format!(
                    "Connect it under {} instead, and paste a {} token here ({}).",
                    other.display_name(),
                    account.display_name(),
                    account.tokens_page()
                ),
                TokenShape::Malformed => format!(
                    "Copy the whole token again, exactly as {} showed it when it was created.",
                    account.display_name()
                ),
                TokenShape::Unprefixed => format!(
                    "Create an access token at {} and paste it here.",
                    account.tokens_page()
                ),
            },
            AccountError::MissingUsername => "Enter the Docker ID (username) that owns the personal access token; Docker Hub's login does not accept a token alone. With an organization access token, enter the organization name.".to_owned(),
            AccountError::TokenInNameField { account, .. } => format!(
                "Paste the token into the {} token field, and the user or organization name here; if the token was shown anywhere else, consider it exposed and create a new one.",
                account.display_name()
            ),
            AccountError::UsernameIsEmail => "Enter the Docker ID (shown under Account settings), not the email address.".to_owned(),
            AccountError::InvalidName { account: AccountKind::HuggingFace, .. } => "Use the user or organization name as it appears in huggingface.co/<name>.".to_owned(),
            AccountError::InvalidName { field: "username", .. } => "Use the Docker ID as it appears in hub.docker.com/u/<name>.".to_owned(),
            AccountError::InvalidName { .. } => "Use the user or organization name as it appears in hub.docker.com/u/<name> (leave it empty to use the Docker ID).".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HF: &str = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567";
    const PAT: &str = "dckr_pat_2sX0-kq_Ra9b1c2d3e4f5g6h7i8j9k";

    #[test]
    fn kinds_accept_both_docker_spellings_and_report_one() {
        assert_eq!(
            AccountKind::from_segment("dockerhub"),
            Some(AccountKind::DockerHub)
        );
        assert_eq!(
            AccountKind::from_segment("docker_hub"),
            Some(AccountKind::DockerHub)
        );
        assert_eq!(AccountKind::DockerHub.integration_kind(), "docker_hub");
        assert_eq!(AccountKind::from_segment("cloud_aws"), None);
    }

    #[test]
    fn tokens_of_the_right_format_pass_trimmed() {
        let t = parse_token(AccountKind::HuggingFace, &format!("  {HF}\n")).unwrap();
        assert_eq!((t.expose(), t.kind()), (HF, TokenKind::HuggingFace));
        let t = parse_token(AccountKind::DockerHub, PAT).unwrap();
        assert_eq!(t.kind(), TokenKind::DockerPersonal);
        let oat = "dckr_oat_7awgM4jG5SQvxcvmNzhKj8PQjxo";
        let t = parse_token(AccountKind::DockerHub, oat).unwrap();
        assert_eq!(t.kind(), TokenKind::DockerOrganization);
        assert!(!format!("{t:?}").contains("7awg"));
    }

    #[test]
    fn refused_tokens_say_what_they_look_like_and_never_quote_them() {
        let cases = [
            (AccountKind::HuggingFace, "", "missing_token", None),
            (
                AccountKind::HuggingFace,
                PAT,
                "invalid_token_format",
                Some(TokenShape::OtherProduct(AccountKind::DockerHub)),
            ),
            (
                AccountKind::DockerHub,
                HF,
                "invalid_token_format",
                Some(TokenShape::OtherProduct(AccountKind::HuggingFace)),
            ),
            (
                AccountKind::DockerHub,
                "correct-horse-battery",
                "invalid_token_format",
                Some(TokenShape::Unprefixed),
            ),
            (
                AccountKind::HuggingFace,
                "hf_short",
                "invalid_token_format",
                Some(TokenShape::Malformed),
            ),
            (
                AccountKind::HuggingFace,
                "hf_AbCdEfGhIj KlMnOpQrSt",
                "invalid_token_format",
                Some(TokenShape::Malformed),
            ),
            (
                AccountKind::DockerHub,
                &format!("dckr_pat_{}", "x".repeat(300)),
                "invalid_token_format",
                Some(TokenShape::Malformed),
            ),
        ];
        for (account, raw, code, shape) in cases {
            let err = parse_token(account, raw).unwrap_err();
            assert_eq!(err.code(), code, "{raw}");
            assert_eq!(err.field(), Some(account.token_field()));
            if let Some(shape) = shape {
                assert!(matches!(err, AccountError::TokenFormat { shape: s, .. } if s == shape));
            }
            let shown = format!("{err} {} {err:?}", err.hint());
            let body = raw.split('_').next_back().unwrap_or_default();
            assert!(body.len() < 4 || !shown.contains(body), "{shown}");
        }
        let hint = parse_token(AccountKind::DockerHub, "hunter2hunter2")
            .unwrap_err()
            .to_string();
        assert!(hint.contains("passwords are not accepted"), "{hint}");
    }

    #[test]
    fn docker_usernames_are_required_lowercased_and_not_emails() {
        assert_eq!(
            DockerUsername::parse(None).unwrap_err().code(),
            "missing_username"
        );
        assert_eq!(
            DockerUsername::parse(Some("  ")).unwrap_err().code(),
            "missing_username"
        );
        let err = DockerUsername::parse(Some("ops@acme.example")).unwrap_err();
        assert_eq!(
            (err.code(), err.field()),
            ("invalid_username", Some("username"))
        );
        assert_eq!(
            DockerUsername::parse(Some(" AcmeOps ")).unwrap().as_str(),
            "acmeops"
        );
        let err = DockerUsername::parse(Some("acme/ops")).unwrap_err();
        assert_eq!(err.code(), "invalid_username");
    }

    #[test]
    fn namespaces_follow_each_products_rule() {
        assert_eq!(
            Namespace::parse(AccountKind::HuggingFace, "Acme-Quant")
                .unwrap()
                .as_str(),
            "Acme-Quant"
        );
        assert_eq!(
            Namespace::parse(AccountKind::DockerHub, "AcmeOps")
                .unwrap()
                .as_str(),
            "acmeops"
        );
        for bad in [
            "",
            "-acme",
            "acme--quant",
            "a/b",
            "../x",
            "acme quant",
            "x".repeat(97).as_str(),
        ] {
            let err = Namespace::parse(AccountKind::HuggingFace, bad).unwrap_err();
            assert_eq!(
                (err.code(), err.field()),
                ("invalid_namespace", Some("namespace")),
                "{bad}"
            );
        }
        assert!(Namespace::parse(AccountKind::DockerHub, "a").is_err());
        // A token in a name field is refused without being repeated.
        let pat = "dckr_pat_2sX0-kq_Ra9b1c2d3e4f5g6h7i8j9k";
        let err = DockerUsername::parse(Some(pat)).unwrap_err();
        assert_eq!(
            (err.code(), err.field()),
            ("invalid_username", Some("username"))
        );
        let err = Namespace::parse(
            AccountKind::HuggingFace,
            "HF_abcdefghijklmnopqrstuvwxyz012345",
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_namespace");
        let shown = format!("{err} {}", err.hint());
        assert!(
            !shown.contains("abcdefghij")
                && !format!("{:?}", DockerUsername::parse(Some(pat))).contains("Ra9b")
        );
        assert!(Namespace::parse(AccountKind::DockerHub, "acme%2fops").is_err());
    }
}
