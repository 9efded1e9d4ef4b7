#!/usr/bin/env bash
# web/: fmt, clippy (wasm32), the UI build, component tests in headless
# Chromium (wasm-bindgen-test), then the end-to-end run against the proxy
# and the loopback AWS, Azure, GCP, Cloudflare, HuggingFace and Docker Hub
# fakes (playwright-core + axe-core).
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
ensure_cargo_path
ensure_wasm_target
ensure_wasm_bindgen
ensure_browser

# Same cfg as scripts/build-web.sh, so the tests exercise what ships and
# reuse its compiled dependencies.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--cfg erase_components"

step "cargo fmt --check (web)"
cargo fmt -p alphaswarm-web -- --check
step "clippy (web, wasm32)"
cargo clippy -p alphaswarm-web --target wasm32-unknown-unknown --all-targets -- -D warnings

step "build the UI"
bash scripts/build-web.sh

step "component tests (wasm-bindgen-test in headless Chromium)"
CHROMEDRIVER=/usr/bin/chromedriver \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p alphaswarm-web --target wasm32-unknown-unknown

# ---------------------------------------------------------------------------
# End to end: the real proxy binary serving web/dist, the loopback AWS fake
# as AWS, the Entra + ARM fake as Azure, the STS + IAM Credentials + CRM +
# Compute fake as GCP, the Cloudflare API fake as Cloudflare, Chromium
# driving. The peers
# (proxy/examples/e2e_peers.rs: the AWS fake of alphaswarm-fakes with the
# partner account's platform user and a customer administrator; the Azure
# fake with an issuer front and a control listener) print the endpoints and
# keys as one JSON line. The e2e creates the customer roles by running the
# commands the wizard rendered (the venv's awscli, as the customer
# administrator), and the fake decides every later call from those roles'
# policies, as IAM would; GCP's pool, provider and bindings come from the
# workload_identity_federation.json the wizard rendered; the Cloudflare API
# fake gets the tokens the e2e creates from the dashboard link the wizard
# showed (its control listener). Everything binds
# 127.0.0.1 on free ports, lives in a temp dir and is stopped on exit.
# ---------------------------------------------------------------------------
ensure_venv
E2E_DIR="$ROOT/tests/e2e"
ensure_e2e_npm() {
  # Not lib.sh's ensure_npm (npm ci): as in tests/pkg/make-consumer.sh, the
  # registry mirror can answer 404 for optional platform packages, which npm
  # ci refuses; npm install honours the same lock and its exact pins.
  if [ ! -d "$E2E_DIR/node_modules" ] || [ "$E2E_DIR/package-lock.json" -nt "$E2E_DIR/node_modules/.package-lock.json" ]; then
    step "npm install in tests/e2e (pinned by package-lock.json)"
    (cd "$E2E_DIR" && { npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error; })
  fi
}
ensure_e2e_npm

if [ -n "${E2E_BASE_URL:-}" ]; then
  echo "E2E_BASE_URL is set: running the end-to-end tests against it (no proxy or peers started; E2E_AWS_URL and its administrator keys must be set too)."
