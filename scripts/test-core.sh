#!/usr/bin/env bash
# core/: fmt, clippy (native and wasm32), wasm32 build, unit/snapshot/property tests.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_cargo_path
ensure_wasm_target
ensure_shellcheck
ensure_venv

step "cargo fmt --check"
cargo fmt --all -- --check
step "clippy (native, all targets)"
cargo clippy -p alphaswarm-core --all-targets -- -D warnings
step "clippy (wasm32)"
cargo clippy -p alphaswarm-core --all-targets --target wasm32-unknown-unknown -- -D warnings
step "build core for wasm32"
cargo build -p alphaswarm-core --target wasm32-unknown-unknown
step "core tests"
INSTA_UPDATE=no cargo test -p alphaswarm-core
