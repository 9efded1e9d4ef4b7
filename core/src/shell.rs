//! Commands an operator pastes, rendered for bash and for PowerShell.
//!
//! Commands are data (program words + arguments); rendering quotes every
//! argument. A command may store its output in a shell variable that later
//! commands pass on as one argument (`VAR="$(...)"` / `$VAR = ...`): only for
//! values that exist once an earlier command ran, such as a new identity's
//! id. Bash quoting is `shlex`'s; PowerShell gets every value in single
//! quotes with an ASCII `'` doubled (PowerShell's own escape), after refusing
//! the characters that could end such a string otherwise (the Unicode
//! look-alikes of `'`, which PowerShell also treats as quotes) and control
//! characters. Values are validated long before they get here, so
//! a refusal means a rule upstream is missing, never a user-visible escape.

use crate::error::CoreError;
use serde::{Deserialize, Serialize};

/// A command as data: `program` words are fixed literals written by us;
/// each line holds flags (literals) and values (quoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    program: Vec<&'static str>,
    lines: Vec<Vec<Word>>,
    /// The variable this command's standard output is stored in.
    capture: Option<&'static str>,
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
    /// A literal written by us followed by a shell variable, as one word.
    Var {
        prefix: &'static str,
        name: &'static str,
    },
    /// The output of another command (bash `"$(...)"`, PowerShell `(...)`),
    /// for a value that exists only once an earlier command has run (the
    /// principal id of an identity created a line above). The inner command
    /// is itself data, so its values are quoted like any other.
    Capture(Box<Command>),
}

