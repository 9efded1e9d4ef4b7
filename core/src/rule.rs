//! Length and character rules for identifiers, and why a value broke one.
//!
//! Every identifier type in the core is checked through a [`Rule`], so the
//! reason a value was refused is reported the same way everywhere.

use serde::Serialize;

/// A length and character-class rule. Lengths count characters (`char`s);
/// where a cloud counts bytes the allowed set is ASCII, so both agree.
/// A character test plus its description for messages.
pub type CharCheck = (fn(char) -> bool, &'static str);

#[derive(Clone, Copy)]
pub struct Rule {
    pub min: usize,
    pub max: usize,
    pub allowed: fn(char) -> bool,
    /// Human description of `allowed`, e.g. "a-z, 0-9 and -".
    pub allowed_desc: &'static str,
    pub first: Option<CharCheck>,
    pub last: Option<CharCheck>,
}

/// Why a value does not satisfy a [`Rule`]. Shown to users, so it quotes at
/// most one offending character (escaped), never the whole value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    Empty,
    TooShort {
        min: usize,
        len: usize,
    },
    TooLong {
        max: usize,
        len: usize,
    },
    ForbiddenChar {
        ch: char,
        position: usize,
        allowed: &'static str,
    },
    BadFirstChar {
        expected: &'static str,
    },
    BadLastChar {
        expected: &'static str,
    },
    Format {
        expected: &'static str,
    },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Empty => write!(f, "it is empty"),
            Reason::TooShort { min, len } => {
                write!(f, "it has {len} characters; at least {min} are needed")
            }
            Reason::TooLong { max, len } => {
                write!(f, "it has {len} characters; at most {max} are allowed")
            }
            Reason::ForbiddenChar {
                ch,
                position,
                allowed,
            } => write!(
                f,
                "character {} at position {position} is not allowed (allowed: {allowed})",
                ch.escape_debug()
            ),
            Reason::BadFirstChar { expected } => write!(f, "it must start with {expected}"),
            Reason::BadLastChar { expected } => write!(f, "it must end with {expected}"),
            Reason::Format { expected } => write!(f, "expected {expected}"),
        }
    }
}

impl Rule {
    pub fn check(&self, value: &str) -> Result<(), Reason> {
        if value.is_empty() {
            return Err(Reason::Empty);
        }
        // Count lazily so a 10 MB hostile string costs at most max+1 steps here.
        let len = value.chars().take(self.max + 1).count();
        if len > self.max {
            return Err(Reason::TooLong {
                max: self.max,
                len: value.chars().count(),
            });
        }
        if len < self.min {
            return Err(Reason::TooShort { min: self.min, len });
        }
        if let Some((position, ch)) = value.chars().enumerate().find(|(_, c)| !(self.allowed)(*c)) {
            return Err(Reason::ForbiddenChar {
                ch,
                position,
                allowed: self.allowed_desc,
            });
        }
        if let Some((ok, expected)) = self.first
            && !value.chars().next().is_some_and(ok)
        {
            return Err(Reason::BadFirstChar { expected });
        }
        if let Some((ok, expected)) = self.last
            && !value.chars().next_back().is_some_and(ok)
        {
            return Err(Reason::BadLastChar { expected });
        }
        Ok(())
    }

    pub fn accepts(&self, value: &str) -> bool {
        self.check(value).is_ok()
    }
}

pub fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}
pub fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}
pub fn is_letter(c: char) -> bool {
    c.is_ascii_alphabetic()
}
pub fn is_lower_letter(c: char) -> bool {
    c.is_ascii_lowercase()
}
pub fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}
/// The `\w` of AWS's patterns: ASCII letters, digits and `_`.
pub fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}
