#!/usr/bin/env bash
# HTTP benchmarks (a fixed token vs /health, distinct tokens vs the RSA floor, against the
# peers, the router-wide layer vs the extractor, the metrics recorder on vs off, /health on a new
# connection per request, the tonic demo's authenticated Check vs an open one, memory under a
# flood of distinct tokens beside the floor servers', and instructions per request; see
# BENCHMARKS.md): the three demo servers, the tonic demo (h2load,
# HTTP/2), two floor servers (examples/axum-demo/examples/rsa_floor.rs on axum and
# examples/rocket-demo/examples/rocket_floor.rs on rocket: each answering with one RSA check of
# the token and nothing else, the measured limit for a distinct token on that stack) and two
# peers (fastapi-cognito on uvicorn, aws-jwt-verify on node:http), all on 127.0.0.1, one wrk
# thread, 64 connections, server pinned to one core and wrk to the other. The figure that
# counts is requests per second of SERVER CPU time (utime + stime of the server process from
# /proc/<pid>/stat, every thread included); wall-clock req/s and p99 are printed too. The
# servers take turns, ROUNDS times over, so a slow minute of the machine falls on every server
# alike; each row is the median of its rounds, with their range.
#
# Instructions per request (valgrind callgrind, which the machine's noise does not move): each
# demo runs under callgrind, warmed up, and each route gets INSTRUCTION_REQUESTS requests
# (h2load over HTTP/1.1, 4 connections) between a zeroing and a dump of the counters, routes
# interleaved, three times; the median per request is printed. Beside the demos, one handler in
# three forms (extractor, a do-nothing layer, ours): examples/axum-demo/examples/layer_cost.rs
# (axum_layers) and examples/actix-demo/examples/middleware_cost.rs (actix_layers). User space
# only: callgrind does not see the kernel.
#
# Usage (from anywhere):  bash benches/http/run.sh
# Knobs (env): DURATION (s per scenario, default 10), ROUNDS (default 3), DISTINCT (tokens,
# default 10000), MEMORY_TOKENS (default 100000), MEMORY_REQUESTS (default 1000000; 0 skips the
# memory run), INSTRUCTION_REQUESTS (default 2000; 0 skips the instruction counts),
# SERVER_CPU / WRK_CPU (default 0 / 1), SERVERS (default "floor axum actix rocket_floor rocket
# tonic fastapi node"), BASE_PORT (default 18080), CARGO_TARGET_DIR (default target/).
#
# Installs what it needs: wrk and h2load (Debian, apt-get), valgrind (Debian, for the
# instruction counts), fastapi-cognito + uvicorn (pip, in a venv), aws-jwt-verify (npm), all
# under benches/http/.work (git-ignored). Builds the demos, the floors and the token minter in
# release. Prints the tables at the end (also in .work/results.md).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$HERE/.work"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-3}"
INSTRUCTION_REQUESTS="${INSTRUCTION_REQUESTS:-2000}"
DISTINCT="${DISTINCT:-10000}"
MEMORY_TOKENS="${MEMORY_TOKENS:-100000}"
MEMORY_REQUESTS="${MEMORY_REQUESTS:-1000000}"
SERVER_CPU="${SERVER_CPU:-0}"
WRK_CPU="${WRK_CPU:-1}"
SERVERS="${SERVERS:-floor axum actix rocket_floor rocket tonic fastapi node}"
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
if [ "$INSTRUCTION_REQUESTS" -gt 0 ] && ! command -v callgrind_control >/dev/null; then
  log "installing valgrind (Debian)"
  apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
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
cargo build -q --release -p cognito-axum-demo --example rsa_floor --example layer_cost
cargo build -q --release -p cognito-actix-demo --example middleware_cost
cargo build -q --release -p cognito-rocket-demo --example rocket_floor
cargo build -q --release -p cognito-testkit --example mint_tokens
TOKENS_DIR="$WORK/tokens"
need_tokens="$MEMORY_TOKENS"
[ "$DISTINCT" -gt "$need_tokens" ] && need_tokens="$DISTINCT"
# Tokens live 12 h; mint anew when fewer are there than needed or they are over 6 h old.
if [ ! -f "$TOKENS_DIR/tokens.txt" ] || [ "$(wc -l <"$TOKENS_DIR/tokens.txt")" -lt "$need_tokens" ] \
  || [ -n "$(find "$TOKENS_DIR/tokens.txt" -mmin +360)" ]; then
  log "minting $need_tokens tokens"
  "$TARGET/release/examples/mint_tokens" "$TOKENS_DIR" "$need_tokens" >&2
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

