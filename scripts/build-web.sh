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
ensure_web_minifiers
ensure_zopfli

DIST="$ROOT/web/dist"
PROFILE="wasm-web"   # [profile.wasm-web] in the root Cargo.toml
WASM="$ROOT/target/web-nightly/wasm32-unknown-unknown/$PROFILE/alphaswarm_web.wasm"

# Leptos' erase_components turns each component into an AnyView: ~10% less
# wasm here (268 -> 241 KB gzip) and a faster build. std rebuilt for size
# with panics that abort at once (no panic messages or unwinding code in
# the shipped wasm): 232.6 -> 216.3 KB gzip. Debug formatting and panic
# locations compiled out (-Zfmt-debug=none: `{:?}` prints nothing, so no
# message may rely on it; -Zlocation-detail=none): 272.8 -> 269.4 KB wasm
# gzip. Target-scoped, so the native
# builds keep their cache; its own target dir, so the stable wasm32 builds
# of clippy and the component tests keep theirs.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--cfg erase_components -Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none"
step "cargo +$WEB_NIGHTLY build alphaswarm-web (wasm32, $PROFILE, std rebuilt for size)"
CARGO_TARGET_DIR="$ROOT/target/web-nightly" cargo "+$WEB_NIGHTLY" build -p alphaswarm-web \
  --target wasm32-unknown-unknown --profile "$PROFILE" \
  -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size

step "wasm-bindgen --target web"
rm -rf "$DIST"
mkdir -p "$DIST"
# The function names stay until wasm-drop-exports.py has read them (it
# removes them).
wasm-bindgen --target web --no-typescript --out-dir "$DIST" "$WASM"

step "drop the exports nothing calls (wasm-streams' JS classes)"
# leptos turns on server_fn's browser feature, which brings wasm-streams,
# whose #[wasm_bindgen] classes (IntoUnderlyingSink, ...) are exported for
# JavaScript to use, so kept with all they reach. A client-side app without
# server functions never uses them: dropped here (wasm-opt then removes
# their code) and from the glue (scripts/minify-web.mjs): 1.7 KB gzip.
# Their futures' methods stay in the function table, where wasm-opt keeps
# everything (a call_indirect might reach it); only those exports could
# create such futures, so their entries now trap instead: 3.6 KB gzip more.
python3 "$ROOT/scripts/wasm-drop-exports.py" "$DIST/alphaswarm_web_bg.wasm" intounderlying __wbg_intounderlying \
  --stub-table wasm_streams

step "wasm-opt --merge-similar-functions -Oz --converge"
# --converge repeats the passes until the size stops falling: about 1.4 KB
# gzip less here, for about half a minute of CPU, which keeps the UI within
# its budget with the workload identity page. Rust never uses the first KB
# of memory, the memory starts zeroed (the module makes it), and a load or
# division that traps is a bug anyway (safe Rust checks first): 2.8 KB gzip.
# --merge-similar-functions first (not part of -Oz) folds the generic
# copies that differ only in constants into one function with parameters:
# 3.0 KB gzip. (-Zvirtual-function-elimination breaks LLVM on core; --gufa
# came out larger; -Zinline-mir=no changed nothing. With --enable-gc the
# merge could also fold copies that call different functions, 13 KB gzip
# less, but the wasm would then need typed function references: Safari
# 18.2 or later, so not taken.)
"$WASM_OPT" --merge-similar-functions -Oz --converge --low-memory-unused --zero-filled-memory --ignore-implicit-traps \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$DIST/alphaswarm_web_bg.wasm" -o "$DIST/alphaswarm_web_bg.wasm"

cp "$ROOT/index.html" "$DIST/index.html"
cp "$ROOT/web/boot.js" "$DIST/boot.js"
cp "$ROOT/web/style.css" "$DIST/style.css"

step "minify the JavaScript and the stylesheet (terser, csso)"
# The wasm-bindgen glue is ~41 KB of readable JS: 7.1 -> 5.5 KB gzip.
node "$ROOT/scripts/minify-web.mjs" "$DIST" "$MINIFY_DIR"

step "precompress (zopfli: gzip format, served by the proxy to browsers that accept gzip)"
# The proxy (proxy/src/routes.rs, web_ui) sends FILE.gz with
# Content-Encoding: gzip, so the transfer is FILE.gz. Zopfli writes the
# same gzip format as gzip -9, ~4.5% smaller (the wasm: 266.4 -> 254.2 KB),
# for a few seconds of CPU; no name and no time in it, so the same build
# gives the same bytes.
find "$DIST" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' \) \
  -exec zopfli {} \;
# A file too small to gain (boot.js) travels as it is.
for gz in "$DIST"/*.gz; do
  [ "$(wc -c < "$gz")" -lt "$(wc -c < "${gz%.gz}")" ] || rm "$gz"
done

step "sizes (raw / gzip -9 / sent: the .gz)"
total_raw=0 total_gz=0 total_sent=0
while IFS= read -r f; do
  raw=$(wc -c < "$f")
  gz=$(gzip -9 -n -c "$f" | wc -c)
  if [ -f "$f.gz" ]; then sent=$(wc -c < "$f.gz"); else sent=$raw; fi
  total_raw=$((total_raw + raw)) total_gz=$((total_gz + gz)) total_sent=$((total_sent + sent))
  printf '  %-26s %8d B  %8d B gzip -9  %8d B sent\n' "${f#"$DIST"/}" "$raw" "$gz" "$sent"
done < <(find "$DIST" -type f ! -name '*.gz' | sort)
printf '  %-26s %8d B  %8d B gzip -9  %8d B sent\n' "total" "$total_raw" "$total_gz" "$total_sent"
