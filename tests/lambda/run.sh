#!/usr/bin/env bash
# The Lambda authorizer demo under a real Lambda runtime emulator: `cargo lambda watch` (the
# `cargo-lambda` package on PyPI; installed with pip if missing) serves the Lambda Runtime API
# on 127.0.0.1, and `cargo lambda invoke` sends it REST TOKEN, REST REQUEST and HTTP API 2.0
# events (the shapes API Gateway sends) for every decision: allow, deny, unauthorized (the
# invocation fails with exactly "Unauthorized") and the JWKS down (it fails with another
# message). IAM policy answers are evaluated as IAM does (an explicit Deny wins, then any
# Allow) for the event's ARN; HTTP API events are sent once more to the demo answering with
# the simple response. Exits non-zero if any answer is wrong. Everything listens on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"
work="$(mktemp -d)"
pids=()
# Each background process leads its own process group (setsid), so stopping it stops what it
# started too (cargo lambda watch runs the function through cargo run).
cleanup() {
    for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

if ! cargo lambda --version >/dev/null 2>&1; then
    python3 -m pip install --quiet cargo-lambda
fi
cargo lambda --version

cargo build -q -p cognito-lambda-authorizer-demo --bins --example lambda_fixture
setsid "${CARGO_TARGET_DIR:-$repo/target}/debug/examples/lambda_fixture" "$work/fixture" "$repo/crates/cognito-lambda/tests/events" \
    >"$work/fixture.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -e "$work/fixture/ready" ] && break; sleep 0.1; done
[ -e "$work/fixture/ready" ] || { cat "$work/fixture.log"; echo "the fixture did not start"; exit 1; }

# A port nothing listens on yet, on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts `cargo lambda watch` for the demo with these settings (and HTTP_API_RESPONSE, default
# iam_policy); its port in $watch_port.
# (Not called in a command substitution: the pid must reach `pids` in this shell.)
watch() {
    local settings="$1" log="$2" response="${3:-iam_policy}" port
    port="$(free_port)"
    setsid cargo lambda watch --quiet --ignore-changes -A 127.0.0.1 -P "$port" \
        -p cognito-lambda-authorizer-demo --bin cognito-lambda-authorizer-demo \
        --env-var "COGNITO_SETTINGS=$settings" --env-var "HTTP_API_RESPONSE=$response" >"$log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 300); do
        (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { watch_port="$port"; return; }
        sleep 0.2
    done
    cat "$log" >&2
    echo "cargo lambda watch did not start" >&2
    return 1
}

failures=0
checked=0
# Invokes the function with one event file and checks the answer its name announces:
# <kind>-<allow|deny|unauthorized|unavailable>-<what>.json; with a third argument "simple",
# an HTTP API answer must be the simple response.
check() {
    local port="$1" event="$2" shape="${3:-}" name kind expect out err rc=0
    name="$(basename "$event" .json)"
    kind="${name%%-*}"
    expect="$(echo "$name" | cut -d- -f2)"
    out="$work/out.txt"
    err="$work/err.txt"
    cargo lambda invoke -A 127.0.0.1 -P "$port" -F "$event" cognito-lambda-authorizer-demo >"$out" 2>"$err" || rc=$?
    if python3 - "$kind" "$expect" "$rc" "$out" "$err" "$event" "$shape" <<'PY'
import json, re, sys
kind, expect, rc, out, err, event, shape = sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:]
stdout, stderr = open(out).read(), open(err).read()
def fail(why):
    print(f"  {why}\n  stdout: {stdout.strip()[:400]}\n  stderr: {stderr.strip()[:400]}")
    sys.exit(1)
if expect in ("allow", "deny"):
    if rc != 0:
        fail(f"the invocation failed (exit {rc})")
    answer = json.loads(stdout)
    allowed = expect == "allow"
    sub = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    if kind == "http" and shape == "simple":
        if answer.get("isAuthorized") is not allowed:
            fail(f"isAuthorized is not {allowed}")
    else:
        # IAM: an explicit Deny wins, then any Allow; * any run of characters, ? one.
        source = json.load(open(event))
        arn = source.get("methodArn") or source["routeArn"]
        def hit(glob):
            return re.fullmatch("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob), arn, re.S)
        effects = {s["Effect"] for s in answer["policyDocument"]["Statement"]
                   if any(hit(r) for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]))}
        decided = "Deny" not in effects and "Allow" in effects
        if decided is not allowed:
            fail(f"the policy does not {'allow' if allowed else 'deny'} {arn}")
        if answer.get("principalId") != sub:
            fail("principalId is not the sub")
    context = answer.get("context", {})
    if context.get("sub") != sub or not all(isinstance(v, str) for v in context.values()):
        fail("the context is not the user's, flat")
else:
    # cargo lambda prints "Error: <errorType>" and "× <errorMessage>" for a failed invocation.
    if rc == 0:
        fail("the invocation succeeded")
    messages = re.findall(r"^\s*× (.*)$", stderr, re.M)
    if not messages:
        fail("no error message")
    if expect == "unauthorized" and messages[0].strip() != "Unauthorized":
        fail(f"the message is {messages[0]!r}, not exactly 'Unauthorized'")
    if expect == "unavailable" and messages[0].strip() in ("", "Unauthorized"):
        fail(f"the message is {messages[0]!r}, not a retryable failure's")
PY
    then
        echo "ok   $name"
    else
        echo "FAIL $name"
        failures=$((failures + 1))
    fi
    checked=$((checked + 1))
}

watch "$work/fixture/settings.yaml" "$work/watch.log"
port="$watch_port"
for event in "$work"/fixture/*-allow-*.json "$work"/fixture/*-deny-*.json "$work"/fixture/*-unauthorized-*.json; do
    check "$port" "$event"
done
# The raw answer of the emulator's invoke endpoint, for one failure: exactly the message.
python3 - "$port" "$work/fixture/token-unauthorized-expired.json" <<'PY'
import json, sys, urllib.error, urllib.request
port, event = sys.argv[1], sys.argv[2]
url = f"http://127.0.0.1:{port}/2015-03-31/functions/cognito-lambda-authorizer-demo/invocations"
request = urllib.request.Request(url, data=open(event, "rb").read(), method="POST")
try:
    urllib.request.urlopen(request, timeout=30)
    sys.exit("FAIL the invocation of an expired token succeeded")
except urllib.error.HTTPError as e:  # the emulator answers a failed invocation with a 500
    body = json.loads(e.read())
if body.get("errorMessage") != "Unauthorized":
    sys.exit(f"FAIL raw error body {body}")
print("ok   raw error body:", json.dumps(body))
PY

# HTTP API events again, answered with the simple response (the demo's deployment would key
# the authorizer's cache by route).
watch "$work/fixture/settings.yaml" "$work/watch-simple.log" simple_cache_key_includes_route
simple_port="$watch_port"
for event in "$work"/fixture/http-allow-*.json "$work"/fixture/http-deny-*.json; do
    check "$simple_port" "$event" simple
done

# Keys cannot be had at init: the demo still starts, and answers with a retryable failure.
watch "$work/fixture/settings-down.yaml" "$work/watch-down.log"
down_port="$watch_port"
for event in "$work"/fixture/*-unavailable-*.json; do
    check "$down_port" "$event"
done
if ! grep -q "jwks_unavailable" "$work/watch-down.log"; then
    cat "$work/watch-down.log"
    echo "FAIL the function did not log the refusals' kind"
    failures=$((failures + 1))
fi

echo "$((checked - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
