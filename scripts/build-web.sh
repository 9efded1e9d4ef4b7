#!/usr/bin/env bash
# Builds the web UI into web/dist: wasm (size profile) -> wasm-bindgen ->
# wasm-opt -Oz (npm binaryen), plus index.html and the stylesheet.
# Idempotent: a second run gives the same web/dist (cargo rebuilds only on change).
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
ensure_web_nightly
ensure_wasm_bindgen
ensure_wasm_opt

DIST="$ROOT/web/dist"
PROFILE="wasm-web"   # [profile.wasm-web] in the root Cargo.toml
WASM="$ROOT/target/web-nightly/wasm32-unknown-unknown/$PROFILE/alphaswarm_web.wasm"

# Leptos' erase_components turns each component into an AnyView: ~10% less
# wasm here (268 -> 241 KB gzip) and a faster build. std rebuilt for size
# with panics that abort at once (no panic messages or unwinding code in
# the shipped wasm): 232.6 -> 216.3 KB gzip. Target-scoped, so the native
# builds keep their cache; its own target dir, so the stable wasm32 builds
# of clippy and the component tests keep theirs.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--cfg erase_components -Zunstable-options -Cpanic=immediate-abort"
step "cargo +$WEB_NIGHTLY build alphaswarm-web (wasm32, $PROFILE, std rebuilt for size)"
CARGO_TARGET_DIR="$ROOT/target/web-nightly" cargo "+$WEB_NIGHTLY" build -p alphaswarm-web \
  --target wasm32-unknown-unknown --profile "$PROFILE" \
  -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size

step "wasm-bindgen --target web"
rm -rf "$DIST"
mkdir -p "$DIST"
wasm-bindgen --target web --no-typescript --remove-name-section --out-dir "$DIST" "$WASM"

step "wasm-opt -Oz --converge"
# --converge repeats the passes until the size stops falling: about 1.4 KB
# gzip less here, for about half a minute of CPU, which keeps the UI within
# its budget with the workload identity page.
"$WASM_OPT" -Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$DIST/alphaswarm_web_bg.wasm" -o "$DIST/alphaswarm_web_bg.wasm"

cp "$ROOT/index.html" "$DIST/index.html"
cp "$ROOT/web/boot.js" "$DIST/boot.js"
cp "$ROOT/web/style.css" "$DIST/style.css"

step "sizes (raw / gzip -9)"
total_raw=0 total_gz=0
for f in "$DIST"/alphaswarm_web_bg.wasm "$DIST"/alphaswarm_web.js "$DIST"/boot.js "$DIST"/index.html "$DIST"/style.css; do
  raw=$(wc -c < "$f")
  gz=$(gzip -9c "$f" | wc -c)
  total_raw=$((total_raw + raw)) total_gz=$((total_gz + gz))
  printf '  %-26s %8d B  %8d B gzip\n' "$(basename "$f")" "$raw" "$gz"
done
printf '  %-26s %8d B  %8d B gzip\n' "total" "$total_raw" "$total_gz"
