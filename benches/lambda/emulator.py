#!/usr/bin/env python3
"""A Lambda Runtime API emulator for benches/lambda/run.sh, on 127.0.0.1.

    emulator.py run --name NAME --bench BENCH_JSON --out OUT_JSON [--cpu N] [--env K=V ...] -- CMD...
    emulator.py table OUT_JSON...

`run` starts CMD (pinned with `taskset -c N`) with AWS_LAMBDA_RUNTIME_API and the usual Lambda
environment, serves it REST TOKEN authorizer events one at a time, in phases:

    first     one valid token (the first invocation)
    warmup    distinct valid tokens (not reported)
    distinct  distinct valid tokens (each verified once: RSA every time)
    repeated  the first invocation's token again and again (a verified-token cache can answer)
    junk      "Bearer not-a-jwt" and three-part garbage (rejected before RSA)

and records, with time.perf_counter_ns: the spawn, the first `next` (init done), each event
handed out and each answer; the function's CPU time (the sum of its threads' on-CPU
nanoseconds from /proc/<pid>/task/*/schedstat, read while it waits in `next`, so phases do not
blur), its peak RSS (VmHWM) and the TCP connections it opened to the Runtime API. Valid tokens
must be answered, junk must fail; anything else fails the run. `table` prints the markdown
table of several runs (the median of each figure over the runs of a name).
"""
import argparse
import json
import os
import signal
import socket
import socketserver
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


