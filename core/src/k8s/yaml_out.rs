//! Writing Kubernetes manifests as YAML, by hand and safely.
//!
//! Every interpolated scalar is written double-quoted with everything
//! outside printable ASCII escaped, so no value can become a key, a
//! comment, a document marker, a tag, an anchor or a boolean, and YAML 1.1
//! and 1.2 readers (kubectl's and PyYAML) agree on it. Only fixed literals
//! written by us (`apiVersion: v1`, keys) are left plain, and only when
//! they are plain-safe in both YAML versions; anything else is quoted too.

/// A YAML value to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Yaml {
    /// A literal written by us, plain when safe.
    Lit(&'static str),
    /// An interpolated string: always double-quoted.
    Str(String),
    Map(Vec<(String, Yaml)>),
    Seq(Vec<Yaml>),
}

impl Yaml {
    pub fn str(value: impl Into<String>) -> Yaml {
        Yaml::Str(value.into())
    }
    /// A mapping from `(key, value)` pairs, in order.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Yaml)>) -> Yaml {
        Yaml::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

/// Words that YAML 1.1 or 1.2 read as something other than a string.
const NON_STRING_WORDS: [&str; 22] = [
    "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "True", "False", "Yes", "No",
    "On", "Off", "Y", "N", "Null", "NULL", "TRUE", "FALSE",
];

/// Plain in both YAML versions: starts with a letter, holds only letters,
/// digits and `. _ / -`, and is not a boolean or null word.
fn plain_safe(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
        && !NON_STRING_WORDS.contains(&text)
}

/// A double-quoted YAML scalar; printable ASCII stays, all else is escaped.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

fn scalar(text: &str, literal: bool) -> String {
    if literal && plain_safe(text) {
        text.to_owned()
    } else {
        quoted(text)
    }
}

fn key(text: &str) -> String {
    scalar(text, true)
}

fn write(value: &Yaml, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Yaml::Map(entries) => {
            for (k, v) in entries {
                out.push_str(&pad);
                out.push_str(&key(k));
                out.push(':');
                write_after_key(v, indent, out);
            }
        }
        Yaml::Seq(items) => {
            for item in items {
                out.push_str(&pad);
                out.push('-');
                match item {
                    Yaml::Map(entries) if !entries.is_empty() => {
                        // The first entry sits on the dash's line.
                        let mut nested = String::new();
                        write(item, indent + 2, &mut nested);
                        out.push(' ');
                        out.push_str(&nested[indent + 2..]);
                    }
                    _ => write_after_key(item, indent, out),
                }
            }
        }
        Yaml::Lit(_) | Yaml::Str(_) => {
            out.push_str(&pad);
            write_inline(value, out);
            out.push('\n');
        }
    }
}

fn write_inline(value: &Yaml, out: &mut String) {
    match value {
        Yaml::Lit(text) => out.push_str(&scalar(text, true)),
        Yaml::Str(text) => out.push_str(&quoted(text)),
        Yaml::Map(_) => out.push_str("{}"),
        Yaml::Seq(_) => out.push_str("[]"),
    }
}

fn write_after_key(value: &Yaml, indent: usize, out: &mut String) {
    match value {
        Yaml::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            write(value, indent + 2, out);
        }
        Yaml::Seq(items) if !items.is_empty() => {
            out.push('\n');
            write(value, indent + 2, out);
        }
        _ => {
            out.push(' ');
            write_inline(value, out);
            out.push('\n');
        }
    }
}

/// One document.
pub fn to_yaml(value: &Yaml) -> String {
    let mut out = String::new();
    write(value, 0, &mut out);
    out
}

/// Several documents in one stream, each opened by `---`.
pub fn documents(values: &[Yaml]) -> String {
    values
        .iter()
        .map(|v| format!("---\n{}", to_yaml(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_quoting() {
        let doc = Yaml::map([
            ("apiVersion", Yaml::Lit("v1")),
            (
                "metadata",
                Yaml::map([
                    ("name", Yaml::str("a: b # c")),
                    (
                        "labels",
                        Yaml::map([("azure.workload.identity/use", Yaml::Lit("true"))]),
                    ),
                ]),
            ),
            (
                "items",
                Yaml::Seq(vec![
                    Yaml::map([("k", Yaml::str("v")), ("x", Yaml::Seq(vec![]))]),
                    Yaml::str("é\n\"'"),
                ]),
            ),
            ("empty", Yaml::Map(vec![])),
        ]);
        assert_eq!(
            to_yaml(&doc),
            "apiVersion: v1\nmetadata:\n  name: \"a: b # c\"\n  labels:\n    azure.workload.identity/use: \"true\"\nitems:\n  - k: \"v\"\n    x: []\n  - \"\\u00E9\\u000A\\\"'\"\nempty: {}\n"
        );
    }

    #[test]
    fn astral_characters_use_the_long_escape() {
        assert_eq!(quoted("🦀"), "\"\\U0001F980\"");
    }
}
