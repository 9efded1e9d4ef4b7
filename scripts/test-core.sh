#!/usr/bin/env bash
# core/: fmt, clippy (native and wasm32), wasm32 build, unit/snapshot/property tests.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
ensure_cargo_path
ensure_wasm_target
ensure_shellcheck
ensure_venv

# Every shell script of the repository, found rather than listed, so a new
# one is checked too: .ci/ and every *.sh outside build output and installs.
step "shellcheck every script"
mapfile -t scripts < <(
  { ls .ci/*
    find . -name '*.sh' -not -path './target/*' -not -path '*/node_modules/*' \
      -not -path './.venv/*' -not -path './.tools/*' -not -path './tests/pkg/.consumer/*'
  } | sed 's|^\./||' | sort -u
)
[ "${#scripts[@]}" -ge 12 ] || { echo "only ${#scripts[@]} scripts found: ${scripts[*]}" >&2; exit 1; }
shellcheck -x "${scripts[@]}"
echo "${#scripts[@]} scripts clean"

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
