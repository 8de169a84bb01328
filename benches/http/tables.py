"""The tables of benches/http/run.sh, from its raw rows.

Usage: tables.py RESULTS FLOOR MEMORY INSTRUCTIONS MEMORY_TOKENS

RESULTS: one row per server, scenario and round (name, scenario, requests, wall req/s, p99 ms,
server CPU s, requests per server CPU-s, non-2xx, round). Each table row is the round whose
requests per CPU-second is the median of that server's and scenario's rounds (the lower middle
for an even count), with the range of all rounds beside it; every ratio is of two medians.
FLOOR: openssl's RSA-2048 verifications per second on the server's core. MEMORY: name,
requests, RSS MB, peak RSS MB, requests per CPU-s. INSTRUCTIONS: name, scenario, round,
instructions per request.
"""

import sys
from statistics import median_low

SCENARIOS = ["health", "health_token", "health_close", "repeated", "layered", "repeated_nometrics", "distinct", "verify", "check", "check_open"]
# Each demo against the floor server of its own stack (one RSA check per request, nothing else).
FLOOR_SERVER = {"axum": "floor", "actix": "floor", "floor": "floor", "rocket": "rocket_floor", "rocket_floor": "rocket_floor"}


def read(path):
    try:
        with open(path) as f:
            return [line.rstrip("\n").split("\t") for line in f if line.strip()]
    except FileNotFoundError:
        return []


def grouped(rows, key, value):
    """{key: [rows]} in first-seen order, each group sorted by value."""
    groups = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    for k in groups:
        groups[k].sort(key=value)
    return groups


def per_cpu(row):
    try:
        return float(row[6])
    except ValueError:
        return 0.0


def main():
    results, floor, memory, instructions, memory_tokens = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    groups = grouped(read(results), lambda r: (r[0], r[1]), per_cpu)
    # The median round of each (server, scenario).
    med = {k: rows[(len(rows) - 1) // 2] for k, rows in groups.items()}
    per = {k: per_cpu(row) for k, row in med.items()}
    servers = list(dict.fromkeys(k[0] for k in groups))

    def ratio(a, b, fmt="{:.2f}"):
        return fmt.format(a / b) if a and b else "-"

    print("| server | scenario | requests | req/s (wall) | p99 ms | server CPU s | req per server CPU-s (median) | rounds: range | x own /health | x RSA floor | x aws-jwt-verify | x fastapi-cognito | non-2xx |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for server in servers:
        for scen in SCENARIOS:
            k = (server, scen)
            if k not in med:
                continue
            row, rows = med[k], groups[k]
            rng = f"{int(per_cpu(rows[0]))}-{int(per_cpu(rows[-1]))}" if len(rows) > 1 else "-"
            other = scen != "health"
            own = ratio(per[k], per.get((server, "health"))) if other else "-"
            fl = ratio(per[k], floor) if other else "-"
            xn = ratio(per[k], per.get(("node", scen))) if other else "-"
            xf = ratio(per[k], per.get(("fastapi", scen)), "{:.1f}") if other else "-"
            print(f"| {server} | {scen} | {row[2]} | {row[3]} | {row[4]} | {row[5]} | {row[6]} | {rng} | {own} | {fl} | {xn} | {xf} | {row[7]} |")

    # The targets: each demo against its own limit for a distinct token (one RSA verification
    # plus its own cost of a request: 1 / (1/floor + 1/health), per server CPU-s) and against
    # the floor server of its stack, a fixed token against its own /health, the layer against
    # the extractor, the recorder on against off, the authenticated gRPC Check against an open one.
    def goal(a, b, target):
        if not a or not b:
            return "-"
        r = a / b
        return f"{r:.2f} {'(met)' if r >= target else '(missed)'}"

    print()
    print("| demo | limit: 1/(1/floor + 1/health) | distinct / limit (>= 0.90) | distinct / its floor server | /health / its floor server's | new connection: /health / its floor server's | fixed / health (>= 0.85) | fixed / health with token | layer / extractor (>= 0.95) | recorder on / off (>= 0.95) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for server in ("floor", "axum", "actix", "rocket_floor", "rocket"):
        health = per.get((server, "health"))
        if not health:
            continue
        get = lambda s: per.get((server, s))
        limit = 1 / (1 / floor + 1 / health) if floor else None
        fs = FLOOR_SERVER[server]
        print(f"| {server} | {int(limit) if limit else '-'} | {goal(get('distinct'), limit, 0.9)} "
              f"| {ratio(get('distinct'), per.get((fs, 'distinct')))} | {ratio(health, per.get((fs, 'health')))} "
              f"| {ratio(get('health_close'), per.get((fs, 'health_close')))} "
              f"| {goal(get('repeated'), health, 0.85)} | {ratio(get('repeated'), get('health_token'))} "
              f"| {goal(get('layered'), get('repeated'), 0.95)} | {goal(get('repeated'), get('repeated_nometrics'), 0.95)} |")
    check, open_ = per.get(("tonic", "check")), per.get(("tonic", "check_open"))
    if check:
        print(f"\ntonic: authenticated Check / open Check (>= 0.90): {goal(check, open_, 0.9)}")

    mem = read(memory)
    if mem:
        print()
        print(f"| server | requests over {memory_tokens} distinct tokens (the demos' token cache on: every one a miss) | RSS MB after | peak RSS MB | req per server CPU-s | x RSA floor |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for name, total, rss, hwm, p in mem:
            print(f"| {name} | {total} | {rss} | {hwm} | {p} | {ratio(float(p) if p != 'n/a' else 0, floor)} |")

    ins = grouped(read(instructions), lambda r: (r[0], r[1]), lambda r: int(r[3]))
    if ins:
        count = {k: int(median_low([int(r[3]) for r in rows])) for k, rows in ins.items()}
        print()
        print("Instructions per request (callgrind, user space, median of 3; every request carries the token):")
        print()
        print("| server | route | instructions / request | rounds | x /health with token | layer / extractor (<= 1.05) | layer / do-nothing layer |")
        print("| --- | --- | ---: | --- | ---: | ---: | ---: |")
        for (server, scen), n in count.items():
            rounds = ", ".join(r[3] for r in sorted(ins[(server, scen)], key=lambda r: r[2]))
            base = count.get((server, "health_token"))
            vs_health = f"{n / base:.2f}" if base and scen != "health_token" else "-"
            layer, noop = "-", "-"
            if scen == "layered" and count.get((server, "repeated")):
                r = n / count[(server, "repeated")]
                layer = f"{r:.3f} {'(met)' if r <= 1.05 else '(missed)'}"
            if scen == "layered" and count.get((server, "noop")):
                noop = f"{n / count[(server, 'noop')]:.3f}"
            if scen == "noop" and count.get((server, "repeated")):
                noop = f"{n / count[(server, 'repeated')]:.3f} (do-nothing layer / extractor)"
            print(f"| {server} | {scen} | {n} | {rounds} | {vs_health} | {layer} | {noop} |")


main()
