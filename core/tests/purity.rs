#![cfg(not(target_arch = "wasm32"))]
//! The core's purity is enforced mechanically, and these tests prove the
//! enforcement bites: core/clippy.toml, applied to a throwaway crate that
//! does each forbidden thing once, must refuse every one of them; and the
//! core's dependency tree holds no crate that brings I/O, a clock,
//! randomness or an async runtime.
// Tests and benches run real tools and files; the purity rules of
// core/clippy.toml are for core/src.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

use std::path::PathBuf;
use std::process::Command;

fn core_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Each forbidden thing, and the name clippy reports it under.
const VIOLATIONS: [(&str, &str); 10] = [
    (
        "pub fn io() -> std::io::Result<String> { std::fs::read_to_string(\"/etc/hostname\") }",
        "std::fs::read_to_string",
    ),
    (
        "pub fn write() -> std::io::Result<()> { std::fs::write(\"/tmp/x\", b\"x\") }",
        "std::fs::write",
    ),
    (
        "pub fn file() -> Option<std::fs::File> { None }",
        "std::fs::File",
    ),
    (
        "pub fn clock() -> u64 { std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) }",
        "std::time::SystemTime::now",
    ),
    (
        "pub fn monotonic() -> Option<std::time::Instant> { None }",
        "std::time::Instant",
    ),
    (
        "pub fn env() -> Option<String> { std::env::var(\"HOME\").ok() }",
        "std::env::var",
    ),
    (
        "pub fn net() -> Option<std::net::TcpStream> { None }",
        "std::net::TcpStream",
    ),
    (
        "pub fn random_order() -> std::collections::HashMap<u8, u8> { Default::default() }",
        "std::collections::HashMap",
    ),
    (
        "pub fn spawn() { let _ = std::process::Command::new(\"true\"); }",
        "std::process::Command",
    ),
    ("pub fn print() { println!(\"x\"); }", "std::println"),
];

#[test]
fn the_core_clippy_configuration_refuses_io_clock_environment_and_randomness() {
    let dir = std::env::temp_dir().join(format!("alphaswarm-purity-canary-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    // A standalone crate (its own [workspace]) with no dependencies: quick to lint.
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"purity-canary\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n",
    )
    .unwrap();
    let source: String = VIOLATIONS
        .iter()
        .map(|(code, _)| format!("{code}\n"))
        .collect();
    std::fs::write(dir.join("src/lib.rs"), source).unwrap();
    std::fs::copy(core_dir().join("clippy.toml"), dir.join("clippy.toml")).unwrap();

    let out = Command::new(cargo())
        .args(["clippy", "--offline", "--quiet", "--", "-D", "warnings"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("CLIPPY_CONF_DIR")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo clippy runs");
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        !out.status.success(),
        "clippy accepted the canary:\n{report}"
    );
    assert!(
        !report.contains("error reading Clippy's configuration"),
        "core/clippy.toml does not parse:\n{report}"
    );
    for (_, path) in VIOLATIONS {
        assert!(
            report.contains(&format!("`{path}`")),
            "{path} was not refused:\n{report}"
        );
    }
}

/// The normal dependencies of the core, with `features` enabled.
fn dependency_tree(features: &[&str]) -> Vec<String> {
    let mut args = vec![
        "tree",
        "--offline",
        "-p",
        "alphaswarm-core",
        "--edges",
        "normal",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ];
    args.extend_from_slice(features);
    let out = Command::new(cargo())
        .args(&args)
        .current_dir(core_dir())
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn the_core_depends_on_no_io_clock_randomness_or_runtime_crate() {
    // Randomness, clocks, I/O and async runtimes come from crates, not std
    // alone: none may be in the core's tree, with or without the tsify
    // feature (which adds only the wasm-bindgen glue the npm package needs).
    // `time` is allowed for RFC 3339 parsing and formatting only: its clock
    // entry points are disallowed methods in core/clippy.toml.
    let never = [
        "rand",
        "rand_core",
        "getrandom",
        "tokio",
        "reqwest",
        "hyper",
        "mio",
        "chrono",
        "uuid",
        "fastrand",
    ];
    for features in [&[][..], &["--features", "tsify"][..]] {
        let crates = dependency_tree(features);
        assert!(
            crates.iter().any(|c| c == "sha2"),
            "the tree was read: {crates:?}"
        );
        for forbidden in never {
            assert!(
                !crates.iter().any(|c| c == forbidden),
                "the core ({features:?}) depends on {forbidden}: {crates:?}"
            );
        }
    }
    // Without the binding feature, not even the browser glue.
    let plain = dependency_tree(&[]);
    for glue in ["js-sys", "web-sys", "wasm-bindgen"] {
        assert!(!plain.iter().any(|c| c == glue), "{glue}: {plain:?}");
    }
}
