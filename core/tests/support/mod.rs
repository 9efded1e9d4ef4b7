//! Shared checks for rendered commands: a real bash must see exactly the
//! argv we meant, and shellcheck must accept the script an operator saves.
#![allow(dead_code)] // each test crate uses a subset

pub mod k8s;
#[cfg(not(target_arch = "wasm32"))]
pub mod moto;

use alphaswarm_core::shell::{Command, Commands};
use std::io::Write;
use std::process::{Command as Process, Stdio};

pub const SHELLCHECK: &str = "/usr/bin/shellcheck";

/// Every command in the order bash runs it: a command's captures first.
fn in_run_order(commands: &[Command]) -> Vec<&Command> {
    commands
        .iter()
        .flat_map(|c| {
            let mut order = in_run_order_of_captures(c);
            order.push(c);
            order
        })
        .collect()
}

fn in_run_order_of_captures(command: &Command) -> Vec<&Command> {
    command
        .captures()
        .into_iter()
        .flat_map(|inner| {
            let mut order = in_run_order_of_captures(inner);
            order.push(inner);
            order
        })
        .collect()
}

/// A bash function per program that writes its argv (count first, then the
/// words, each NUL-terminated) to fd 3 instead of running anything, and
/// prints `$(<argv joined by spaces>)` as its output — the stand-in
/// `Command::argv` uses for a captured command's output.
fn fake_programs(commands: &[Command]) -> String {
    let mut programs: Vec<String> = in_run_order(commands)
        .iter()
        .map(|c| c.argv()[0].clone())
        .collect();
    programs.sort();
    programs.dedup();
    programs
        .iter()
        .map(|p| {
            format!(
                "{p}() {{ printf '%s\\0' \"$(($# + 1))\" {p} \"$@\" >&3; printf '$(%s)' \"{p} $*\"; }}\n"
            )
        })
        .collect()
}

/// Runs the rendered bash script with fake programs and returns the argv of
/// every command in the order bash ran them (captured commands first), as
/// bash parsed them.
pub fn argv_through_bash(commands: &[Command]) -> Vec<Vec<String>> {
    let script = Commands::render(commands).expect("renders").bash_script();
    // fd 3 carries the argv records; the programs' own output is dropped
    // unless a command substitution captures it.
    let full = format!("{}{}", fake_programs(commands), script);
    let out = Process::new("bash")
        .arg("-c")
        .arg(format!("{{\n{full}\n}} 3>&1 1>/dev/null"))
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "bash failed: {}\n{full}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut words = out.stdout.split(|b| *b == 0);
    let mut parsed = Vec::new();
    while let Some(count) = words.next().filter(|w| !w.is_empty()) {
        let n: usize = std::str::from_utf8(count).unwrap().parse().unwrap();
        parsed.push(
            (0..n)
                .map(|_| String::from_utf8(words.next().unwrap().to_vec()).unwrap())
                .collect(),
        );
    }
    parsed
}

/// Asserts that every command (and every command whose output one
/// captures) reaches bash with exactly its `argv()`, a variable holding what
/// the command that set it printed.
pub fn assert_bash_round_trip(commands: &[Command]) {
    let mut variables: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
    let expected: Vec<Vec<String>> = in_run_order(commands)
        .into_iter()
        .map(|c| {
            let argv = c.argv_resolved(|name| variables[name].clone());
            if let Some(name) = c.captured() {
                variables.insert(name, format!("$({})", argv.join(" ")));
            }
            argv
        })
        .collect();
    assert_eq!(argv_through_bash(commands), expected);
}

