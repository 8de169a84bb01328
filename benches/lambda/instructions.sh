#!/usr/bin/env bash
# Instructions per warm invocation with a repeated token (valgrind callgrind, user space; exact
# whatever the load): the authorizer demo and the bare floor (current-thread runtime) under the
# Runtime API emulator, each run twice, with 200 and 600 repeated-token events after the first
# one; the difference over 400 leaves out start-up. Prints one line per function.
#
# Usage: bash benches/lambda/instructions.sh   (BENCH_PROFILE: the cargo profile, default release)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PROFILE="${BENCH_PROFILE:-release}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN_DIR="$TARGET/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")"
WORK="$ROOT/benches/lambda/.work"
mkdir -p "$WORK"
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
cargo build -q --profile "$PROFILE" -p cognito-lambda-authorizer-demo --bin cognito-lambda-authorizer-demo \
  -p cognito-lambda-bench-floor --bin lambda-floor
cargo build -q -p cognito-lambda-authorizer-demo --example lambda_fixture

rm -rf "$WORK/fixture" && mkdir -p "$WORK/ins"
"$TARGET/debug/examples/lambda_fixture" "$WORK/fixture" crates/cognito-lambda/tests/events 400 >"$WORK/fixture.log" 2>&1 &
fixture=$!
trap 'kill "$fixture" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -e "$WORK/fixture/ready" ] && break; sleep 0.1; done
[ -e "$WORK/fixture/ready" ] || { cat "$WORK/fixture.log"; echo "the fixture did not start" >&2; exit 1; }
BENCH="$WORK/fixture/bench.json"
field() { python3 -c "import json,sys; print(json.load(open('$BENCH'))[sys.argv[1]])" "$1"; }

count() { # name [--no-check] -- command...: instructions per warm repeated invocation
  local name="$1" check=() totals=()
  shift
  [ "$1" = --no-check ] && { check=(--no-check); shift; }
  shift
  for n in 200 600; do
    python3 benches/lambda/emulator.py run --name "$name" --bench "$BENCH" --out "$WORK/ins/$name-$n.json" --cpu 1 \
      --warmup 0 --distinct 0 --junk 0 --repeated "$n" --timeout 600 "${check[@]}" \
      --env "COGNITO_SETTINGS=$WORK/fixture/settings.yaml" --env "ISSUER=$(field issuer)" \
      --env "JWKS_URL=$(field jwks_url)" --env "CLIENT_ID=$(field client_id)" \
      -- valgrind --tool=callgrind --callgrind-out-file="$WORK/ins/$name-$n.cg" "$@" >/dev/null 2>&1
    totals+=("$(awk '/^(summary|totals):/ { print $2; exit }' "$WORK/ins/$name-$n.cg")")
  done
  echo "$name: $(((totals[1] - totals[0]) / 400)) instructions per warm repeated-token invocation ($PROFILE profile)"
}
count ours -- "$BIN_DIR/cognito-lambda-authorizer-demo"
# The floor on a current-thread runtime, as the demo runs (the emulator passes its environment on).
FLOOR_CURRENT_THREAD=1 count floor-1t --no-check -- "$BIN_DIR/lambda-floor"
