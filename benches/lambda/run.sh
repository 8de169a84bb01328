#!/usr/bin/env bash
# The Lambda authorizer demo against the floor (a bare lambda_runtime function) and the peer
# (aws-jwt-verify on Node.js), under one Lambda Runtime API emulator (emulator.py), each
# function pinned to one core, over the same REST TOKEN events: distinct valid tokens, one
# token repeated, junk. Prints the markdown table BENCHMARKS.md shows. Everything on 127.0.0.1.
#
# Usage: bash benches/lambda/run.sh
#   BENCH_CPU      the core the functions run on (default 1; the emulator and JWKS get the others)
#   BENCH_RUNS     runs per function, the median shown (default 3)
#   BENCH_PROFILE  the cargo profile of the two Rust functions (default lambda)
#   BENCH_ONLY     a space-separated subset of: ours ours-seeded floor floor-1t node
#                  (ours-seeded: the demo given the JWKS in a file, JWKS_SEED_FILE: no fetch at init;
#                  floor-1t: the floor on a current-thread runtime, as the demo runs)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
CPU="${BENCH_CPU:-1}"
RUNS="${BENCH_RUNS:-3}"
PROFILE="${BENCH_PROFILE:-lambda}"
ONLY="${BENCH_ONLY:-ours ours-seeded floor floor-1t node}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN_DIR="$TARGET/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")"
WORK="$ROOT/benches/lambda/.work"
OTHER_CPUS="$(python3 -c "import os; c=sorted(os.sched_getaffinity(0)); o=[x for x in c if x != $CPU]; print(','.join(map(str, o or c)))")"
mkdir -p "$WORK"
log() { echo "[lambda-bench] $*" >&2; }

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

log "building (profile $PROFILE)"
cargo build -q --profile "$PROFILE" -p cognito-lambda-authorizer-demo --bin cognito-lambda-authorizer-demo \
  -p cognito-lambda-bench-floor --bin lambda-floor
cargo build -q -p cognito-lambda-authorizer-demo --example lambda_fixture
if [ ! -d "$WORK/node_modules/aws-jwt-verify" ]; then
  log "installing aws-jwt-verify (npm)"
  (cd "$WORK" && { [ -f package.json ] || echo '{"name": "cognito-lambda-bench", "private": true}' >package.json; } \
    && npm install -q --no-audit --no-fund aws-jwt-verify >/dev/null)
fi
# ESM resolves packages next to the script: run the peer from .work.
cp benches/lambda/node_authorizer.mjs "$WORK/"

rm -rf "$WORK/fixture" "$WORK/results"
mkdir -p "$WORK/results"
taskset -c "$OTHER_CPUS" "$TARGET/debug/examples/lambda_fixture" "$WORK/fixture" crates/cognito-lambda/tests/events 400 \
  >"$WORK/fixture.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -e "$WORK/fixture/ready" ] && break; sleep 0.1; done
[ -e "$WORK/fixture/ready" ] || { cat "$WORK/fixture.log"; log "the fixture did not start"; exit 1; }
BENCH="$WORK/fixture/bench.json"
field() { python3 -c "import json,sys; print(json.load(open('$BENCH'))[sys.argv[1]])" "$1"; }
ISSUER="$(field issuer)"
JWKS_URL="$(field jwks_url)"
CLIENT_ID="$(field client_id)"
NODE="$(readlink -f "$(command -v node)")"
python3 -c "import json; json.dump(json.load(open('$BENCH'))['jwks'], open('$WORK/fixture/jwks.json', 'w'))"

run_one() { # name run binary-size [--no-check] -- command...
  local name="$1" i="$2" size="$3" check=()
  shift 3
  [ "$1" = --no-check ] && { check=(--no-check); shift; }
  shift
  taskset -c "$OTHER_CPUS" python3 "$ROOT/benches/lambda/emulator.py" run --name "$name" --bench "$BENCH" \
    --out "$WORK/results/$name-$i.json" --cpu "$CPU" --binary-bytes "$size" "${check[@]}" \
    --env "COGNITO_SETTINGS=$WORK/fixture/settings.yaml" --env "ISSUER=$ISSUER" --env "JWKS_URL=$JWKS_URL" \
    --env "CLIENT_ID=$CLIENT_ID" -- "$@"
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for i in $(seq 1 "$RUNS"); do
  for f in $ONLY; do
    log "run $i: $f"
    case "$f" in
      ours) run_one ours "$i" "$(stat -c %s "$BIN_DIR/cognito-lambda-authorizer-demo")" -- "$BIN_DIR/cognito-lambda-authorizer-demo" ;;
      ours-seeded) run_one ours-seeded "$i" "$(stat -c %s "$BIN_DIR/cognito-lambda-authorizer-demo")" \
        -- env "JWKS_SEED_FILE=$WORK/fixture/jwks.json" "$BIN_DIR/cognito-lambda-authorizer-demo" ;;
      floor) run_one floor "$i" "$(stat -c %s "$BIN_DIR/lambda-floor")" --no-check -- "$BIN_DIR/lambda-floor" ;;
      floor-1t) run_one floor-1t "$i" "$(stat -c %s "$BIN_DIR/lambda-floor")" --no-check \
        -- env FLOOR_CURRENT_THREAD=1 "$BIN_DIR/lambda-floor" ;;
      node) (cd "$WORK" && run_one node "$i" "$(stat -c %s "$NODE")" -- "$NODE" node_authorizer.mjs) ;;
    esac
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo
results=()
for f in $ONLY; do results+=("$WORK"/results/"$f"-*.json); done
python3 benches/lambda/emulator.py table "${results[@]}"
