#!/usr/bin/env bash
# proxy/: fmt, clippy, unit + HTTP + binary (crash, canary) tests.
# The moto-backed AWS client tests live beside these and need the venv.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_cargo_path
ensure_venv

step "cargo fmt --check"
cargo fmt --all -- --check
step "clippy (proxy, all targets)"
cargo clippy -p alphaswarm-proxy --all-targets -- -D warnings
step "proxy tests"
cargo test -p alphaswarm-proxy