def cpu_ns(pid):
    """The process's on-CPU time so far: its live threads' schedstat plus its exited threads'
    (the difference of the process's utime+stime and the live threads' ticks is too coarse,
    so exited threads are only in the process totals read at the end)."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                pass
    except FileNotFoundError:
        return None
    return total


def vm_hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return None


def events(bench, distinct, repeated, junk, warmup):
    tokens = bench["tokens"]
    need = 1 + warmup + distinct
    if len(tokens) < need:
        sys.exit(f"bench.json has {len(tokens)} tokens, {need} needed")
    arn = "arn:aws:execute-api:eu-west-1:123456789012:bench0api/prod/GET/"

    def event(token):
        return {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": arn}

    out = [("first", event(tokens[0]), True)]
    out += [("warmup", event(t), True) for t in tokens[1 : 1 + warmup]]
    out += [("distinct", event(t), True) for t in tokens[1 + warmup : need]]
    out += [("repeated", event(tokens[0]), True) for _ in range(repeated)]
    garbage = ["not-a-jwt", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA", "a.b.c"]
    out += [("junk", event(garbage[i % len(garbage)]), False) for i in range(junk)]
    return out


class Emulator:
    def __init__(self, plan, check):
        self.plan = plan
        self.check = check
        self.pid = None
        self.lock = threading.Condition()
        self.handed = 0  # events handed out
        self.answered = 0
        self.records = []  # per event: [phase, handed_ns, answered_ns, ok, expected_ok]
        self.init_ns = None
        self.cpu_marks = {}  # phase -> CPU ns when its first event was handed out
        self.connections = 0
        self.requests = 0
        self.init_error = None
        self.wrong = []
        self.sizes = {}  # phase -> the bytes of its first answer

    def next_event(self):
        with self.lock:
            now = time.perf_counter_ns()
            if self.init_ns is None:
                self.init_ns = now
                self.cpu_marks["init"] = cpu_ns(self.pid)
            # One invocation at a time: the previous must be answered first.
            while self.answered < self.handed:
                self.lock.wait()
            if self.handed >= len(self.plan):
                self.cpu_marks.setdefault("end", cpu_ns(self.pid))
                self.lock.notify_all()
                return None
            phase, event, expected = self.plan[self.handed]
            if phase not in self.cpu_marks:
                self.cpu_marks[phase] = cpu_ns(self.pid)
            request_id = str(uuid.uuid4())
            self.records.append([phase, time.perf_counter_ns(), None, None, expected, request_id])
            self.handed += 1
            return request_id, event

    def answer(self, request_id, ok, body):
        now = time.perf_counter_ns()
        with self.lock:
            record = self.records[-1]
            if record[5] != request_id or record[2] is not None:
                self.wrong.append(f"an answer for {request_id}, not the current invocation")
            record[2], record[3] = now, ok
            self.sizes.setdefault(record[0], len(body))
            if self.check and ok != record[4]:
                self.wrong.append(f"{record[0]}: {'answered' if ok else 'failed'}: {body[:200]!r}")
            self.answered += 1
            self.lock.notify_all()


def handler_for(emu):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            # As Lambda's own Runtime API server: no Nagle delay on small answers.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with emu.lock:
                emu.connections += 1

        def log_message(self, *args):
            pass

        def reply(self, status, body=b"", headers=()):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            # Head and body in one write, as a Go net/http server sends a small answer: a
            # client may read the whole answer at once.
            self._headers_buffer.append(b"\r\n" + body)
            self.flush_headers()

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                return self.rfile.read(n)
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            return b""

        def do_GET(self):
            emu.requests += 1
            if self.path != f"{PREFIX}/invocation/next":
                return self.reply(404, b'{"errorMessage":"not found"}')
            got = emu.next_event()
            if got is None:
                # No more events: park, as Lambda does, until the process is stopped.
                time.sleep(3600)
                return
            request_id, event = got
            deadline = int(time.time() * 1000) + 30_000
            self.reply(
                200,
                json.dumps(event).encode(),
                [
                    ("Lambda-Runtime-Aws-Request-Id", request_id),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                    ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:bench"),
                    ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
                ],
            )

        def do_POST(self):
            emu.requests += 1
            parts = self.path[len(PREFIX) :].strip("/").split("/")
            body = self.body()
            if parts == ["init", "error"]:
                emu.init_error = body.decode(errors="replace")
                return self.reply(202, b'{"status":"OK"}')
            if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                emu.answer(parts[1], parts[2] == "response", body)
                return self.reply(202, b'{"status":"OK"}')
            return self.reply(404, b'{"errorMessage":"not found"}')

    return Handler


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def run(args):
    bench = json.load(open(args.bench))
    plan = events(bench, args.distinct, args.repeated, args.junk, args.warmup)
    emu = Emulator(plan, not args.no_check)
    socketserver.TCPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(emu))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    env = dict(os.environ)
    env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
            "AWS_LAMBDA_FUNCTION_NAME": args.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{args.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]bench",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": "eu-west-1",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "_HANDLER": "bootstrap",
            "LAMBDA_TASK_ROOT": os.getcwd(),
            "TZ": ":UTC",
        }
    )
    for kv in args.env or []:
        k, _, v = kv.partition("=")
        env[k] = v
    stderr = open(args.out + ".stderr", "w")
    spawn_ns = time.perf_counter_ns()
    proc = subprocess.Popen(["taskset", "-c", str(args.cpu), *args.cmd], env=env, stdout=stderr, stderr=stderr)
    emu.pid = proc.pid
    deadline = time.monotonic() + args.timeout
    while True:
        with emu.lock:
            done = emu.answered >= len(plan)
        if done or proc.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    # Wait for the `next` after the last answer, so the end mark is taken while it waits.
    end_wait = time.monotonic() + 5
    while "end" not in emu.cpu_marks and proc.poll() is None and time.monotonic() < end_wait:
        time.sleep(0.005)
    hwm = vm_hwm_kb(proc.pid)
    exited = proc.poll()
    if exited is None:
        # SIGTERM first, as Lambda does (a profiler under it writes its results then).
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    # wait4 may find it reaped by proc.wait above: then only its children's usage is left.
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except ChildProcessError:
        import resource
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    server.shutdown()
    stderr.close()
    failures = list(emu.wrong)
    if emu.init_error:
        failures.append(f"init error: {emu.init_error}")
    if exited is not None:
        failures.append(f"the function exited ({exited}) after {emu.answered} answers")
    if emu.answered < len(plan):
        failures.append(f"{emu.answered} of {len(plan)} events answered")
    marks = emu.cpu_marks
    phases = [p for p in ("first", "warmup", "distinct", "repeated", "junk") if any(r[0] == p for r in plan)]
    order = ["init", *phases, "end"]
    result = {
        "name": args.name,
        "load": open("/proc/loadavg").read().split()[:3],
        "init_ms": ((emu.init_ns or spawn_ns) - spawn_ns) / 1e6,
        "init_cpu_ms": (marks.get("init") or 0) / 1e6,
        "rss_kb": hwm,
        "connections": emu.connections,
        "requests": emu.requests,
        "cpu_total_ms": (usage.ru_utime + usage.ru_stime) * 1000,
        "binary_bytes": args.binary_bytes,
        "failures": failures,
        "phases": {},
    }
    for i, phase in enumerate(phases):
        latencies = [(r[2] - r[1]) / 1e3 for r in emu.records if r[0] == phase and r[2] is not None]
        start, stop = marks.get(phase), marks.get(order[i + 2])
        cpu_us = (stop - start) / 1e3 / len(latencies) if latencies and start is not None and stop is not None else None
        result["phases"][phase] = {
            "n": len(latencies),
            "median_us": statistics.median(latencies) if latencies else None,
            "p99_us": pct(latencies, 0.99) if latencies else None,
            "cpu_us": cpu_us,
            "answer_bytes": emu.sizes.get(phase),
        }
    json.dump(result, open(args.out, "w"), indent=1)
    if failures:
        print(f"{args.name}: FAILED: {failures[:5]} (stderr in {args.out}.stderr)", file=sys.stderr)
        sys.exit(1)


def table(args):
    runs = {}
    for path in args.results:
        r = json.load(open(path))
        runs.setdefault(r["name"], []).append(r)

    def med(rs, f):
        values = [v for v in (f(r) for r in rs) if v is not None]
        return statistics.median(values) if values else None

    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    names = list(runs)
    print(f"| function | init ms | init CPU ms | first inv ms | warm distinct median / p99 us | CPU us/inv distinct | "
          f"repeated median / p99 us | CPU us/inv repeated | junk median / p99 us | CPU us/inv junk | "
          f"peak RSS MiB | binary MiB | Runtime API conns / requests |")
    print("| --- |" + " ---: |" * 12)
    for name in names:
        rs = runs[name]
        ph = lambda p, k: med(rs, lambda r: r["phases"].get(p, {}).get(k))
        size = med(rs, lambda r: r["binary_bytes"])
        print(
            f"| {name} | {fmt(med(rs, lambda r: r['init_ms']), '.1f')} | {fmt(med(rs, lambda r: r['init_cpu_ms']), '.1f')} "
            f"| {fmt((ph('first', 'median_us') or 0) / 1e3, '.2f')} "
            f"| {fmt(ph('distinct', 'median_us'), '.0f')} / {fmt(ph('distinct', 'p99_us'), '.0f')} | {fmt(ph('distinct', 'cpu_us'), '.0f')} "
            f"| {fmt(ph('repeated', 'median_us'), '.0f')} / {fmt(ph('repeated', 'p99_us'), '.0f')} | {fmt(ph('repeated', 'cpu_us'), '.0f')} "
            f"| {fmt(ph('junk', 'median_us'), '.0f')} / {fmt(ph('junk', 'p99_us'), '.0f')} | {fmt(ph('junk', 'cpu_us'), '.0f')} "
            f"| {fmt((med(rs, lambda r: r['rss_kb']) or 0) / 1024, '.1f')} | {fmt(size / 2**20 if size else None, '.1f')} "
            f"| {fmt(med(rs, lambda r: r['connections']), '.0f')} / {fmt(med(rs, lambda r: r['requests']), '.0f')} |"
        )
    # The targets, as ratios within this run: against the floor (init and warm latency within
    # 2x) and against the peer (at least 5x less CPU per invocation).
    floor = "floor-1t" if "floor-1t" in runs else "floor"
    if floor in runs and "node" in runs:
        fl, nd = runs[floor], runs["node"]
        m = lambda rs, f: med(rs, f)
        ph = lambda rs, p, k: med(rs, lambda r: r["phases"].get(p, {}).get(k))
        ratio = lambda a, b: "-" if not a or not b else f"{a / b:.2f}"
        print(f"\nAgainst {floor} and node:\n")
        print("| function | init x floor | init CPU x floor | warm median x floor: distinct / repeated / junk | "
              "node CPU per invocation / this: distinct / repeated / junk |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name in names:
            if name in ("floor", "floor-1t", "node"):
                continue
            rs = runs[name]
            warm = " / ".join(ratio(ph(rs, p, "median_us"), ph(fl, p, "median_us")) for p in ("distinct", "repeated", "junk"))
            cpu = " / ".join(ratio(ph(nd, p, "cpu_us"), ph(rs, p, "cpu_us")) for p in ("distinct", "repeated", "junk"))
            print(f"| {name} | {ratio(m(rs, lambda r: r['init_ms']), m(fl, lambda r: r['init_ms']))} "
                  f"| {ratio(m(rs, lambda r: r['init_cpu_ms']), m(fl, lambda r: r['init_cpu_ms']))} | {warm} | {cpu} |")
    loads = sorted({" ".join(r["load"]) for rs in runs.values() for r in rs})
    print(f"\n{len(next(iter(runs.values())))} run(s) per function, medians shown; load average at the end of each run: {', '.join(loads)}")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--name", required=True)
    r.add_argument("--bench", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--cpu", default="1")
    r.add_argument("--env", action="append")
    r.add_argument("--warmup", type=int, default=20)
    r.add_argument("--distinct", type=int, default=300)
    r.add_argument("--repeated", type=int, default=300)
    r.add_argument("--junk", type=int, default=300)
    r.add_argument("--timeout", type=float, default=120)
    r.add_argument("--binary-bytes", type=int)
    # The floor answers every event alike: nothing to check.
    r.add_argument("--no-check", action="store_true")
    r.add_argument("cmd", nargs="+")
    t = sub.add_parser("table")
    t.add_argument("results", nargs="+")
    args = parser.parse_args()
    (run if args.command == "run" else table)(args)


if __name__ == "__main__":
    main()
