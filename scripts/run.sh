#!/usr/bin/env bash
# Builds the web UI, starts the proxy serving it with embedded defaults on
# 127.0.0.1:8787 and prints where to go and how to log in. State (the SQLite
# database alphaswarm.db with connections and the audit chain, the operator
# login, dev secrets) lives in ~/.alphaswarm unless ALPHASWARM_ADMIN_STATE_DIR
# says otherwise; ALPHASWARM_ADMIN_DATABASE_URL=postgres://… uses PostgreSQL.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
ensure_cargo_path

# AWS bootstrap needs AlphaSwarm's partner account id. 111122223333 is AWS's
# documentation example id, clearly fake: set your real one to connect accounts.
export ALPHASWARM_ADMIN_AWS_PARTNER_ACCOUNT_ID="${ALPHASWARM_ADMIN_AWS_PARTNER_ACCOUNT_ID:-111122223333}"
# Steps 3-5 call AWS with the platform account's own credentials, taken from
# the usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN)
# when exported; without them those steps answer platform_credentials_missing.
# No real cloud configured (no platform credentials, in the environment or
# a secret store of the chain; no endpoints, no Azure app, no federation
# issuer) and not production: every cloud is simulated on this machine (the
# proxy's sandbox mode; production refuses it).
# ALPHASWARM_ADMIN_SANDBOX=0 turns that off, =1 forces it.
if [[ -z "${ALPHASWARM_ADMIN_SANDBOX:-}" && "${ALPHASWARM_ENV:-}" != prod* \
      && -z "${AWS_ACCESS_KEY_ID:-}" && -z "${ALPHASWARM_ADMIN_AWS_PLATFORM_ACCESS_KEY_ID:-}" \
      && -z "${ALPHASWARM_VAULT_ADDR:-}" && -z "${ALPHASWARM_AWS_SECRETSMANAGER_PREFIX:-}" \
      && -z "${ALPHASWARM_AZURE_KEYVAULT_URL:-}" && -z "${ALPHASWARM_ADMIN_AWS_ENDPOINT_URL:-}" \
      && -z "${ALPHASWARM_ADMIN_AZURE_APP_CLIENT_ID:-}" && -z "${ALPHASWARM_ADMIN_FEDERATION_ISSUER:-}" ]]; then
  export ALPHASWARM_ADMIN_SANDBOX=1
  echo "No real cloud configuration found: starting in SANDBOX mode (clouds simulated on this machine; set ALPHASWARM_ADMIN_SANDBOX=0 to turn it off)."
fi
export ALPHASWARM_ADMIN_BIND="${ALPHASWARM_ADMIN_BIND:-127.0.0.1:8787}"
export ALPHASWARM_ADMIN_WEB_DIR="${ALPHASWARM_ADMIN_WEB_DIR:-$ROOT/web/dist}"

bash "$ROOT/scripts/build-web.sh"
step "cargo build --release -p alphaswarm-proxy"
cargo build --release -p alphaswarm-proxy
exec "$ROOT/target/release/alphaswarm-proxy" serve
