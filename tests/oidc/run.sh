#!/usr/bin/env bash
# The OpenID Connect issuer support against a certified OpenID Provider nobody here wrote:
# oidc-provider (npm, pinned in package-lock.json, installed with npm ci), started by
# provider.mjs on 127.0.0.1. It issues JWT access tokens by client credentials, RS256 for one
# resource and ES256 for another; tests/oidc_provider.rs gets one of each and sends them to
# the three demos, which find the provider's keys by OpenID Connect discovery.
# One command: bash tests/oidc/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
work="$(mktemp -d)"
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

(cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error)
# Build first, so the provider's short-lived tokens are fresh when the test runs.
cargo test -q -p cognito-conformance --test oidc_provider --no-run

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
issuer="http://127.0.0.1:$port"
PORT="$port" node tests/oidc/provider.mjs >"$work/provider.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    curl -fsS "$issuer/.well-known/openid-configuration" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "$issuer/.well-known/openid-configuration" >/dev/null || {
    cat "$work/provider.log"; echo "oidc-provider did not start"; exit 1
}

OIDC_ISSUER="$issuer" cargo test -q -p cognito-conformance --test oidc_provider -- --ignored --nocapture || {
    echo "--- provider log"; cat "$work/provider.log"; exit 1
}
