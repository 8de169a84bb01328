#!/usr/bin/env bash
# HTTP benchmarks (a fixed token vs /health, distinct tokens vs the RSA floor, against the
# peers, the router-wide layer vs the extractor, the metrics recorder on vs off, the tonic
# demo's authenticated Check vs an open one, and memory under a flood of distinct tokens; see
# BENCHMARKS.md): the three demo servers, the tonic demo (h2load, HTTP/2), the floor server
# (examples/axum-demo/examples/rsa_floor.rs: axum answering with one RSA check of the token and
# nothing else, the measured limit for a distinct token on this stack) and two peers
# (fastapi-cognito on uvicorn, aws-jwt-verify on node:http), all on
# 127.0.0.1, one wrk thread, 64 connections, server pinned to one core and wrk to the other. The figure that counts is
# requests per second of SERVER CPU time (utime + stime of the server process from
# /proc/<pid>/stat, every thread included); wall-clock req/s and p99 are printed too.
#
# Usage (from anywhere):  bash benches/http/run.sh
# Knobs (env): DURATION (s per scenario, default 10), DISTINCT (tokens, default 10000),
# MEMORY_TOKENS (default 100000), MEMORY_REQUESTS (default 1000000; 0 skips the memory run),
# SERVER_CPU / WRK_CPU (default 0 / 1), SERVERS (default "floor axum actix rocket tonic fastapi node"),
# BASE_PORT (default 18080).
#
# Installs what it needs: wrk and h2load (Debian, apt-get), fastapi-cognito + uvicorn (pip, in a venv),
# aws-jwt-verify (npm), all under benches/http/.work (git-ignored). Builds the demos and the
# token minter in release. Prints one markdown table at the end (also in .work/results.md).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$HERE/.work"
DURATION="${DURATION:-10}"
DISTINCT="${DISTINCT:-10000}"
MEMORY_TOKENS="${MEMORY_TOKENS:-100000}"
MEMORY_REQUESTS="${MEMORY_REQUESTS:-1000000}"
SERVER_CPU="${SERVER_CPU:-0}"
WRK_CPU="${WRK_CPU:-1}"
SERVERS="${SERVERS:-floor axum actix rocket tonic fastapi node}"
BASE_PORT="${BASE_PORT:-18080}"
JWKS_PORT="$BASE_PORT"
APP_PORT="$((BASE_PORT + 1))"
CLK_TCK="$(getconf CLK_TCK)"
mkdir -p "$WORK"
cd "$ROOT"

log() { printf '== %s\n' "$*" >&2; }

# ---- installs -------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  log "installing wrk (Debian)"
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
if ! command -v h2load >/dev/null; then
  log "installing h2load (Debian nghttp2-client)"
  apt-get update -qq && apt-get install -y -qq nghttp2-client >/dev/null
fi
if [ ! -x "$WORK/venv/bin/uvicorn" ] || ! "$WORK/venv/bin/python" -c 'import fastapi_cognito' 2>/dev/null; then
  log "installing fastapi-cognito and uvicorn (pip, venv)"
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install -q fastapi-cognito uvicorn
fi
if [ ! -d "$WORK/node_modules/aws-jwt-verify" ]; then
  log "installing aws-jwt-verify (npm)"
  (cd "$WORK" && { [ -f package.json ] || echo '{"name": "cognito-http-bench", "private": true}' >package.json; } && npm install -q --no-audit --no-fund aws-jwt-verify >/dev/null)
fi

# ---- builds and tokens ---------------------------------------------------------------------
log "building the demos and the token minter (release)"
cargo build -q --release -p cognito-axum-demo -p cognito-actix-demo -p cognito-rocket-demo -p cognito-tonic-demo
cargo build -q --release -p cognito-tonic-demo --example open
cargo build -q --release -p cognito-axum-demo --example rsa_floor
cargo build -q --release -p cognito-testkit --example mint_tokens
TOKENS_DIR="$WORK/tokens"
need_tokens="$MEMORY_TOKENS"
[ "$DISTINCT" -gt "$need_tokens" ] && need_tokens="$DISTINCT"
# Tokens live 12 h; mint anew when fewer are there than needed or they are over 6 h old.
if [ ! -f "$TOKENS_DIR/tokens.txt" ] || [ "$(wc -l <"$TOKENS_DIR/tokens.txt")" -lt "$need_tokens" ] \
  || [ -n "$(find "$TOKENS_DIR/tokens.txt" -mmin +360)" ]; then
  log "minting $need_tokens tokens"
  "$ROOT/target/release/examples/mint_tokens" "$TOKENS_DIR" "$need_tokens" >&2
