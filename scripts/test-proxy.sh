#!/usr/bin/env bash
# proxy/ and the loopback fakes it is tested against (fakes/): fmt, clippy,
# unit + HTTP + binary (crash, canary) tests. Most AWS tests drive the
# proxy's real client against the AWS fake; the AWS client tests, the whole
# wizard against moto (wizard_moto) and the canary test also run a real moto
# server from the venv (ensure_venv installs it, pinned), and the fake's own
# tests run the venv's awscli against it.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
ensure_cargo_path
ensure_venv

step "cargo fmt --check"
cargo fmt --all -- --check
step "clippy (proxy and fakes, all targets)"
cargo clippy -p alphaswarm-proxy -p alphaswarm-fakes --all-targets -- -D warnings
step "fakes tests (SigV4 vectors, the awscli against the AWS fake)"
cargo test -p alphaswarm-fakes
step "proxy tests"
cargo test -p alphaswarm-proxy
