#!/usr/bin/env bash
# resolver/ and the fakes it uses: fmt, clippy, unit + chain + store + CLI tests.
# moto (auth mode) and an OpenBao dev server start once for the whole area
# (resolver/tests/support/peers.py) and stop when this script exits: the
# launcher stops both when its standard input, held here, closes.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
ensure_cargo_path
ensure_openbao

step "cargo fmt --check"
cargo fmt --all -- --check
step "clippy (resolver, fakes; all targets)"
cargo clippy -p alphaswarm-resolver -p alphaswarm-fakes --all-targets -- -D warnings
step "build the resolver tests"
cargo test -p alphaswarm-resolver -p alphaswarm-fakes --no-run

step "start moto and OpenBao"
coproc PEERS { exec "$ROOT/.venv/bin/python" "$ROOT/resolver/tests/support/peers.py"; }
# shellcheck disable=SC2034 # closed by the EXIT trap, which stops the peers
peers_in=${PEERS[1]}
trap 'exec {peers_in}>&-; wait' EXIT
IFS= read -r peers_line <&"${PEERS[0]}" || { echo "moto/OpenBao did not start" >&2; exit 1; }
export ALPHASWARM_TEST_PEERS="$peers_line"

step "resolver tests"
cargo test -p alphaswarm-resolver -p alphaswarm-fakes
