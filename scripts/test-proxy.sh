#!/usr/bin/env bash
# proxy/ and fakes/: fmt, clippy, unit + HTTP + binary (crash, canary) tests,
# and the loopback fakes' own wire-shape tests; the Azure tests run against
# the loopback Entra + ARM fake in fakes/, the GCP tests against the loopback
# Google Cloud fake (STS, IAM Credentials, Resource Manager, Compute) there.
# The AWS client tests, the whole wizard (wizard_moto) and the canary test run
# against a real moto server from the venv (ensure_venv installs it, pinned).
source "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
ensure_cargo_path
ensure_venv

step "cargo fmt --check"
cargo fmt --all -- --check
step "clippy (proxy and fakes, all targets)"
cargo clippy -p alphaswarm-proxy -p alphaswarm-fakes --all-targets -- -D warnings
step "proxy and fakes tests"
cargo test -p alphaswarm-proxy -p alphaswarm-fakes