/// Runs shellcheck on the script; fails the test when shellcheck is missing.
/// SC2016 ("expressions don't expand in single quotes") and SC2088 ("tilde
/// does not expand in quotes") are left out: a literal `$` or leading `~`
/// inside single quotes is exactly what quoting is for.
pub fn assert_shellcheck_clean(script: &str) {
    assert!(
        std::path::Path::new(SHELLCHECK).exists(),
        "shellcheck is required at {SHELLCHECK} (scripts/lib.sh ensure_shellcheck installs it)"
    );
    let mut child = Process::new(SHELLCHECK)
        .args([
            "--shell=bash",
            "--severity=style",
            "--exclude=SC2016,SC2088",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shellcheck starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "shellcheck found problems:\n{}\n{script}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Hostile values tried in every request field.
pub fn hostile_corpus() -> Vec<String> {
    let mut corpus: Vec<String> = [
        "",
        " ",
        "\t",
        "a; rm -rf /",
        "$(id)",
        "`id`",
        "${IFS}",
        "a'b",
        "a\"b",
        "a\\b",
        "a\nb",
        "a\r\nb",
        "\n",
        "a\0b",
        "\0",
        "org-acme\n",
        " org-acme",
        "org--acme",
        "-rf",
        "--help",
        "a|b&c>d<e",
        "*",
        "~root",
        "~/.ssh/id_rsa",
        "../../etc/passwd",
        "%00",
        "%27",
        "{{x}}",
        "${x}",
        "%{x}",
        "org\u{2010}acme",
        "ｏｒｇ",
        "\u{202e}emca-gro",
        "\u{2019}",
        "org-acmé",
        "🦀",
        "\u{feff}org",
        "https://evil.example/$(id)",
        "https://a b/",
        "https://user@evil.example/",
        "javascript:alert(1)",
        "00000000-0000-0000-0000-00000000000g",
        "00000000-0000-0000-0000-000000000000\n",
        "0123456789abcdef0123456789abcdef0123",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    corpus.push("a".repeat(10_000));
    corpus.push("'".repeat(10_000));
    corpus.push("é".repeat(5_000));
    corpus.push(format!("https://{}/", "a".repeat(10_000)));
    corpus
}

/// Parses a Terraform snippet with a real HCL parser and returns the
/// `(block type, labels)` of every top-level block.
pub fn terraform_blocks(terraform: &str) -> Vec<(String, Vec<String>)> {
    let body = hcl::parse(terraform).unwrap_or_else(|e| panic!("invalid HCL: {e}\n{terraform}"));
    body.blocks()
        .map(|b| {
            (
                b.identifier().to_owned(),
                b.labels().iter().map(|l| l.as_str().to_owned()).collect(),
            )
        })
        .collect()
}

/// The string value of `attribute` in the first block labelled `label`
/// (e.g. a resource type), as the HCL parser reads it.
pub fn terraform_string(terraform: &str, label: &str, attribute: &str) -> Option<String> {
    let body = hcl::parse(terraform).ok()?;
    let block = body
        .blocks()
        .find(|b| b.labels().first().is_some_and(|l| l.as_str() == label))?;
    let attr = block.body().attributes().find(|a| a.key() == attribute)?;
    match attr.expr() {
        hcl::Expression::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The template sequences (`${…}` interpolations and `%{…}` directives) of a
/// Terraform snippet that HCL would evaluate, read left to right as HCL's
/// lexer does: `$${` and `%%{` are escapes for a literal `${` / `%{`.
/// Everything a value may inject into HCL goes through one of these two, so
/// a snippet whose sequences are all expected cannot run injected input.
pub fn hcl_template_sequences(terraform: &str) -> Vec<String> {
    let bytes = terraform.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        if rest.starts_with(b"$${") || rest.starts_with(b"%%{") {
            i += 3;
        } else if rest.starts_with(b"${") || rest.starts_with(b"%{") {
            let end = terraform[i..]
                .find('}')
                .map_or(terraform.len(), |e| i + e + 1);
            found.push(terraform[i..end].to_owned());
            i = end;
        } else {
            i += 1;
        }
    }
    found
}

/// Asserts that the only template sequences in `terraform` are `allowed`
/// (e.g. `${path.module}`), so no value reached HCL unescaped.
pub fn assert_only_templates(terraform: &str, allowed: &[&str]) {
    let unexpected: Vec<String> = hcl_template_sequences(terraform)
        .into_iter()
        .filter(|s| !allowed.contains(&s.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "Terraform evaluates {unexpected:?}:\n{terraform}"
    );
}

#[test]
fn hcl_template_scanner_reads_escapes_as_hcl_does() {
    assert_eq!(hcl_template_sequences("a$${b}c%%{d}"), Vec::<String>::new());
    assert_eq!(hcl_template_sequences("x ${var.y} z"), ["${var.y}"]);
    assert_eq!(hcl_template_sequences("%{ if true }"), ["%{ if true }"]);
    // `$$${x}`: a literal `$`, then the escape `$${`, so nothing is evaluated.
    assert_eq!(hcl_template_sequences("$$${x}"), Vec::<String>::new());
    assert_eq!(hcl_template_sequences("$%{x}"), ["%{x}"]);
    assert_eq!(hcl_template_sequences("unterminated ${"), ["${"]);
}