fi
# shellcheck disable=SC1091
. "$TOKENS_DIR/pool.env"
TOKEN="$(head -n1 "$TOKENS_DIR/tokens.txt")"
JWKS_URL="http://127.0.0.1:$JWKS_PORT/jwks.json"
# The demos' settings: the token cache as by default, and switched off (for the distinct-token
# scenario: 10,000 tokens in a cycle would otherwise be cache hits after the first pass).
cat >"$WORK/settings.yaml" <<EOF
userpools:
  bench:
    region: $REGION
    userpool_id: $USERPOOL_ID
    app_client_id: $CLIENT_ID
    token_use: access
    jwks_url: $JWKS_URL
EOF
{ printf 'token_cache:\n  enabled: false\n'; cat "$WORK/settings.yaml"; } >"$WORK/settings-nocache.yaml"

# ---- processes -----------------------------------------------------------------------------
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

python3 -m http.server --bind 127.0.0.1 --directory "$TOKENS_DIR" "$JWKS_PORT" >"$WORK/jwks-server.log" 2>&1 &
PIDS+=("$!")

wait_up() { # url
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  log "not up: $1"; return 1
}
wait_up "$JWKS_URL"

# gRPC: an empty HealthCheckRequest, framed (no compression flag, length 0).
printf '\0\0\0\0\0' >"$WORK/grpc-check.bin"
grpc_status() { # url [token] -> the grpc-status of one Check (trailers)
  local auth=()
  [ -n "${2:-}" ] && auth=(-H "authorization: Bearer $2")
  curl -s --http2-prior-knowledge -D - -o /dev/null -H 'content-type: application/grpc' -H 'te: trailers' \
    "${auth[@]}" --data-binary @"$WORK/grpc-check.bin" "$1" | tr -d '\r' | awk -F': ' 'tolower($1) == "grpc-status" { s = $2 } END { print s }'
}
wait_port() {
  for _ in $(seq 1 200); do
    (echo >"/dev/tcp/127.0.0.1/$APP_PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  log "not up: port $APP_PORT"; return 1
}

start_server() { # name [settings file] [env assignments...] -> sets SERVER_PID
  local name="$1" settings="${2:-$WORK/settings.yaml}" bind="127.0.0.1:$APP_PORT"
  local extra=("${@:3}")
  case "$name" in
    axum | actix | rocket)
      env "${extra[@]}" COGNITO_SETTINGS="$settings" BIND="$bind" \
        taskset -c "$SERVER_CPU" "$ROOT/target/release/cognito-$name-demo" >"$WORK/$name.log" 2>&1 &
      ;;
    floor)
      FLOOR_JWKS="$TOKENS_DIR/jwks.json" BIND="$bind" \
        taskset -c "$SERVER_CPU" "$ROOT/target/release/examples/rsa_floor" >"$WORK/$name.log" 2>&1 &
      ;;
    tonic | tonic_open)
      local bin="$ROOT/target/release/cognito-tonic-demo"
      [ "$name" = tonic_open ] && bin="$ROOT/target/release/examples/open"
      COGNITO_SETTINGS="$settings" BIND="$bind" taskset -c "$SERVER_CPU" "$bin" >"$WORK/$name.log" 2>&1 &
      SERVER_PID="$!"
      PIDS+=("$SERVER_PID")
      wait_port
      local check="http://$bind/grpc.health.v1.Health/Check" status
      if [ "$name" = tonic ]; then
        status="$(grpc_status "$check" "$TOKEN")"
        [ "$status" = 0 ] || { log "$name refused the token (grpc-status $status)"; return 1; }
        status="$(grpc_status "$check")"
        [ "$status" = 16 ] || { log "$name let a call without a token through (grpc-status $status)"; return 1; }
      else
        status="$(grpc_status "$check")"
        [ "$status" = 0 ] || { log "$name refused an open call (grpc-status $status)"; return 1; }
      fi
      return 0
      ;;
    fastapi)
      (cd "$HERE" && REGION="$REGION" USERPOOL_ID="$USERPOOL_ID" CLIENT_ID="$CLIENT_ID" JWKS_URL="$JWKS_URL" \
        exec taskset -c "$SERVER_CPU" "$WORK/venv/bin/uvicorn" fastapi_app:app --host 127.0.0.1 --port "$APP_PORT" \
        --workers 1 --log-level warning --no-access-log) >"$WORK/$name.log" 2>&1 &
      ;;
    node)
      # Run from .work, where node_modules is (ESM resolves packages next to the script).
      cp "$HERE/node_app.mjs" "$WORK/node_app.mjs"
      (cd "$WORK" && USERPOOL_ID="$USERPOOL_ID" CLIENT_ID="$CLIENT_ID" JWKS_FILE="$TOKENS_DIR/jwks.json" PORT="$APP_PORT" \
        exec taskset -c "$SERVER_CPU" node "$WORK/node_app.mjs") >"$WORK/$name.log" 2>&1 &
      ;;
  esac
  SERVER_PID="$!"
  PIDS+=("$SERVER_PID")
  wait_up "http://$bind/health"
  # Check that the server accepts our token before measuring anything.
  local status
  status="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://$bind/")"
  [ "$status" = 200 ] || { log "$name refused the token ($status)"; return 1; }
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}

