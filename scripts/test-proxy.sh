#!/usr/bin/env bash
# proxy/: fmt, clippy (with the fakes it is tested against), unit + HTTP +
# binary (crash, canary, replicas) tests. Most AWS tests drive the proxy's
# real client against the loopback AWS fake (fakes/aws); the Azure tests run
# against the loopback Entra + ARM fake (fakes/azure), the GCP tests against
# the loopback Google Cloud fake (fakes/gcp: STS, IAM Credentials, Resource
# Manager, Compute); the AWS client tests, the whole wizard against moto
# (wizard_moto) and the canary test also run a real moto server from the venv
# (ensure_venv installs it, pinned). The fakes' own tests (the AWS fake's
# SigV4 vectors and awscli run included) run once, in the resolver area, with
# every other fake's. The database tests run every case on SQLite and on a
# real PostgreSQL from Debian's packages, started once here
# (proxy/tests/support/postgres.py: loopback, ephemeral port, temp dir) and
# stopped when this script exits.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
ensure_cargo_path
ensure_venv
ensure_postgresql
# moto + OpenBao for credentials_peers (the proxy's own secrets in real stores).
ensure_openbao

step "cargo fmt --check"
cargo fmt --all -- --check
step "clippy (proxy and fakes, all targets)"
cargo clippy -p alphaswarm-proxy -p alphaswarm-fakes --all-targets -- -D warnings
step "build the proxy tests"
cargo test -p alphaswarm-proxy --no-run

step "start PostgreSQL"
coproc POSTGRES { exec python3 "$ROOT/proxy/tests/support/postgres.py"; }
# shellcheck disable=SC2034 # closed by the EXIT trap, which stops the server
postgres_in=${POSTGRES[1]}
trap 'exec {postgres_in}>&-; wait' EXIT
IFS= read -r postgres_url <&"${POSTGRES[0]}" || { echo "PostgreSQL did not start" >&2; exit 1; }
export ALPHASWARM_TEST_POSTGRES_URL="$postgres_url"

step "proxy tests"
cargo test -p alphaswarm-proxy
