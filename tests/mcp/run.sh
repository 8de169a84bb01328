#!/usr/bin/env bash
# The MCP demo against a real MCP client nobody here wrote: the official TypeScript SDK
# (@modelcontextprotocol/sdk, pinned in package-lock.json, installed with npm ci). The demo
# runs with its development issuer on 127.0.0.1 (no settings, no AWS); its printed tokens
# (aud = the demo's resource URI) go to client.test.js, which checks the 401 challenge and the
# SDK's own discovery of the protected-resource metadata, then initialize, tools/list and
# tools/call of both tools, and the JSON-RPC error of admin_echo without the scope.
# One command: bash tests/mcp/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"
work="$(mktemp -d)"
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

(cd tests/mcp && npm ci --no-audit --no-fund --loglevel=error)
cargo build -q -p cognito-mcp-demo
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
env -u COGNITO_SETTINGS BIND="127.0.0.1:$port" "${CARGO_TARGET_DIR:-$repo/target}/debug/cognito-mcp-demo" >"$work/demo.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/health" >/dev/null || { cat "$work/demo.log"; echo "the MCP demo did not start"; exit 1; }

token="$(sed -n "s/^TOKEN='\([^']*\)'.*/\1/p" "$work/demo.log")"
read_token="$(sed -n "s/^READ_TOKEN='\([^']*\)'.*/\1/p" "$work/demo.log")"
[ -n "$token" ] && [ -n "$read_token" ] || { cat "$work/demo.log"; echo "the demo printed no tokens"; exit 1; }

cd tests/mcp
MCP_URL="http://127.0.0.1:$port/mcp" TOKEN="$token" READ_TOKEN="$read_token" node --test || {
    echo "--- demo log"; cat "$work/demo.log"; exit 1
}