cpu_ticks() { # pid -> utime + stime in clock ticks (fields 14 and 15; comm may hold spaces)
  sed -E 's/^.*\) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

to_ms() { # wrk latency like 1.23ms / 456.00us / 1.20s
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
    else print v }'
}

# run_wrk name scenario [wrk args...] -> appends "name scenario requests rps p99ms cpu_s per_cpu_s errors"
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
run_wrk() {
  local name="$1" scenario="$2"; shift 2
  local before after out requests rps p99 cpu errors
  before="$(cpu_ticks "$SERVER_PID")"
  out="$(taskset -c "$WRK_CPU" wrk -t1 -c64 -d"${DURATION}s" --latency "$@")"
  after="$(cpu_ticks "$SERVER_PID")"
  echo "$out" >"$WORK/wrk-$name-$scenario.txt"
  requests="$(echo "$out" | awk '/requests in/ { print $1 }')"
  rps="$(echo "$out" | awk '/^Requests\/sec/ { printf "%d", $2 }')"
  p99="$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")"
  errors="$(echo "$out" | awk '/Non-2xx/ { print $NF }')"
  errors="${errors:-0}"
  cpu="$(awk -v a="$before" -v b="$after" -v t="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / t }')"
  local per_cpu
  per_cpu="$(awk -v r="$requests" -v c="$cpu" 'BEGIN { if (c > 0) printf "%d", r / c; else print "n/a" }')"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$scenario" "$requests" "$rps" "$p99" "$cpu" "$per_cpu" "$errors" >>"$RESULTS"
  log "$name $scenario: $requests requests, $rps req/s, p99 ${p99} ms, server CPU ${cpu} s, $per_cpu req/CPU-s, non-2xx $errors"
}

# run_h2load name scenario [h2load args...]: as run_wrk, over HTTP/2 (one thread, 64
# connections, 10 streams each); h2load gives no percentiles, so p99 is "-".
run_h2load() {
  local name="$1" scenario="$2"; shift 2
  local before after out requests rps cpu per_cpu errors
  before="$(cpu_ticks "$SERVER_PID")"
  out="$(taskset -c "$WRK_CPU" h2load -t1 -c64 -m10 -D "$DURATION" "$@")"
  after="$(cpu_ticks "$SERVER_PID")"
  echo "$out" >"$WORK/h2load-$name-$scenario.txt"
  requests="$(echo "$out" | awk '/^requests:/ { print $8 }')"
  rps="$(echo "$out" | awk '/^finished in/ { printf "%d", $4 }')"
  errors="$(echo "$out" | awk '/^requests:/ { print $10 + $12 }')"
  cpu="$(awk -v a="$before" -v b="$after" -v t="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / t }')"
  per_cpu="$(awk -v r="$requests" -v c="$cpu" 'BEGIN { if (c > 0) printf "%d", r / c; else print "n/a" }')"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$scenario" "$requests" "$rps" "-" "$cpu" "$per_cpu" "$errors" >>"$RESULTS"
  log "$name $scenario: $requests requests, $rps req/s, server CPU ${cpu} s, $per_cpu req/CPU-s, failed $errors"
}

