#!/usr/bin/env bash
# proxy/ and fakes/: fmt, clippy, unit + HTTP + binary (crash, canary,
# replicas) tests, and the loopback fakes' own wire-shape tests; the Azure
# tests run against the loopback Entra + ARM fake in fakes/.
# The AWS client tests, the whole wizard (wizard_moto) and the canary test run
# against a real moto server from the venv (ensure_venv installs it, pinned).
# The database tests run every case on SQLite and on a real PostgreSQL from
# Debian's packages, started once here (proxy/tests/support/postgres.py:
# loopback, ephemeral port, temp dir) and stopped when this script exits.
source "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
ensure_cargo_path
ensure_venv
ensure_postgresql

step "cargo fmt --check"
cargo fmt --all -- --check
step "clippy (proxy and fakes, all targets)"
cargo clippy -p alphaswarm-proxy -p alphaswarm-fakes --all-targets -- -D warnings
step "build the proxy and fakes tests"
cargo test -p alphaswarm-proxy -p alphaswarm-fakes --no-run

step "start PostgreSQL"
coproc POSTGRES { exec python3 "$ROOT/proxy/tests/support/postgres.py"; }
# shellcheck disable=SC2034 # closed by the EXIT trap, which stops the server
postgres_in=${POSTGRES[1]}
trap 'exec {postgres_in}>&-; wait' EXIT
IFS= read -r postgres_url <&"${POSTGRES[0]}" || { echo "PostgreSQL did not start" >&2; exit 1; }
export ALPHASWARM_TEST_POSTGRES_URL="$postgres_url"

step "proxy and fakes tests"
cargo test -p alphaswarm-proxy -p alphaswarm-fakes
