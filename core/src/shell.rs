//! Commands an operator pastes, rendered for bash and for PowerShell.
//!
//! Commands are data (program words + arguments); rendering quotes every
//! argument. Bash quoting is `shlex`'s; PowerShell gets every value in single
//! quotes, after refusing the few characters that could end such a string
//! (`'` and its Unicode look-alikes, which PowerShell also treats as quotes)
//! and control characters. Values are validated long before they get here, so
//! a refusal means a rule upstream is missing, never a user-visible escape.

use crate::error::CoreError;
use serde::{Deserialize, Serialize};

/// A command as data: `program` words are fixed literals written by us;
/// each line holds flags (literals) and values (quoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    program: Vec<&'static str>,
    lines: Vec<Vec<Word>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Word {
    /// Written by us, e.g. `--role-name`; rendered bare.
    Flag(&'static str),
    /// Interpolated; always quoted where quoting is needed.
    Value(String),
    /// `--flag=value` as one argument (gcloud's documented form): bash
    /// quotes the value after a bare `--flag=`, PowerShell quotes the whole
    /// word so it is never read as a parameter or split at a `.`.
    Assign(&'static str, String),
}

impl Command {
    pub fn new(program: &[&'static str]) -> Self {
        Command {
            program: program.to_vec(),
            lines: Vec::new(),
        }
    }
    /// A positional value on its own line.
    pub fn arg(mut self, value: impl Into<String>) -> Self {
        self.lines.push(vec![Word::Value(value.into())]);
        self
    }
    /// `--flag value` on its own line.
    pub fn opt(mut self, flag: &'static str, value: impl Into<String>) -> Self {
        self.lines
            .push(vec![Word::Flag(flag), Word::Value(value.into())]);
        self
    }
    /// `--flag=value`, one argument, on its own line.
    pub fn assign(mut self, flag: &'static str, value: impl Into<String>) -> Self {
        self.lines.push(vec![Word::Assign(flag, value.into())]);
        self
    }
    /// A bare `--flag` on its own line.
    pub fn flag(mut self, flag: &'static str) -> Self {
        self.lines.push(vec![Word::Flag(flag)]);
        self
    }

    /// The exact argv the command runs with (program words first).
    pub fn argv(&self) -> Vec<String> {
        self.program
            .iter()
            .map(|w| (*w).to_owned())
            .chain(self.lines.iter().flatten().map(|w| match w {
                Word::Flag(f) => (*f).to_owned(),
                Word::Value(v) => v.clone(),
                Word::Assign(f, v) => format!("{f}={v}"),
            }))
            .collect()
    }

    pub fn render(&self, shell: Shell) -> Result<String, ShellError> {
        let (continuation, quote) = match shell {
            Shell::Bash => (" \\", quote_bash as QuoteFn),
            Shell::PowerShell => (" `", quote_powershell as QuoteFn),
        };
        let mut out = self.program.join(" ");
        for line in &self.lines {
            out.push_str(continuation);
            out.push_str("\n  ");
            let words = line
                .iter()
                .map(|w| match w {
                    Word::Flag(f) => Ok((*f).to_owned()),
                    Word::Value(v) => quote(v),
                    Word::Assign(f, v) => match shell {
                        Shell::Bash => Ok(format!("{f}={}", quote_bash(v)?)),
                        Shell::PowerShell => quote_powershell(&format!("{f}={v}")),
                    },
                })
                .collect::<Result<Vec<_>, _>>()?;
            out.push_str(&words.join(" "));
        }
        Ok(out)
    }
}

type QuoteFn = fn(&str) -> Result<String, ShellError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum Shell {
    Bash,
    PowerShell,
}

/// Why a value cannot be written into a shell command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    #[error("a value contains a NUL byte, which no shell argument can hold")]
    Nul,
    #[error("a value contains the character {}, which cannot be quoted safely for {shell:?}", ch.escape_debug())]
    Unquotable { shell: Shell, ch: char },
}

impl CoreError for ShellError {
    fn code(&self) -> &'static str {
        match self {
            ShellError::Nul => "unquotable_nul",
            ShellError::Unquotable { .. } => "unquotable_character",
        }
    }
    fn field(&self) -> Option<&str> {
        None
    }
    fn hint(&self) -> String {
        "Remove control characters and quotes from the values you entered.".to_owned()
    }
}

pub fn quote_bash(value: &str) -> Result<String, ShellError> {
    shlex::try_quote(value)
        .map(|q| q.into_owned())
        .map_err(|_| ShellError::Nul)
}

/// PowerShell single-quoted literal. An ASCII `'` is doubled, PowerShell's
/// own escape (a CEL condition such as `assertion.sub=='org:x'` needs it);
/// its Unicode look-alikes, which PowerShell also treats as quotes, are
/// refused rather than escaped (see the module docs).
pub fn quote_powershell(value: &str) -> Result<String, ShellError> {
    if value.contains('\0') {
        return Err(ShellError::Nul);
    }
    if let Some(ch) = value
        .chars()
        .find(|c| c.is_control() || matches!(c, '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}'))
    {
        return Err(ShellError::Unquotable {
            shell: Shell::PowerShell,
            ch,
        });
    }
    Ok(format!("'{}'", value.replace('\'', "''")))
}

/// Both renderings of a list of commands, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Commands {
    pub bash: Vec<String>,
    pub powershell: Vec<String>,
}

impl Commands {
    pub fn render(commands: &[Command]) -> Result<Self, ShellError> {
        Ok(Commands {
            bash: commands
                .iter()
                .map(|c| c.render(Shell::Bash))
                .collect::<Result<_, _>>()?,
            powershell: commands
                .iter()
                .map(|c| c.render(Shell::PowerShell))
                .collect::<Result<_, _>>()?,
        })
    }

    /// One bash script holding every command, as an operator would save it.
    pub fn bash_script(&self) -> String {
        let mut s = String::from("#!/usr/bin/env bash\nset -euo pipefail\n\n");
        for c in &self.bash {
            s.push_str(c);
            s.push_str("\n\n");
        }
        s
    }
}