/// Variable names are ours: uppercase letters, digits and `_`, so they mean
/// the same in bash and PowerShell and never need quoting.
fn check_var_name(name: &'static str) -> &'static str {
    assert!(
        name.starts_with(|c: char| c.is_ascii_uppercase())
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
        "shell variable names are static UPPER_SNAKE literals: {name}"
    );
    name
}

/// A literal that sits before a variable inside double quotes in
/// PowerShell: it must not hold anything PowerShell expands or ends there.
fn check_var_prefix(prefix: &'static str) -> &'static str {
    assert!(
        prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@".contains(c)),
        "variable prefixes are plain literals: {prefix}"
    );
    prefix
}

impl Command {
    pub fn new(program: &[&'static str]) -> Self {
        Command {
            program: program.to_vec(),
            lines: Vec::new(),
            capture: None,
        }
    }
    /// Stores the command's standard output in `$name` (trailing newline
    /// dropped, as `$(...)` does) instead of printing it.
    pub fn capture_into(mut self, name: &'static str) -> Self {
        self.capture = Some(check_var_name(name));
        self
    }
    /// `--flag <value of $name>` on its own line, passed as one argument.
    pub fn opt_var(mut self, flag: &'static str, name: &'static str) -> Self {
        self.lines.push(vec![
            Word::Flag(flag),
            Word::Var {
                prefix: "",
                name: check_var_name(name),
            },
        ]);
        self
    }
    /// `<prefix><value of $name>` as one positional argument on its own line.
    pub fn arg_var(mut self, prefix: &'static str, name: &'static str) -> Self {
        self.lines.push(vec![Word::Var {
            prefix: check_var_prefix(prefix),
            name: check_var_name(name),
        }]);
        self
    }
    /// The variable this command stores its output in, if any.
    pub fn captured(&self) -> Option<&'static str> {
        self.capture
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
    /// `--flag <output of command>` on its own line.
    pub fn opt_output_of(mut self, flag: &'static str, command: Command) -> Self {
        self.lines
            .push(vec![Word::Flag(flag), Word::Capture(Box::new(command))]);
        self
    }

    /// The exact argv the command runs with (program words first); a
    /// variable shows as `$NAME`. A captured command's output cannot be
    /// known here: its word is `$(<inner argv joined by spaces>)`, a
    /// stand-in the round-trip tests reproduce with fake programs that print
    /// exactly that.
    pub fn argv(&self) -> Vec<String> {
        self.argv_resolved(|name| format!("${name}"))
    }

    /// The argv with every variable replaced by `value(name)`.
    pub fn argv_resolved(&self, value: impl Fn(&str) -> String) -> Vec<String> {
        self.program
            .iter()
            .map(|w| (*w).to_owned())
            .chain(self.lines.iter().flatten().map(|w| match w {
                Word::Flag(f) => (*f).to_owned(),
                Word::Value(v) => v.clone(),
                Word::Assign(f, v) => format!("{f}={v}"),
                Word::Var { prefix, name } => format!("{prefix}{}", value(name)),
                Word::Capture(c) => format!("$({})", c.argv().join(" ")),
            }))
            .collect()
    }

    /// The commands whose output this one uses, in the order they run.
    pub fn captures(&self) -> Vec<&Command> {
        self.lines
            .iter()
            .flatten()
            .filter_map(|w| match w {
                Word::Capture(c) => Some(c.as_ref()),
                _ => None,
            })
            .collect()
    }

    pub fn render(&self, shell: Shell) -> Result<String, ShellError> {
        self.render_with(shell, true)
    }

    /// The same command on one line (for a hint or a table cell).
    pub fn render_inline(&self, shell: Shell) -> Result<String, ShellError> {
        self.render_with(shell, false)
    }

    /// One word per argument; with `multiline`, each line after a continuation.
    fn render_with(&self, shell: Shell, multiline: bool) -> Result<String, ShellError> {
        let (continuation, quote) = match shell {
            Shell::Bash => (" \\\n  ", quote_bash as QuoteFn),
            Shell::PowerShell => (" `\n  ", quote_powershell as QuoteFn),
        };
        let separator = if multiline { continuation } else { " " };
        let mut out = match (self.capture, shell) {
            (None, _) => String::new(),
            (Some(name), Shell::Bash) => format!("{name}=\"$("),
            (Some(name), Shell::PowerShell) => format!("${name} = "),
        };
        out.push_str(&self.program.join(" "));
        for line in &self.lines {
            out.push_str(separator);
            let words = line
                .iter()
                .map(|w| match w {
                    Word::Flag(f) => Ok((*f).to_owned()),
                    Word::Value(v) => quote(v),
                    Word::Assign(f, v) => match shell {
                        Shell::Bash => Ok(format!("{f}={}", quote_bash(v)?)),
                        Shell::PowerShell => quote_powershell(&format!("{f}={v}")),
                    },
                    Word::Var { prefix, name } => Ok(match shell {
                        Shell::Bash if prefix.is_empty() => format!("\"${name}\""),
                        Shell::Bash => format!("{}\"${name}\"", quote_bash(prefix)?),
                        Shell::PowerShell if prefix.is_empty() => format!("${name}"),
                        Shell::PowerShell => format!("\"{prefix}${name}\""),
                    }),
                    Word::Capture(c) => {
                        let inner = c.render_with(shell, false)?;
                        Ok(match shell {
                            Shell::Bash => format!("\"$({inner})\""),
                            Shell::PowerShell => format!("({inner})"),
                        })
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            out.push_str(&words.join(" "));
        }
        if self.capture.is_some() && shell == Shell::Bash {
            out.push_str(")\"");
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

impl Shell {
    /// The shell's name in messages (not `Debug`: the web UI's build
    /// compiles `Debug` formatting out).
    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::PowerShell => "PowerShell",
        }
    }
}

/// Why a value cannot be written into a shell command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    #[error("a value contains a NUL byte, which no shell argument can hold")]
    Nul,
    #[error("a value contains the character {}, which cannot be quoted safely for {}", ch.escape_debug(), shell.name())]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The characters PowerShell's tokenizer reads as a single quote
    /// (PowerShell's `CharExtensions.IsSingleQuote`: `'`, U+2018, U+2019,
    /// U+201A, U+201B); any of them would end a single-quoted string.
    /// What PowerShell reads as a single quote besides the ASCII one.
    const QUOTE_LOOK_ALIKES: [char; 4] = ['\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

    #[test]
    fn powershell_single_quotes_keep_every_other_character_literal() {
        for value in [
            "plain",
            "",
            "a b",
            "$env:HOME",
            "$(Get-Process)",
            "${x}",
            "`n`$",
            "a\"b",
            "\u{201C}double look-alikes\u{201D}\u{201E}",
            "@(1,2)",
            "-flag",
            "--%",
            ";|&<>#",
            "é🦀\u{2028}",
            "file://trust_policy.json",
        ] {
            assert_eq!(quote_powershell(value).unwrap(), format!("'{value}'"));
        }
    }

    #[test]
    fn powershell_doubles_the_ascii_single_quote() {
        assert_eq!(quote_powershell("it's").unwrap(), "'it''s'");
        assert_eq!(
            quote_powershell("assertion.sub=='org:acme'").unwrap(),
            "'assertion.sub==''org:acme'''"
        );
    }

    #[test]
    fn powershell_refuses_the_single_quote_look_alikes() {
        for ch in QUOTE_LOOK_ALIKES {
            for value in [
                ch.to_string(),
                format!("a{ch}b"),
                format!("x{ch}; Remove-Item -Recurse C:\\"),
            ] {
                let err = quote_powershell(&value).unwrap_err();
                assert_eq!(
                    err,
                    ShellError::Unquotable {
                        shell: Shell::PowerShell,
                        ch
                    },
                    "{value:?}"
                );
                assert_eq!(err.code(), "unquotable_character");
                // bash quotes them without trouble: only PowerShell reads them as quotes.
                assert!(quote_bash(&value).is_ok());
            }
        }
    }

    #[test]
    fn powershell_refuses_control_characters_and_nul() {
        // NEL (U+0085) is a line break to PowerShell as well.
        for ch in ['\n', '\r', '\t', '\u{1b}', '\u{7f}', '\u{85}'] {
            assert_eq!(
                quote_powershell(&format!("a{ch}b")).unwrap_err(),
                ShellError::Unquotable {
                    shell: Shell::PowerShell,
                    ch
                }
            );
        }
        assert_eq!(quote_powershell("a\0b").unwrap_err(), ShellError::Nul);
        assert_eq!(quote_bash("a\0b").unwrap_err(), ShellError::Nul);
        assert_eq!(ShellError::Nul.code(), "unquotable_nul");
    }

    #[test]
    fn commands_render_with_each_shells_continuation_and_quoting() {
        let command = Command::new(&["aws", "iam", "get-role"])
            .opt("--role-name", "it's")
            .flag("--no-cli-pager")
            .arg("$x");
        assert_eq!(
            command.render(Shell::Bash).unwrap(),
            "aws iam get-role \\\n  --role-name \"it's\" \\\n  --no-cli-pager \\\n  '$x'"
        );
        // PowerShell's own escape for a quote inside a single-quoted string.
        assert_eq!(
            command.render(Shell::PowerShell).unwrap(),
            "aws iam get-role `\n  --role-name 'it''s' `\n  --no-cli-pager `\n  '$x'"
        );
        // A look-alike quote cannot be written for PowerShell: refused, never escaped.
        let look_alike =
            Command::new(&["aws", "iam", "get-role"]).opt("--role-name", "it\u{2019}s");
        assert!(matches!(
            look_alike.render(Shell::PowerShell),
            Err(ShellError::Unquotable { ch: '\u{2019}', .. })
        ));
        let safe = Command::new(&["aws", "iam", "get-role"])
            .opt("--role-name", "a b")
            .arg("$x");
        assert_eq!(
            safe.render(Shell::PowerShell).unwrap(),
            "aws iam get-role `\n  --role-name 'a b' `\n  '$x'"
        );
        assert!(Commands::render(&[command]).is_ok());
        assert!(Commands::render(&[look_alike]).is_err());
    }
}
