#!/usr/bin/env bash
# proxy/: fmt, clippy (with the fakes it is tested against), unit + HTTP +
# binary (crash, canary) tests. Most AWS tests drive the proxy's real client
# against the loopback AWS fake (fakes/aws); the Azure tests run against the
# loopback Entra + ARM fake (fakes/azure), the GCP tests against the loopback
# Google Cloud fake (fakes/gcp: STS, IAM Credentials, Resource Manager,
# Compute); the AWS client tests, the whole wizard against moto (wizard_moto)
# and the canary test also run a real moto server from the venv (ensure_venv
# installs it, pinned). The fakes' own tests (the AWS fake's SigV4 vectors and
# awscli run included) run once, in the resolver area, with every other fake's.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
ensure_cargo_path
ensure_venv
# moto + OpenBao for credentials_peers (the proxy's own secrets in real stores).
ensure_openbao

step "cargo fmt --check"
cargo fmt --all -- --check
step "clippy (proxy and fakes, all targets)"
cargo clippy -p alphaswarm-proxy -p alphaswarm-fakes --all-targets -- -D warnings
step "proxy tests"
cargo test -p alphaswarm-proxy