URL="http://127.0.0.1:$APP_PORT"
GRPC_ARGS=(-d "$WORK/grpc-check.bin" -H 'content-type: application/grpc' -H 'te: trailers' "$URL/grpc.health.v1.Health/Check")
for name in $SERVERS; do
  log "server: $name"
  if [ "$name" = tonic ]; then
    # Authenticated Check (a fixed token: cache hits) against the same server and layer with
    # every method public.
    start_server tonic
    run_h2load tonic check -H "authorization: Bearer $TOKEN" "${GRPC_ARGS[@]}"
    stop_server
    start_server tonic_open
    run_h2load tonic check_open "${GRPC_ARGS[@]}"
    stop_server
    continue
  fi
  start_server "$name"
  run_wrk "$name" health "$URL/health"
  case "$name" in
    floor | axum | actix | rocket)
      # /health carrying a token's header: what moving and parsing the 1.2 KB costs alone.
      run_wrk "$name" health_token -H "Authorization: Bearer $TOKEN" "$URL/health"
      ;;
  esac
  if [ "$name" = floor ]; then
    TOKENS_FILE="$TOKENS_DIR/tokens.txt" TOKENS_LIMIT="$DISTINCT" run_wrk "$name" distinct -s "$HERE/distinct.lua" "$URL/"
    stop_server
    continue
  fi
  run_wrk "$name" repeated -H "Authorization: Bearer $TOKEN" "$URL/"
  case "$name" in
    axum | actix)
      # The same route behind the router-wide layer / middleware (the handler reads its result).
      run_wrk "$name" layered -H "Authorization: Bearer $TOKEN" "$URL/layer/"
      ;;
  esac
  case "$name" in
    axum | actix | rocket)
      stop_server
      # No metrics recorder: what recording costs a cache hit.
      start_server "$name" "$WORK/settings.yaml" DEMO_METRICS=off
      run_wrk "$name" repeated_nometrics -H "Authorization: Bearer $TOKEN" "$URL/"
      stop_server
      start_server "$name" "$WORK/settings-nocache.yaml"
      ;;
  esac
  TOKENS_FILE="$TOKENS_DIR/tokens.txt" TOKENS_LIMIT="$DISTINCT" run_wrk "$name" distinct -s "$HERE/distinct.lua" "$URL/"
  stop_server
done

# ---- memory after MEMORY_REQUESTS requests over MEMORY_TOKENS distinct tokens ---------------
MEMORY="$WORK/memory.tsv"
: >"$MEMORY"
if [ "$MEMORY_REQUESTS" -gt 0 ]; then
  for name in axum actix rocket; do
    case " $SERVERS " in *" $name "*) ;; *) continue ;; esac
    log "memory: $name, $MEMORY_REQUESTS requests over $MEMORY_TOKENS tokens"
    start_server "$name"
    total=0
    before="$(cpu_ticks "$SERVER_PID")"
    while [ "$total" -lt "$MEMORY_REQUESTS" ]; do
      out="$(TOKENS_FILE="$TOKENS_DIR/tokens.txt" TOKENS_LIMIT="$MEMORY_TOKENS" \
        taskset -c "$WRK_CPU" wrk -t1 -c64 -d"${DURATION}s" -s "$HERE/distinct.lua" "$URL/")"
      n="$(echo "$out" | awk '/requests in/ { print $1 }')"
      total=$((total + n))
    done
    after="$(cpu_ticks "$SERVER_PID")"
    per_cpu="$(awk -v r="$total" -v a="$before" -v b="$after" -v t="$CLK_TCK" 'BEGIN { if (b > a) printf "%d", r * t / (b - a); else print "n/a" }')"
    rss="$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status")"
    hwm="$(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status")"
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$total" "$rss" "$hwm" "$per_cpu" >>"$MEMORY"
    log "$name: RSS $rss MB (peak $hwm MB) after $total requests; $per_cpu req/CPU-s (token cache on, every token a miss)"
    stop_server
  done
fi

