#!/usr/bin/env bash
# Builds the npm package alphaswarm-core into pkg/dist and packs it into
# target/npm/alphaswarm-core.tgz (the tarball the tests install).
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
ensure_wasm_target
ensure_wasm_bindgen
ensure_wasm_opt

DIST="$ROOT/pkg/dist"
PACKED="$ROOT/target/npm"
WASM="$ROOT/target/wasm32-unknown-unknown/wasm-release/alphaswarm_core_wasm.wasm"

step "cargo build --profile wasm-release (wasm32)"
cargo build --profile wasm-release --target wasm32-unknown-unknown -p alphaswarm-core-wasm

step "wasm-bindgen --target bundler"
rm -rf "$DIST"
mkdir -p "$DIST"
# Bundler-style glue (alphaswarm_core_bg.js takes the instance via
# __wbg_set_wasm); our own entries instantiate it for Node and for browsers.
wasm-bindgen --target bundler --out-name alphaswarm_core --out-dir "$DIST" \
  --remove-name-section --remove-producers-section "$WASM"

step "wasm-opt -Oz (npm binaryen)"
"$WASM_OPT" -Oz "$DIST/alphaswarm_core_bg.wasm" -o "$DIST/alphaswarm_core_bg.wasm"

step "package files"
# The generated bundler entry imports the .wasm as an ES module, which Node
# and Vite do not do without flags or plugins; its export list is reused.
exports="$(sed -n '/^export {/,/} from/p' "$DIST/alphaswarm_core.js")"
[ -n "$exports" ] || { echo "no export list in wasm-bindgen output" >&2; exit 1; }
for entry in index.node.js index.browser.js; do
  EXPORTS="$exports" awk '$0 == "/* EXPORTS */" { print ENVIRON["EXPORTS"]; next } { print }' \
    "$ROOT/pkg/npm/$entry" > "$DIST/$entry"
done
rm "$DIST/alphaswarm_core.js" "$DIST/alphaswarm_core_bg.wasm.d.ts"
cp "$ROOT/pkg/npm/README.md" "$ROOT/pkg/npm/LICENSE" "$DIST/"
version="$(cargo pkgid -p alphaswarm-core-wasm | sed 's/.*@//')"
sed "s/0.0.0-set-by-build/$version/" "$ROOT/pkg/npm/package.json" > "$DIST/package.json"

step "npm pack"
rm -rf "$PACKED"
mkdir -p "$PACKED"
(cd "$DIST" && npm pack --silent --pack-destination "$PACKED" >/dev/null)
mv "$PACKED"/alphaswarm-core-*.tgz "$PACKED/alphaswarm-core.tgz"
tar -tzf "$PACKED/alphaswarm-core.tgz" | sed 's/^/  /'