wait_up() { # url (60 s: a server under valgrind starts slowly)
  for _ in $(seq 1 600); do
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
  # A refusal is answered before the request's body is read, so the server may end the stream
  # with RST_STREAM(NO_ERROR) while curl still sends it (allowed by RFC 9113 section 8.1, which
  # also says a client must not discard the response then; curl exits 92, and in about 1 call
  # in 25 prints nothing). The status comes from the headers whatever curl's exit code, and a
  # call that printed none is made again (at most 5 times).
  local status="" _
  for _ in 1 2 3 4 5; do
    status="$({ curl -s --http2-prior-knowledge -D - -o /dev/null -H 'content-type: application/grpc' -H 'te: trailers' \
      "${auth[@]}" --data-binary @"$WORK/grpc-check.bin" "$1" || true; } | tr -d '\r' | awk -F': ' 'tolower($1) == "grpc-status" { s = $2 } END { print s }')"
    [ -n "$status" ] && break
  done
  echo "$status"
}
wait_port() {
  for _ in $(seq 1 600); do
    (echo >"/dev/tcp/127.0.0.1/$APP_PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  log "not up: port $APP_PORT"; return 1
}

# WRAP: a command the Rust servers run under (valgrind, for the instruction counts).
WRAP=()
start_server() { # name [settings file] [env assignments...] -> sets SERVER_PID
  local name="$1" settings="${2:-$WORK/settings.yaml}" bind="127.0.0.1:$APP_PORT"
  local extra=("${@:3}")
  case "$name" in
    axum | actix | rocket)
      env "${extra[@]}" COGNITO_SETTINGS="$settings" BIND="$bind" \
        taskset -c "$SERVER_CPU" ${WRAP[@]+"${WRAP[@]}"} "$TARGET/release/cognito-$name-demo" >"$WORK/$name.log" 2>&1 &
      ;;
    axum_layers | actix_layers)
      local bin="$TARGET/release/examples/layer_cost"
      [ "$name" = actix_layers ] && bin="$TARGET/release/examples/middleware_cost"
      COGNITO_SETTINGS="$settings" BIND="$bind" \
        taskset -c "$SERVER_CPU" ${WRAP[@]+"${WRAP[@]}"} "$bin" >"$WORK/$name.log" 2>&1 &
      ;;
    floor | rocket_floor)
      local bin="$TARGET/release/examples/rsa_floor"
      [ "$name" = rocket_floor ] && bin="$TARGET/release/examples/rocket_floor"
      FLOOR_JWKS="$TOKENS_DIR/jwks.json" BIND="$bind" \
        taskset -c "$SERVER_CPU" ${WRAP[@]+"${WRAP[@]}"} "$bin" >"$WORK/$name.log" 2>&1 &
      ;;
    tonic | tonic_open)
      local bin="$TARGET/release/cognito-tonic-demo"
      [ "$name" = tonic_open ] && bin="$TARGET/release/examples/open"
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
  local status path=/
  case "$name" in *_layers) path=/e/ ;; esac
  status="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://$bind$path")"
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