# ---- the table -----------------------------------------------------------------------------
FLOOR="$(taskset -c "$SERVER_CPU" openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { printf "%d", $NF }' || true)"
{
  echo "HTTP, $(date -u '+%Y-%m-%d %H:%M UTC') (end of run), load average then: $(cut -d' ' -f1-3 /proc/loadavg); wrk -t1 -c64 -d${DURATION}s," \
    "server on CPU $SERVER_CPU, wrk on CPU $WRK_CPU; RSA floor (openssl speed rsa2048 verify/s, CPU $SERVER_CPU): ${FLOOR:-n/a}"
  echo
  awk -F'\t' -v floor="${FLOOR:-0}" '
    { key = $1 "/" $2; req[key] = $3; rps[key] = $4; p99[key] = $5; cpu[key] = $6; per[key] = $7; err[key] = $8
      if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
    END {
      print "| server | scenario | requests | req/s (wall) | p99 ms | server CPU s | req per server CPU-s | x own /health | x RSA floor | x aws-jwt-verify | x fastapi-cognito | non-2xx |"
      print "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
      split("health health_token repeated layered repeated_nometrics distinct check check_open", scen, " ")
      # distinct: the Rust demos run with token_cache.enabled: false, so every request verifies.
      for (i = 1; i <= n; i++) for (j = 1; j <= 8; j++) {
        s = order[i]; k = s "/" scen[j]; if (!(k in req)) continue
        h = per[s "/health"]; nd = per["node/" scen[j]]; fa = per["fastapi/" scen[j]]
        own = (scen[j] != "health" && h > 0) ? sprintf("%.2f", per[k] / h) : "-"
        fl = (scen[j] != "health" && floor > 0) ? sprintf("%.2f", per[k] / floor) : "-"
        xn = (scen[j] != "health" && nd > 0) ? sprintf("%.2f", per[k] / nd) : "-"
        xf = (scen[j] != "health" && fa > 0) ? sprintf("%.1f", per[k] / fa) : "-"
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s, scen[j], req[k], rps[k], p99[k], cpu[k], per[k], own, fl, xn, xf, err[k]
      }
    }' "$RESULTS"
  # The targets: each demo against its own limit for a distinct token (one RSA verification
  # plus its own cost of a request: 1 / (1/floor + 1/health), per server CPU-s), a fixed token
  # against its own /health, the layer against the extractor, the recorder on against off,
  # and the authenticated gRPC Check against an open one.
  echo
  python3 - "$RESULTS" "${FLOOR:-0}" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    name, scen, *_, per, _err = line.rstrip("\n").split("\t")
    try:
        rows[(name, scen)] = float(per)
    except ValueError:
        pass
floor = float(sys.argv[2])
def ratio(a, b, goal):
    if a is None or not b:
        return "-"
    r = a / b
    return f"{r:.2f} {'(met)' if r >= goal else '(missed)'}"
# The floor server's distinct row is the same limit measured: one RSA check per request and
# nothing else, on the demos' stack; "/ floor server" compares each demo with it.
measured = rows.get(("floor", "distinct"))
print("| demo | limit: 1/(1/floor + 1/health) | distinct / limit (>= 0.90) | distinct / floor server | fixed / health (>= 0.85) | fixed / health with token | layer / extractor (>= 0.95) | recorder on / off (>= 0.95) |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for name in ("floor", "axum", "actix", "rocket"):
    health = rows.get((name, "health"))
    if not health:
        continue
    limit = 1 / (1 / floor + 1 / health) if floor else None
    get = lambda s: rows.get((name, s))
    plain = lambda a, b: f"{a / b:.2f}" if a and b else "-"
    print(f"| {name} | {int(limit) if limit else '-'} | {ratio(get('distinct'), limit, 0.9)} | {plain(get('distinct'), measured)} "
          f"| {ratio(get('repeated'), health, 0.85)} | {plain(get('repeated'), get('health_token'))} "
          f"| {ratio(get('layered'), get('repeated'), 0.95)} | {ratio(get('repeated'), get('repeated_nometrics'), 0.95)} |")
check, open_ = rows.get(("tonic", "check")), rows.get(("tonic", "check_open"))
if check:
    print(f"\ntonic: authenticated Check / open Check (>= 0.90): {ratio(check, open_, 0.9)}")
PY
  if [ -s "$MEMORY" ]; then
    echo
    echo "| server | requests over $MEMORY_TOKENS distinct tokens (token cache on: every one a miss) | RSS MB after | peak RSS MB | req per server CPU-s | x RSA floor |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    awk -F'\t' -v floor="${FLOOR:-0}" '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, (floor > 0 ? sprintf("%.2f", $5 / floor) : "-") }' "$MEMORY"
  fi
} | tee "$WORK/results.md"
