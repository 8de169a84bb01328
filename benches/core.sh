#!/usr/bin/env bash
# The library benchmarks in one run (distinct tokens vs the RSA floor, one token repeated
# through the verified-token cache, rejections before RSA), pinned to one core, with the
# OpenSSL RSA-2048 verify rate of the same core, and a markdown table of the ratios and of the
# project's goal for each row (see BENCHMARKS.md).
#
# Usage: bash benches/core.sh        (CPU: env BENCH_CPU, default 1)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CPU="${BENCH_CPU:-1}"
cd "$ROOT"

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
OPENSSL=""
if command -v openssl >/dev/null; then
  OPENSSL="$(taskset -c "$CPU" openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { printf "%d", $NF }')"
  echo "openssl speed -seconds 3 rsa2048 (CPU $CPU): $OPENSSL verify/s ($(openssl version))" >&2
fi
rm -rf target/criterion
# Pinned: everything but the two-thread comparison, which needs both cores.
taskset -c "$CPU" cargo bench -q -p cognito-core --bench verify -- 'rsa_floor|valid|reject|tenants' >&2
# The same build with the metrics feature (the Prometheus recorder installed): group valid_metrics.
taskset -c "$CPU" cargo bench -q -p cognito-core --features metrics --bench verify -- 'valid_metrics' >&2
# Unpinned: one thread against two.
cargo bench -q -p cognito-core --bench verify -- 'scaling' >&2
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# criterion's mean per iteration (ns of CPU time) -> verifications per CPU-second.
rate() {
  python3 - "$1" <<'EOF'
import json, sys
est = json.load(open(f"target/criterion/{sys.argv[1]}/new/estimates.json"))
print(int(1e9 / est["mean"]["point_estimate"]))
EOF
}
FLOOR="$(rate rsa_floor/aws_lc_verify_sig)"
row() { # name goal-text
  local r; r="$(rate "$1")"
  local vs_floor vs_openssl
  vs_floor="$(awk -v a="$r" -v b="$FLOOR" 'BEGIN { printf "%.2f", a / b }')"
  vs_openssl="$(awk -v a="$r" -v b="${OPENSSL:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$r" "$vs_floor" "$vs_openssl" "$2"
}
echo
echo "| bench | verifications per CPU-second | x aws-lc floor | x openssl floor | goal |"
echo "| --- | ---: | ---: | ---: | --- |"
printf '| openssl speed rsa2048 verify | %s | | 1.00 | |\n' "${OPENSSL:-n/a}"
row rsa_floor/aws_lc_verify_sig "(floor)"
row valid/distinct_cache_off ">= 0.85 x floor"
row valid/distinct_cache_on ">= 0.85 x floor"
row valid/repeated_cache_off ""
row valid/repeated_cache_on ">= 2,000,000"
row valid/repeated_cache_on_with_group_requirement ">= 2,000,000"
row valid/repeated_cache_on_claims_ignored ""
row reject/malformed_not_three_parts ">= 3,000,000"
row reject/malformed_bad_base64 ">= 3,000,000"
row reject/expired ">= 1,000,000"
row reject/wrong_issuer ">= 1,000,000"
row reject/wrong_client ">= 1,000,000"
row tenants/fixed_pool_request ""
row tenants/tenant_request_warm ">= 0.9 x tenants/fixed_pool_request"
row valid_metrics/repeated_cache_on ">= 0.95 x valid/repeated_cache_on"
row valid_metrics/distinct_cache_off ""
echo
one="$(rate scaling/distinct_1_thread)"
two="$(rate scaling/distinct_2_thread)"
echo "| scaling (wall clock, unpinned) | verifications per second | x one thread | goal |"
echo "| --- | ---: | ---: | --- |"
echo "| one thread | $one | 1.00 | |"
echo "| two threads, one verifier | $two | $(awk -v a="$two" -v b="$one" 'BEGIN { printf "%.2f", a / b }') | >= 1.9 |"
echo "| metrics recorder on / off, one token repeated (cache hits) | | $(awk -v a="$(rate valid_metrics/repeated_cache_on)" -v b="$(rate valid/repeated_cache_on)" 'BEGIN { printf "%.3f", a / b }') | >= 0.95 |"
