#!/usr/bin/env bash
# Creates tests/pkg/.consumer: a fresh project that installs alphaswarm-core
# from the packed tarball (target/npm/alphaswarm-core.tgz) and compiles the
# TypeScript consumer with tsc --strict. Tools (typescript, vite,
# playwright-core) resolve from tests/pkg/node_modules, one folder up.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
HERE="$ROOT/tests/pkg"
CONSUMER="$HERE/.consumer"
TARBALL="$ROOT/target/npm/alphaswarm-core.tgz"
[ -f "$TARBALL" ] || { echo "no $TARBALL: run scripts/build-pkg.sh first" >&2; exit 1; }
# Not lib.sh's ensure_npm (npm ci): the registry mirror here answers 404 for
# other platforms' optional packages (rollup, esbuild), so the lock holds only
# this platform's and npm ci refuses it; npm install honours the same lock.
if [ ! -d "$HERE/node_modules" ] || [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
  step "npm install in tests/pkg (pinned by package-lock.json)"
  (cd "$HERE" && npm install --no-audit --no-fund --loglevel=error)
fi

step "consumer project installs the tarball"
rm -rf "$CONSUMER"
mkdir -p "$CONSUMER"
cp -r "$HERE/src" "$HERE/tsconfig.json" "$HERE/web/index.html" "$CONSUMER/"
cat > "$CONSUMER/package.json" <<JSON
{
  "name": "alphaswarm-core-consumer",
  "private": true,
  "type": "module",
  "dependencies": { "alphaswarm-core": "file:$TARBALL" }
}
JSON
(cd "$CONSUMER" && npm install --no-audit --no-fund --no-package-lock --loglevel=error)
[ ! -L "$CONSUMER/node_modules/alphaswarm-core" ] || { echo "alphaswarm-core was linked, not installed" >&2; exit 1; }

step "tsc --strict over the consumer"
(cd "$CONSUMER" && "$HERE/node_modules/.bin/tsc" -p tsconfig.json)