# run_wrk name scenario [wrk args...] -> appends "name scenario requests rps p99ms cpu_s per_cpu_s errors round"
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
ROUND=1
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
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$scenario" "$requests" "$rps" "$p99" "$cpu" "$per_cpu" "$errors" "$ROUND" >>"$RESULTS"
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
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$scenario" "$requests" "$rps" "-" "$cpu" "$per_cpu" "$errors" "$ROUND" >>"$RESULTS"
  log "$name $scenario: $requests requests, $rps req/s, server CPU ${cpu} s, $per_cpu req/CPU-s, failed $errors"
}

URL="http://127.0.0.1:$APP_PORT"
GRPC_ARGS=(-d "$WORK/grpc-check.bin" -H 'content-type: application/grpc' -H 'te: trailers' "$URL/grpc.health.v1.Health/Check")
one_server() { # name: every scenario of one server, once
  local name="$1"
  log "server: $name (round $ROUND of $ROUNDS)"
  if [ "$name" = tonic ]; then
    # Authenticated Check (a fixed token: cache hits) against the same server and layer with
    # every method public.
    start_server tonic
    run_h2load tonic check -H "authorization: Bearer $TOKEN" "${GRPC_ARGS[@]}"
    stop_server
    start_server tonic_open
    run_h2load tonic check_open "${GRPC_ARGS[@]}"
    stop_server
    return
  fi
  start_server "$name"
  run_wrk "$name" health "$URL/health"
  case "$name" in
    floor | rocket_floor | axum | actix | rocket)
      # /health carrying a token's header: what moving and parsing the 1.2 KB costs alone.
      run_wrk "$name" health_token -H "Authorization: Bearer $TOKEN" "$URL/health"
      # /health on a new connection each time: what accepting a connection costs (a client
      # without keep-alive; anything the server copies per connection shows here).
      run_wrk "$name" health_close -H "Connection: close" "$URL/health"
      ;;
  esac
  case "$name" in
    floor | rocket_floor)
      TOKENS_FILE="$TOKENS_DIR/tokens.txt" TOKENS_LIMIT="$DISTINCT" run_wrk "$name" distinct -s "$HERE/distinct.lua" "$URL/"
      stop_server
      return
      ;;
  esac
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
}
if [ "$DURATION" -gt 0 ]; then
  for ROUND in $(seq 1 "$ROUNDS"); do
    for name in $SERVERS; do one_server "$name"; done
  done
fi

# ---- memory after MEMORY_REQUESTS requests over MEMORY_TOKENS distinct tokens ---------------
MEMORY="$WORK/memory.tsv"
: >"$MEMORY"
if [ "$MEMORY_REQUESTS" -gt 0 ]; then
  for name in floor axum actix rocket_floor rocket; do
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