else
  step "build the proxy and the e2e peers"
  cargo build -p alphaswarm-proxy --bin alphaswarm-proxy --example e2e_peers

  E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/alphaswarm-e2e.XXXXXX")
  chmod 700 "$E2E_TMP"
  PEERS_PID="" PROXY_PID="" SANDBOX_PID=""
  stop_e2e() {
    local status=$?
    # A failed run shows what the proxy and the peers said before their
    # temp dir goes (the e2e's own output says only what the page showed).
    if [ "$status" -ne 0 ]; then
      for log in proxy.out proxy.err peers.err sandbox.out sandbox.err; do
        [ -s "$E2E_TMP/$log" ] && { echo "--- last lines of $log"; tail -n 40 "$E2E_TMP/$log"; }
      done
    fi
    # Closing fd 3 ends the peers' stdin (they stop on that even if this
    # shell is killed); TERM then for both, by their own ids.
    exec 3>&- 2>/dev/null || true
    for pid in "$PROXY_PID" "$SANDBOX_PID" "$PEERS_PID"; do
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
      fi
    done
    rm -rf "$E2E_TMP"
  }
  trap stop_e2e EXIT
  trap 'exit 130' INT TERM

  # wait_for_line FILE PATTERN SECONDS PID: until FILE has a line matching PATTERN.
  wait_for_line() {
    local file="$1" pattern="$2" seconds="$3" pid="$4" waited=0
    until grep -q "$pattern" "$file" 2>/dev/null; do
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "$(basename "$file" .out) exited before it was ready:" >&2
        tail -n 20 "${file%.out}.err" >&2 || true
        return 1
      fi
      if [ "$waited" -ge $((seconds * 10)) ]; then
        echo "$(basename "$file" .out) not ready after ${seconds}s" >&2
        return 1
      fi
      sleep 0.1
      waited=$((waited + 1))
    done
  }

  # What a started proxy printed (FILE: its stdout) and wrote (DIR: its
  # state dir): its base URL, the one-time password, the operator's TOTP secret.
  proxy_url() { sed -n 's|^AlphaSwarm proxy listening on \(http://127\.0\.0\.1:[0-9]*\)/$|\1|p' "$1"; }
  proxy_password() { sed -n 's/^  password: //p' "$1"; }
  operator_totp() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totp_secret_base32"])' "$1/operator.json"; }

  step "start the peers (the loopback AWS, Azure, GCP, Cloudflare, HuggingFace and Docker Hub fakes)"
  mkfifo "$E2E_TMP/peers.in"
  (umask 077
    exec "$ROOT/target/debug/examples/e2e_peers" \
    <"$E2E_TMP/peers.in" >"$E2E_TMP/peers.out" 2>"$E2E_TMP/peers.err") &
  PEERS_PID=$!
  exec 3>"$E2E_TMP/peers.in"
  wait_for_line "$E2E_TMP/peers.out" '^{' 60 "$PEERS_PID"
  peer() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$E2E_TMP/peers.out" "$1"; }

  step "start the proxy (target/debug/alphaswarm-proxy, serving web/dist)"
  (
    umask 077
    export ALPHASWARM_ENV=development
    export ALPHASWARM_ADMIN_BIND=127.0.0.1:0
    export ALPHASWARM_ADMIN_WEB_DIR="$ROOT/web/dist"
    export ALPHASWARM_ADMIN_STATE_DIR="$E2E_TMP/state"
    export ALPHASWARM_ADMIN_INTEGRATIONS_PATH="$E2E_TMP/integrations.json"
    export ALPHASWARM_ADMIN_AUDIT_PATH="$E2E_TMP/audit.jsonl"
    ALPHASWARM_ADMIN_AWS_PARTNER_ACCOUNT_ID=$(peer partner_account_id)
    ALPHASWARM_ADMIN_CLOUD_AWS_EXTERNAL_ID_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    ALPHASWARM_ADMIN_AWS_ENDPOINT_URL=$(peer aws_url)
    AWS_ACCESS_KEY_ID=$(peer platform_access_key_id)
    AWS_SECRET_ACCESS_KEY=$(peer platform_secret_access_key)
    export ALPHASWARM_ADMIN_AWS_PARTNER_ACCOUNT_ID ALPHASWARM_ADMIN_CLOUD_AWS_EXTERNAL_ID_SECRET \
      ALPHASWARM_ADMIN_AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
    # A fresh role settles at once in the fake; a short window keeps the
    # wrong-external-id case (retried until the window ends) quick.
    export ALPHASWARM_ADMIN_AWS_SETTLE_SECONDS=3
    export AWS_REGION=us-east-1
    unset AWS_SESSION_TOKEN AWS_PROFILE
    # Azure: the peers' Entra + ARM fake; the issuer is the peers' front,
    # which forwards /oidc/ here (the proxy's own port is not known yet).
    ALPHASWARM_ADMIN_FEDERATION_ISSUER=$(peer federation_issuer)
    ALPHASWARM_ADMIN_AZURE_LOGIN_ENDPOINT_URL=$(peer azure_login_url)
    ALPHASWARM_ADMIN_AZURE_ARM_ENDPOINT_URL=$(peer azure_arm_url)
    ALPHASWARM_ADMIN_AZURE_APP_CLIENT_ID=$(peer azure_app_client_id)
    ALPHASWARM_ADMIN_AZURE_APP_OBJECT_ID=$(peer azure_app_object_id)
    export ALPHASWARM_ADMIN_FEDERATION_ISSUER ALPHASWARM_ADMIN_AZURE_LOGIN_ENDPOINT_URL \
      ALPHASWARM_ADMIN_AZURE_ARM_ENDPOINT_URL ALPHASWARM_ADMIN_AZURE_APP_CLIENT_ID ALPHASWARM_ADMIN_AZURE_APP_OBJECT_ID
    # The fake makes a credential visible at once; a short window keeps the
    # missing-consent case (not retried) and the wrong-id cases quick.
    export ALPHASWARM_ADMIN_AZURE_SETTLE_SECONDS=2
    # GCP: the peers' STS + IAM Credentials + Resource Manager + Compute
    # fake on one endpoint; it reads the same issuer through the front. New
    # bindings take effect at once there; a short window keeps the
    # wrong-project-number case (retried while no provider is found) quick.
    ALPHASWARM_ADMIN_GCP_STS_ENDPOINT_URL=$(peer gcp_url)
    ALPHASWARM_ADMIN_GCP_IAMCREDENTIALS_ENDPOINT_URL=$ALPHASWARM_ADMIN_GCP_STS_ENDPOINT_URL
    ALPHASWARM_ADMIN_GCP_CRM_ENDPOINT_URL=$ALPHASWARM_ADMIN_GCP_STS_ENDPOINT_URL
    ALPHASWARM_ADMIN_GCP_COMPUTE_ENDPOINT_URL=$ALPHASWARM_ADMIN_GCP_STS_ENDPOINT_URL
    export ALPHASWARM_ADMIN_GCP_STS_ENDPOINT_URL ALPHASWARM_ADMIN_GCP_IAMCREDENTIALS_ENDPOINT_URL \
      ALPHASWARM_ADMIN_GCP_CRM_ENDPOINT_URL ALPHASWARM_ADMIN_GCP_COMPUTE_ENDPOINT_URL
    export ALPHASWARM_ADMIN_GCP_SETTLE_SECONDS=2
    ALPHASWARM_ADMIN_CLOUDFLARE_ENDPOINT_URL=$(peer cloudflare_api_url)
    export ALPHASWARM_ADMIN_CLOUDFLARE_ENDPOINT_URL
    ALPHASWARM_ADMIN_HUGGINGFACE_ENDPOINT_URL=$(peer huggingface_url)
    ALPHASWARM_ADMIN_DOCKERHUB_ENDPOINT_URL=$(peer dockerhub_url)
    export ALPHASWARM_ADMIN_HUGGINGFACE_ENDPOINT_URL ALPHASWARM_ADMIN_DOCKERHUB_ENDPOINT_URL
    exec "$ROOT/target/debug/alphaswarm-proxy" serve >"$E2E_TMP/proxy.out" 2>"$E2E_TMP/proxy.err"
  ) &
  PROXY_PID=$!
  wait_for_line "$E2E_TMP/proxy.out" '^  totp uri:' 30 "$PROXY_PID"

  E2E_BASE_URL=$(proxy_url "$E2E_TMP/proxy.out")
  E2E_PASSWORD=$(proxy_password "$E2E_TMP/proxy.out")
  E2E_TOTP_SECRET=$(operator_totp "$E2E_TMP/state")
  E2E_AWS_URL=$(peer aws_url)
  # The issuer front forwards to the proxy from now on.
  echo "$E2E_BASE_URL" >&3
  E2E_AZURE_CONTROL_URL=$(peer azure_control_url)
  E2E_ACCOUNTS_CONTROL_URL=$(peer accounts_control_url)
  E2E_AZURE_TENANTS=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["azure_tenants"]))' "$E2E_TMP/peers.out")
  # The awscli in the e2e acts as the customer's administrator.
  AWS_ACCESS_KEY_ID=$(peer customer_access_key_id)
  AWS_SECRET_ACCESS_KEY=$(peer customer_secret_access_key)
  E2E_GCP_CONTROL_URL=$(peer gcp_control_url)
  E2E_GCP_PROJECTS=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["gcp_projects"]))' "$E2E_TMP/peers.out")
  E2E_CLOUDFLARE_CONTROL_URL=$(peer cloudflare_control_url)
  E2E_CLOUDFLARE_ACCOUNT_ID=$(peer cloudflare_account_id)
  # Where the proxy and the peers write (logs, audit, store, state): the
  # Cloudflare and account e2e prove their tokens are in none of these files.
  E2E_SECRET_SCAN_DIR="$E2E_TMP"
  export E2E_BASE_URL E2E_PASSWORD E2E_TOTP_SECRET E2E_AWS_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
    E2E_AZURE_CONTROL_URL E2E_AZURE_TENANTS E2E_GCP_CONTROL_URL E2E_GCP_PROJECTS \
    E2E_CLOUDFLARE_CONTROL_URL E2E_CLOUDFLARE_ACCOUNT_ID E2E_ACCOUNTS_CONTROL_URL E2E_SECRET_SCAN_DIR
  if [ -z "$E2E_BASE_URL" ] || [ -z "$E2E_PASSWORD" ]; then
    echo "could not read the proxy's address or password" >&2
    exit 1
  fi
  curl -fsS --max-time 5 "$E2E_BASE_URL/healthz" >/dev/null
  # The issuer's discovery document through the front, as Entra reads it.
  curl -fsS --max-time 5 "$(peer federation_issuer).well-known/openid-configuration" >/dev/null
  echo "proxy at $E2E_BASE_URL, AWS fake at $E2E_AWS_URL, Azure and GCP fake control at $E2E_AZURE_CONTROL_URL"

  step "start a sandbox proxy (as scripts/run.sh starts it without cloud configuration)"
  (
    umask 077
    # A clean environment but for PATH and HOME, as a fresh clone has.
    exec env -i PATH="$PATH" HOME="$E2E_TMP/sandbox-home" \
      ALPHASWARM_ADMIN_SANDBOX=1 \
      ALPHASWARM_ADMIN_BIND=127.0.0.1:0 \
      ALPHASWARM_ADMIN_WEB_DIR="$ROOT/web/dist" \
      ALPHASWARM_ADMIN_STATE_DIR="$E2E_TMP/sandbox-state" \
      "$ROOT/target/debug/alphaswarm-proxy" serve >"$E2E_TMP/sandbox.out" 2>"$E2E_TMP/sandbox.err"
  ) &
  SANDBOX_PID=$!
  wait_for_line "$E2E_TMP/sandbox.out" '^  totp uri:' 60 "$SANDBOX_PID"
  E2E_SANDBOX_URL=$(proxy_url "$E2E_TMP/sandbox.out")
  E2E_SANDBOX_PASSWORD=$(proxy_password "$E2E_TMP/sandbox.out")
  E2E_SANDBOX_TOTP_SECRET=$(operator_totp "$E2E_TMP/sandbox-state")
  export E2E_SANDBOX_URL E2E_SANDBOX_PASSWORD E2E_SANDBOX_TOTP_SECRET
  echo "sandbox proxy at $E2E_SANDBOX_URL"
fi
SANDBOX_E2E=()
[ -n "${E2E_SANDBOX_URL:-}" ] && SANDBOX_E2E=(sandbox.test.mjs)

step "end-to-end (playwright-core + axe-core, Chromium)"
e2e_started=$(date +%s)
(cd "$E2E_DIR" && timeout 900 node --test --test-concurrency=1 wizard.test.mjs azure.test.mjs gcp.test.mjs cloudflare.test.mjs integrations.test.mjs workload_identity.test.mjs "${SANDBOX_E2E[@]}")
echo "end-to-end took $(( $(date +%s) - e2e_started ))s"
step "benchmark"
(cd "$E2E_DIR" && timeout 300 node bench.mjs)
echo "screenshots: tests/e2e/screenshots/"
