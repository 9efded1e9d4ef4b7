#!/usr/bin/env bash
# pkg/: fmt, clippy (wasm32), binding unit tests, the npm package built and
# packed, then the TypeScript consumer installed from the tarball: Node tests,
# the same cases in headless Chromium (Vite + playwright-core), no `any`.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
ensure_cargo_path
ensure_wasm_target
ensure_browser

step "cargo fmt --check (pkg)"
cargo fmt -p alphaswarm-core-wasm -- --check
step "clippy (wasm32)"
cargo clippy -p alphaswarm-core-wasm --target wasm32-unknown-unknown -- -D warnings
step "binding unit tests (native)"
cargo test -p alphaswarm-core-wasm

bash "$ROOT/scripts/build-pkg.sh"
bash "$ROOT/tests/pkg/make-consumer.sh"

step "native fixtures: the bundles the native core renders (compared with wasm32 in Node)"
ALPHASWARM_NATIVE_FIXTURES="$ROOT/tests/pkg/.consumer/native-fixtures.json"
export ALPHASWARM_NATIVE_FIXTURES
cargo run --quiet -p alphaswarm-core --example bundle_fixtures > "$ALPHASWARM_NATIVE_FIXTURES"

step "node --test: Node cases, exports coverage, no any, native parity, Chromium cases"
cd "$ROOT/tests/pkg/.consumer" || exit 1
node --test --test-reporter=spec build/*.test.js