# ---- instructions per request (valgrind callgrind) -----------------------------------------
INSTRUCTIONS="$WORK/instructions.tsv"
: >"$INSTRUCTIONS"
# count_instructions name scenario url [h2load args...] -> appends "name scenario round instructions/request"
count_instructions() {
  local name="$1" scenario="$2" url="$3"; shift 3
  local dumps before out ok total
  callgrind_control -z "$SERVER_PID" >/dev/null 2>&1
  out="$(taskset -c "$WRK_CPU" h2load --h1 -t1 -c4 -n "$INSTRUCTION_REQUESTS" "$@" "$url")"
  ok="$(echo "$out" | awk '/^status codes:/ { print $3 }')"
  [ "$ok" = "$INSTRUCTION_REQUESTS" ] || { log "$name $scenario: $ok of $INSTRUCTION_REQUESTS requests answered 2xx"; return 1; }
  before="$(find "$WORK/callgrind" -name "$name.out.*" | wc -l)"
  callgrind_control -d "$SERVER_PID" >/dev/null 2>&1
  for _ in $(seq 1 100); do
    dumps="$(find "$WORK/callgrind" -name "$name.out.*" | wc -l)"
    [ "$dumps" -gt "$before" ] && break
    sleep 0.1
  done
  total="$(awk '/^(summary|totals):/ { print $2; exit }' "$WORK/callgrind/$name.out.$dumps")"
  printf '%s\t%s\t%s\t%s\n' "$name" "$scenario" "$ROUND" "$((total / INSTRUCTION_REQUESTS))" >>"$INSTRUCTIONS"
  log "$name $scenario: $((total / INSTRUCTION_REQUESTS)) instructions per request (round $ROUND)"
}
if [ "$INSTRUCTION_REQUESTS" -gt 0 ]; then
  rm -rf "$WORK/callgrind" && mkdir -p "$WORK/callgrind"
  for name in floor axum axum_layers actix actix_layers rocket_floor rocket; do
    # axum_layers (examples/axum-demo/examples/layer_cost.rs) runs with axum, actix_layers
    # (examples/actix-demo/examples/middleware_cost.rs) with actix.
    case " $SERVERS " in *" ${name%_layers} "*) ;; *) continue ;; esac
    log "instructions: $name"
    WRAP=(valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind/$name.out" --dump-line=no --compress-strings=no)
    start_server "$name"
    WRAP=()
    # Warm-up: the key set, the token cache, the allocator's pools, every route once over.
    ROUND=0
    # Every request carries the token; on a floor, `/` is its one RSA check.
    routes=(health_token "$URL/health")
    case "$name" in
      floor | rocket_floor) routes+=(verify "$URL/") ;;
      axum | actix) routes+=(repeated "$URL/" layered "$URL/layer/") ;;
      # One handler at three paths of one length: extractor, a do-nothing layer, the layer.
      axum_layers | actix_layers) routes+=(repeated "$URL/e/" noop "$URL/n/" layered "$URL/l/") ;;
      rocket) routes+=(repeated "$URL/") ;;
    esac
    for ((i = 0; i < ${#routes[@]}; i += 2)); do
      taskset -c "$WRK_CPU" h2load --h1 -t1 -c4 -n 500 -H "Authorization: Bearer $TOKEN" "${routes[i + 1]}" >/dev/null
    done
    for ROUND in 1 2 3; do
      for ((i = 0; i < ${#routes[@]}; i += 2)); do
        count_instructions "$name" "${routes[i]}" "${routes[i + 1]}" -H "Authorization: Bearer $TOKEN"
      done
    done
    stop_server
    case "$name" in
      axum | actix | rocket)
        # The token cache off: every request a full verification, against the floor's `verify`.
        # (A new process numbers its dumps from 1 again.)
        rm -f "$WORK/callgrind/$name".out*
        WRAP=(valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind/$name.out" --dump-line=no --compress-strings=no)
        start_server "$name" "$WORK/settings-nocache.yaml"
        WRAP=()
        taskset -c "$WRK_CPU" h2load --h1 -t1 -c4 -n 200 -H "Authorization: Bearer $TOKEN" "$URL/" >/dev/null
        for ROUND in 1 2 3; do
          count_instructions "$name" verify "$URL/" -H "Authorization: Bearer $TOKEN"
        done
        stop_server
        ;;
    esac
  done
fi

# ---- the tables ----------------------------------------------------------------------------
FLOOR="$(taskset -c "$SERVER_CPU" openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { printf "%d", $NF }' || true)"
{
  echo "HTTP, $(date -u '+%Y-%m-%d %H:%M UTC') (end of run), load average then: $(cut -d' ' -f1-3 /proc/loadavg); wrk -t1 -c64 -d${DURATION}s," \
    "$ROUNDS rounds, server on CPU $SERVER_CPU, wrk on CPU $WRK_CPU; RSA floor (openssl speed rsa2048 verify/s, CPU $SERVER_CPU): ${FLOOR:-n/a}"
  echo
  python3 "$HERE/tables.py" "$RESULTS" "${FLOOR:-0}" "$MEMORY" "$INSTRUCTIONS" "$MEMORY_TOKENS"
} | tee "$WORK/results.md"
