#!/usr/bin/python3
"""jwsgi benchmark: jwsgi against gunicorn, uWSGI and waitress on this machine, with two ceilings.

Run through bench/run (it finds a JDK >= 25, installs the Debian packages, builds jwsgi).
For each scenario (an app, a request, keep-alive or not) every server is started once, checked
to answer correctly, warmed up, then measured with wrk in interleaved rounds (round 1 runs every
server once, then round 2, ...); the report gives medians. The ceilings: the same app called in a
plain Python loop (bench/ceiling.py), and raw Jetty answering the same bytes (bench/RawJetty.java).
See docs/benchmarks.md for the method and how to read the results.
"""
import argparse
import dataclasses
import datetime
import json
import os
import platform
import re
import shlex
import signal
import subprocess
import sys

import procs
import report

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
APPS = os.path.join(BENCH, "apps")
PYTHON = "/usr/bin/python3"

# =============================================================================================
# SERVER COMMAND LINES: edit here. docs/benchmarks.md says where each configuration comes from.
#
# One entry per server: "peer" (whether it competes for "best peer"), the signal that stops it,
# a short label, and a command per kind of scenario: "cpu" (apps that keep the CPU busy) and "io"
# (the long I/O app); a server without a command for a kind is not run there. Placeholders:
#   {port} {app} (MODULE:CALLABLE) {apps} (bench/apps) {python} {java} {jar} {lib} {bench}
#   {launcher}        ./jwsgi, the launcher users run (it gives the master its JVM options)
#   {cores}           CPU cores of this machine (nproc)
#   {g_workers}       gunicorn's recommended worker count: 2 * cores + 1
#   {g_threads}       gunicorn's recommended threads for gthread: 2 * cores (docs: 2-4 x cores)
#   {io_threads}      IO_THREADS: the threads a server gets in total for the long I/O scenario
#   {io_threads_per_proc}  IO_THREADS divided among the server's processes ({cores} of them)
#   {jwsgi_workers}   "-w {cores}" when this jwsgi has multi-process workers, else "" (see
#                     JWSGI_PROCESSES below); {jwsgi_io_threads}: IO_THREADS per jwsgi process
#   {raw_bytes}       body size raw Jetty answers (scenarios that have a raw Jetty ceiling)
# =============================================================================================
IO_THREADS = 256

SERVERS = {
    "jwsgi": {
        "peer": False, "stop": signal.SIGTERM,
        "label": {"cpu": "{jwsgi_procs} proc x 1 thread", "io": "{jwsgi_procs} proc x {jwsgi_io_threads} threads"},
        "cpu": "{launcher} --python {python} --chdir {apps} -b 127.0.0.1:{port} {jwsgi_workers} --threads 1 {app}",
        "io": "{launcher} --python {python} --chdir {apps} -b 127.0.0.1:{port} {jwsgi_workers} --threads {jwsgi_io_threads} {app}",
    },
    "gunicorn-sync": {
        "peer": True, "stop": signal.SIGTERM,
        "label": {"cpu": "{g_workers} workers", "io": "{g_workers} workers"},
        "cpu": "/usr/bin/gunicorn -w {g_workers} -b 127.0.0.1:{port} --chdir {apps} {app}",
        "io": "/usr/bin/gunicorn -w {g_workers} -b 127.0.0.1:{port} --chdir {apps} {app}",
    },
    "gunicorn-gthread": {
        "peer": True, "stop": signal.SIGTERM,
        "label": {"cpu": "{g_workers} workers x {g_threads} threads", "io": "{g_workers} workers x {g_threads} threads"},
        "cpu": "/usr/bin/gunicorn -k gthread -w {g_workers} --threads {g_threads} -b 127.0.0.1:{port} --chdir {apps} {app}",
        "io": "/usr/bin/gunicorn -k gthread -w {g_workers} --threads {g_threads} -b 127.0.0.1:{port} --chdir {apps} {app}",
    },
    # The long I/O bar: gthread with its default threads (1 per worker).
    "gunicorn-gthread-default": {
        "peer": True, "stop": signal.SIGTERM,
        "label": {"io": "{g_workers} workers x 1 thread"},
        "io": "/usr/bin/gunicorn -k gthread -w {g_workers} -b 127.0.0.1:{port} --chdir {apps} {app}",
    },
    # uWSGI's own HTTP router in front of the workers: what its docs recommend when uWSGI faces
    # clients itself; --http-keepalive keeps connections open.
    "uwsgi": {
        "peer": True, "stop": signal.SIGINT,
        "label": {"cpu": "router + {cores} processes", "io": "router + {cores} processes x {io_threads_per_proc} threads"},
        "cpu": "/usr/bin/uwsgi --plugins http,python3 --http 127.0.0.1:{port} --http-keepalive --master --processes {cores} "
               "--chdir {apps} --module {app} --disable-logging --die-on-term --need-app --listen 1024",
        "io": "/usr/bin/uwsgi --plugins http,python3 --http 127.0.0.1:{port} --http-keepalive --master --processes {cores} "
              "--threads {io_threads_per_proc} --chdir {apps} --module {app} --disable-logging --die-on-term --need-app --listen 1024",
    },
    # Workers speaking HTTP/1.1 themselves: fast, but a worker (thread) serves one keep-alive
    # connection for as long as its client keeps sending, so with more connections than workers
    # most clients wait; it also ignores "Connection: close". The harness probes both and flags
    # it, and a flagged server cannot be best peer. Not run for long I/O, where uwsgi (router +
    # threads) represents uWSGI.
    "uwsgi-http11": {
        "peer": True, "stop": signal.SIGINT,
        "label": {"cpu": "{cores} processes, --http11-socket"},
        "cpu": "/usr/bin/uwsgi --plugin python3 --http11-socket 127.0.0.1:{port} --master --processes {cores} "
               "--chdir {apps} --module {app} --disable-logging --die-on-term --need-app --listen 1024",
    },
    "waitress": {
        "peer": True, "stop": signal.SIGTERM,
        "label": {"cpu": "4 threads (default)", "io": "{io_threads} threads"},
        "cpu": "/usr/bin/waitress-serve --listen=127.0.0.1:{port} {app}",
        "io": "/usr/bin/waitress-serve --listen=127.0.0.1:{port} --threads={io_threads} --connection-limit=1024 {app}",
    },
    # Ceiling: the HTTP layer alone, no Python (only in scenarios with raw_bytes).
    "raw-jetty": {
        "peer": False, "stop": signal.SIGTERM,
        "label": {"cpu": "Jetty 12, no Python"},
        "cpu": "{java} -cp {lib}/* {bench}/RawJetty.java {port} {raw_bytes}",
    },
}

# jwsgi's processes: "-w N --threads 1" when it has multi-process workers (issue 6), else one
# process. "auto" asks `jwsgi --help`; set 1 to force a single process.
JWSGI_PROCESSES = "auto"


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    app: str
    path: str
    what: str
    kind: str = "cpu"              # "cpu" or "io": which server command line to use
    method: str = "GET"
    post_bytes: int = 0
    close: bool = False            # send "Connection: close" (a new connection per request)
    connections: int = 0           # 0: --connections
    raw_bytes: int = 0             # raw Jetty ceiling with this body size; 0: none
    expect_prefix: bytes = b""
    expect_contains: bytes = b""
    expect_len: int = -1


SCENARIOS = [
    Scenario("hello", "plain:hello", "/", "1 KB body", raw_bytes=1024, expect_prefix=b"x" * 64, expect_len=1024),
    Scenario("hello-close", "plain:hello", "/", "1 KB body", close=True, raw_bytes=1024,
             expect_prefix=b"x" * 64, expect_len=1024),
    Scenario("echo-10k", "plain:echo", "/", "POST 10 KB, echoed", method="POST", post_bytes=10240,
             expect_prefix=b"b" * 64, expect_len=10240),
    Scenario("big-100k", "plain:big", "/", "100 KB body", raw_bytes=102400, expect_prefix=b"x" * 64, expect_len=102400),
    Scenario("flask-json", "flask_app:app", "/json", "Flask jsonify", expect_prefix=b"{", expect_contains=b"Hello, World!"),
    Scenario("flask-json-close", "flask_app:app", "/json", "Flask jsonify", close=True,
             expect_prefix=b"{", expect_contains=b"Hello, World!"),
    Scenario("flask-template", "flask_app:app", "/template", "Flask + Jinja, 12 rows",
             expect_prefix=b"<!DOCTYPE html>", expect_contains=b"Flask fortunes"),
    Scenario("django-json", "djsite.wsgi:application", "/json", "Django JsonResponse",
             expect_prefix=b"{", expect_contains=b"Hello, World!"),
    Scenario("django-template", "djsite.wsgi:application", "/template", "Django template, 12 rows",
             expect_prefix=b"<!DOCTYPE html>", expect_contains=b"Django fortunes"),
    Scenario("long-io", "plain:sleep", "/", "app sleeps 10 ms", kind="io", connections=512, expect_prefix=b"slept 10 ms"),
]
QUICK_SCENARIOS = ["hello", "flask-json"]
WRK_TIMEOUT = "5s"       # a request unanswered this long counts as a wrk timeout error
START_TIMEOUT = 90       # seconds a server may take to answer its first request
PROBE_SECONDS = 3.0      # how long the keep-alive probe keeps the scenario's connections busy
PACING_PROBE_SECONDS = 2  # each short run that sets the wait before jwsgi's runs paced to the best peer's rate
PACING_PROBES = 6         # at most this many
PACING_TOLERANCE = 0.05   # a paced run may land this far above the peer's rate


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 2 s runs, 1 s warm-up, 1 round, scenarios " + ",".join(QUICK_SCENARIOS))
    p.add_argument("--duration", type=float, help="seconds per measured run (default 10; quick 2)")
    p.add_argument("--warmup", type=float, help="seconds of warm-up per server and scenario (default 20: a JVM's JIT needs it here; quick 1)")
    p.add_argument("--rounds", type=int, help="interleaved rounds; the report gives medians (default 3; quick 1)")
    p.add_argument("--connections", type=int, default=64, help="wrk connections for scenarios without their own (default 64)")
    p.add_argument("--scenarios", help="comma-separated scenario names (default: all): " + ",".join(s.name for s in SCENARIOS))
    p.add_argument("--servers", help="comma-separated server names (default: all): " + ",".join(SERVERS))
    p.add_argument("--no-install", action="store_true", help="do not install missing Debian packages (read by bench/run)")
    p.add_argument("--chart", help="where to write the PNG chart (default: docs/bench.png after a full run of every scenario and server, else the results folder)")
    p.add_argument("--out", help="results folder (default: bench/results/<timestamp>)")
    p.add_argument("--selfcheck", action="store_true", help="check the apps and the app-alone loop, start no server (a few seconds)")
    args = p.parse_args(argv)
    quick = args.quick
    args.duration = args.duration or (2.0 if quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if quick else 20.0)
    args.rounds = args.rounds or (1 if quick else 3)
    if args.duration <= 0 or args.rounds < 1 or args.warmup < 0 or args.connections < 1:
        p.error("--duration and --connections must be positive, --rounds at least 1, --warmup not negative")
    return args, p


def pick(names, table, what, parser):
    known = [n for n in table]
    if not names:
        return known
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in known]
    if unknown:
        parser.error(f"unknown {what} {', '.join(unknown)}; choose from {', '.join(known)}")
    return [n for n in known if n in chosen]


def cores():
    return len(os.sched_getaffinity(0))


def java_bin():
    home = os.environ.get("JAVA_HOME")
    if not home or not os.access(os.path.join(home, "bin", "java"), os.X_OK):
        sys.exit("bench: JAVA_HOME must point to a JDK >= 25; run the benchmark through bench/run, which finds one.")
    return os.path.join(home, "bin", "java")


def jwsgi_processes(java, jar):
    """How many processes jwsgi runs for the cpu scenarios: `cores` if it supports -w, else 1."""
    if JWSGI_PROCESSES != "auto":
        return int(JWSGI_PROCESSES)
    help_text = subprocess.run([java, "-jar", jar, "--help"], capture_output=True, text=True, timeout=60).stdout
    return cores() if re.search(r"(^|\s)-w[,=\s]|--workers", help_text) else 1


def command_context(java, jar, jwsgi_procs):
    n = cores()
    return {
        "java": java, "jar": jar, "lib": os.path.join(ROOT, "target", "lib"), "bench": BENCH,
        "launcher": os.path.join(ROOT, "jwsgi"),
        "apps": APPS, "python": PYTHON, "cores": n, "g_workers": 2 * n + 1, "g_threads": 2 * n,
        "io_threads": IO_THREADS, "io_threads_per_proc": max(1, IO_THREADS // n),
        "jwsgi_procs": jwsgi_procs, "jwsgi_workers": f"-w {jwsgi_procs}" if jwsgi_procs > 1 else "",
        "jwsgi_io_threads": max(1, IO_THREADS // jwsgi_procs),
    }


def server_command(name, scenario, context, port):
    """(argv, label) for a server in a scenario, or None when it has no command for that kind."""
    spec = SERVERS[name]
    if scenario.kind not in spec or (name == "raw-jetty" and not scenario.raw_bytes):
        return None
    values = dict(context, port=port, app=scenario.app, raw_bytes=scenario.raw_bytes)
    return shlex.split(spec[scenario.kind].format(**values)), spec["label"][scenario.kind].format(**values)


def request_headers(scenario):
    headers = {"Host": "127.0.0.1"}
    if scenario.close:
        headers["Connection"] = "close"
    if scenario.post_bytes:
        headers["Content-Type"] = "application/octet-stream"
    return headers


def check_answer(scenario, status, body):
    """None when the response is the one the scenario expects, else what is wrong."""
    if status != 200:
        return f"status {status}, expected 200; body starts {body[:120]!r}"
    if not body.startswith(scenario.expect_prefix):
        return f"body starts {body[:60]!r}, expected {scenario.expect_prefix[:60]!r}"
    if scenario.expect_contains and scenario.expect_contains not in body:
        return f"body lacks {scenario.expect_contains!r}: {body[:120]!r}"
    if scenario.expect_len >= 0 and len(body) != scenario.expect_len:
        return f"body has {len(body)} bytes, expected {scenario.expect_len}"
    return None


def verify(scenario, port):
    body = b"b" * scenario.post_bytes if scenario.post_bytes else None
    status, got = procs.http_check(port, scenario.method, scenario.path, body, request_headers(scenario))
    return check_answer(scenario, status, got)


def behaviour_probe(scenario, port, connections):
    """(flags, notes): what makes wrk's numbers for this server unlike the scenario they claim
    to measure. Flagged (cannot be best peer): "Connection: close" ignored (wrk then keeps reusing
    the connection), or fewer than half of the scenario's connections answered while all are
    kept busy, the way wrk keeps them (a server serving one keep-alive connection per worker).
    Noted only: some connections unanswered in that time (an unfair server under overload)."""
    headers = request_headers(scenario)
    body = b"b" * scenario.post_bytes if scenario.post_bytes else None
    request = procs.raw_request(scenario.method, scenario.path, body, headers)
    try:
        if scenario.close:
            if not procs.closes_after_response(port, request, 5.0):
                return ["ignores Connection: close (keeps the connection open, so wrk reuses it)"], []
            return [], []
        answered = procs.keepalive_probe(port, request, connections, PROBE_SECONDS)
    except OSError as e:
        return [f"the connection probe failed: {e}"], []
    text = f"{answered} of {connections} busy keep-alive connections answered in {PROBE_SECONDS:g} s"
    if answered < connections / 2:
        return [f"starves connections: {text}"], []
    return [], ([text] if answered < connections else [])


def run_wrk(scenario, port, connections, seconds, log, delay_ms=0.0):
    argv = ["wrk", "-t", str(min(cores(), connections)), "-c", str(connections), "-d", f"{seconds:g}s",
            "--timeout", WRK_TIMEOUT, "--latency", "-s", os.path.join(BENCH, "wrk_report.lua")]
    if scenario.close:
        argv += ["-H", "Connection: close"]
    argv.append(f"http://127.0.0.1:{port}{scenario.path}")
    env = dict(os.environ, BENCH_POST_BYTES=str(scenario.post_bytes), BENCH_DELAY_MS=f"{delay_ms:.3f}")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        return None, "wrk did not finish in time"
    log.write(f"$ {shlex.join(argv)}\n{done.stdout}{done.stderr}\n")
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line[len("BENCH_RESULT "):]), None
    return None, f"wrk exited {done.returncode}: {(done.stderr or done.stdout).strip()[-300:]}"


def measure(server, scenario, connections, seconds, log, delay_ms=0.0):
    """One measured run: wrk plus the server tree's CPU time and memory from /proc."""
    cpu0 = procs.cpu_seconds(server.pids())
    load = os.getloadavg()[0]
    wrk, error = run_wrk(scenario, server.port, connections, seconds, log, delay_ms)
    pids = server.pids()
    cpu = procs.cpu_seconds(pids) - cpu0
    rss, pss = procs.memory_mb(pids)
    if wrk is None:
        return {"error": error}
    requests = wrk["requests"]
    duration = wrk["duration_us"] / 1e6
    errors = {k: wrk[k] for k in ("connect", "read", "write", "status", "timeout")}
    return {
        "rps": requests / duration if duration else 0.0,
        "requests": requests,
        "duration_s": duration,
        "p50_ms": wrk["lat_p50_us"] / 1000, "p90_ms": wrk["lat_p90_us"] / 1000,
        "p99_ms": wrk["lat_p99_us"] / 1000, "max_ms": wrk["lat_max_us"] / 1000,
        "mean_ms": wrk["lat_mean_us"] / 1000,
        "errors": errors, "errors_total": sum(errors.values()),
        "rss_mb": rss, "pss_mb": pss, "processes": len(pids),
        "cpu_us_per_req": cpu * 1e6 / requests if requests else None,
        # Little's law: the requests the server had in hand on average (approximate: requests
        # still unanswered when wrk stops are not counted).
        "served_concurrency": (requests / duration) * wrk["lat_mean_us"] / 1e6 if duration else 0.0,
        "loadavg_before": load,
    }


def app_alone(scenario, seconds):
    """The app-alone ceiling in a fresh interpreter."""
    argv = [PYTHON, os.path.join(BENCH, "ceiling.py"), APPS, scenario.app, scenario.path, scenario.method,
            str(scenario.post_bytes), str(seconds)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=4 * seconds + 60)
    except subprocess.TimeoutExpired:
        return {"error": "the app-alone loop did not finish in time"}
    if done.returncode != 0:
        return {"error": f"the app-alone loop failed: {done.stderr.strip()[-500:]}"}
    return json.loads(done.stdout)


def run_scenario(scenario, server_names, context, args, results, out_dir):
    connections = scenario.connections or args.connections
    ceiling_seconds = 1.0 if args.quick else 2.0
    started = {}
    log = open(os.path.join(out_dir, f"wrk-{scenario.name}.log"), "w")
    print(f"\n== {scenario.name}: {scenario.method} {scenario.path} ({scenario.what}), "
          f"{'Connection: close' if scenario.close else 'keep-alive'}, {connections} connections", flush=True)
    try:
        for name in server_names:
            port = procs.free_port()
            built = server_command(name, scenario, context, port)
            if built is None:
                continue
            argv, label = built
            server = procs.Server(name, argv, APPS, server_env(), os.path.join(out_dir, f"{name}-{scenario.name}.log"),
                                  port, SERVERS[name]["stop"])
            started[name] = server
            problem = server.wait_ready(lambda: verify(scenario, port), START_TIMEOUT)
            results["servers"].setdefault(scenario.name, {})[name] = {
                "command": shlex.join(argv), "label": label, "peer": SERVERS[name]["peer"], "start_problem": problem,
                "template": shlex.join(server_command(name, scenario, context, "PORT")[0])}
            if problem:
                print(f"   {name}: NOT MEASURED: {problem}\n{indent(server.log_tail())}", flush=True)
                results["failures"].append({"scenario": scenario.name, "server": name, "problem": problem,
                                            "log": server.log_tail()})
                server.stop()
                del started[name]
                continue
            flags, notes = behaviour_probe(scenario, port, connections)
            results["servers"][scenario.name][name].update(flags=flags, notes=notes)
            print(f"   {name}: ready ({label}), pid {server.pid}" + "".join(f"; FLAGGED: {f}" for f in flags)
                  + "".join(f"; note: {n}" for n in notes), flush=True)
        if args.warmup > 0:
            for name, server in started.items():
                run_wrk(scenario, server.port, connections, args.warmup, log)
        order = list(started)
        for rnd in range(1, args.rounds + 1):
            ceiling = app_alone(scenario, ceiling_seconds)
            ceiling.update(scenario=scenario.name, round=rnd)
            results["app_alone"].append(ceiling)
            # Rotate the order each round so no server always runs right after the same one.
            shift = (rnd - 1) % max(1, len(order))
            for name in order[shift:] + order[:shift]:
                server = started[name]
                problem = server.wait_ready(lambda: verify(scenario, server.port), 10)
                run = {"error": f"not answering correctly before the run: {problem}"} if problem else \
                    measure(server, scenario, connections, args.duration, log)
                run.update(scenario=scenario.name, server=name, round=rnd, connections=connections)
                results["runs"].append(run)
                print("   " + report.run_line(run), flush=True)
        paced_runs(scenario, started, connections, args, results, log)
    finally:
        for server in started.values():
            server.request_stop()
        for name, server in started.items():
            leftovers = server.stop()
            if [p for p in leftovers if p != server.pid]:
                print(f"   {name}: killed leftover processes {leftovers}", flush=True)
        log.close()


def paced_runs(scenario, started, connections, args, results, log):
    """jwsgi again, paced to the best peer's median rate: its p99 at the same load as the peer's.

    In the rounds each server runs flat out, so each p99 is at that server's own top rate (and
    a server that answers more requests queues more of them at once). Here each connection waits
    between a response and its next request (exponentially, see wrk_report.lua), so that
    connections / (mean wait + jwsgi's latency) comes to the peer's rate. Short probe runs find
    the wait, until one lands at the peer's rate or up to PACING_TOLERANCE above it (never an
    easier load), or PACING_PROBES ran.
    """
    servers = report.aggregate(results).get(scenario.name, {})
    jw, best = servers.get("jwsgi"), report.best_peer(servers)
    if "jwsgi" not in started or not jw or not jw["rps"] or not best or servers[best]["rps"] >= jw["rps"]:
        return
    target = servers[best]["rps"]
    # The rate falls as the wait grows, steeply near jwsgi's own top rate: search the wait by
    # halving, between one that gives too high a rate (no wait at all) and one that gives too low
    # a rate (the whole cycle at the peer's rate, as if jwsgi answered at once).
    too_short, too_long = 0.0, connections * 1000 / target
    delay_ms = max(0.0, too_long - connections * 1000 / jw["rps"])
    for _ in range(PACING_PROBES):
        probe = measure(started["jwsgi"], scenario, connections, PACING_PROBE_SECONDS, log, delay_ms)
        if "error" in probe or not probe["rps"]:
            return
        if probe["rps"] < target:
            too_long = delay_ms
        elif probe["rps"] > target * (1 + PACING_TOLERANCE):
            too_short = delay_ms
        else:
            break
        delay_ms = (too_short + too_long) / 2
    else:
        delay_ms = too_short  # no probe landed in the band: the nearest wait known to load jwsgi more
    for rnd in range(1, args.rounds + 1):
        run = measure(started["jwsgi"], scenario, connections, args.duration, log, delay_ms)
        run.update(scenario=scenario.name, server="jwsgi", round=rnd, connections=connections, peer=best,
                   target_rps=target, delay_ms=delay_ms)
        results["paced"].append(run)
        print(f"   paced to {best}'s {target:,.0f} rps: " + report.run_line(run), flush=True)


def server_env():
    env = dict(os.environ)
    # The peers must run on Debian's python3 like jwsgi embeds it; no pyenv or venv leaking in.
    for key in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYENV_VERSION"):
        env.pop(key, None)
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    return env


def indent(text):
    return "\n".join("      | " + line for line in text.splitlines())


def versions(java):
    def out(argv):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            return (done.stdout + done.stderr).strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError):
            return "unavailable"

    def deb(pkg):
        return out(["dpkg-query", "-W", "-f=${Version}", pkg])

    return {
        "python": out([PYTHON, "--version"]), "java": out([java, "-version"]),
        "gunicorn": deb("gunicorn"), "uwsgi": deb("uwsgi"), "waitress": deb("python3-waitress"),
        "flask": deb("python3-flask"), "django": deb("python3-django"), "wrk": deb("wrk"),
        "jwsgi": out(["git", "-C", ROOT, "describe", "--always", "--dirty"]),
        "kernel": platform.release(),
    }


def selfcheck():
    """Each scenario's app answers as expected through the app-alone loop; the command tables
    format. Starts no server; takes a few seconds."""
    import ceiling
    failures = []
    context = command_context("java", "jwsgi.jar", 2)
    for scenario in SCENARIOS:
        try:
            app = ceiling.load_app(APPS, scenario.app)
            template = ceiling.environ_template(scenario.path, scenario.method, scenario.post_bytes)
            status, body = ceiling.call_once(app, template, b"b" * scenario.post_bytes)
            problem = check_answer(scenario, int(status.split()[0]), body)
            if scenario.kind == "cpu":
                ceiling.measure(app, template, b"b" * scenario.post_bytes, 0.05)
        except Exception as e:  # a broken app must be reported, whatever it raised
            problem = f"{type(e).__name__}: {e}"
        for name in SERVERS:
            try:
                server_command(name, scenario, context, 8000)
            except (KeyError, IndexError, ValueError) as e:
                failures.append(f"server {name}, scenario {scenario.name}: bad command template: {e}")
        if problem:
            failures.append(f"scenario {scenario.name} ({scenario.app} {scenario.path}): {problem}")
    for failure in failures:
        print("bench selfcheck: " + failure, file=sys.stderr)
    print(f"selfcheck: {len(SCENARIOS) * (1 + len(SERVERS)) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


def main(argv):
    args, parser = parse_args(argv)
    if args.selfcheck:
        return selfcheck()
    scenario_names = pick(args.scenarios or (",".join(QUICK_SCENARIOS) if args.quick else None),
                          {s.name: s for s in SCENARIOS}, "scenario", parser)
    scenarios = [s for s in SCENARIOS if s.name in scenario_names]
    server_names = pick(args.servers, SERVERS, "server", parser)
    java = java_bin()
    jar = os.path.join(ROOT, "target", "jwsgi.jar")
    if not os.path.exists(jar):
        sys.exit(f"bench: {jar} is missing; bench/run builds it (mvn -q package -DskipTests).")
    jwsgi_procs = jwsgi_processes(java, jar)
    context = command_context(java, jar, jwsgi_procs)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = args.out or os.path.join(BENCH, "results", stamp + ("-quick" if args.quick else ""))
    os.makedirs(out_dir, exist_ok=True)
    # Only a full run (every scenario and server, >= 3 rounds of >= 10 s) replaces the README's chart.
    full = (not args.quick and len(scenarios) == len(SCENARIOS) and len(server_names) == len(SERVERS)
            and args.rounds >= 3 and args.duration >= 10)
    chart = args.chart or (os.path.join(ROOT, "docs", "bench.png") if full else os.path.join(out_dir, "bench.png"))

    load = os.getloadavg()
    results = {
        "meta": {
            "started": datetime.datetime.now().isoformat(timespec="seconds"), "cores": cores(),
            "quick": args.quick, "duration_s": args.duration, "warmup_s": args.warmup, "rounds": args.rounds,
            "connections": args.connections, "io_threads": IO_THREADS, "jwsgi_processes": jwsgi_procs,
            "jwsgi_mode": (f"-w {jwsgi_procs} --threads 1 (multi-process workers)" if jwsgi_procs > 1
                           else "one process, --threads 1 (this jwsgi has no -w)"),
            "loadavg_start": load, "versions": versions(java),
        },
        "scenarios": {s.name: dataclasses.asdict(s) | {"expect_prefix": None, "expect_contains": None}
                      for s in scenarios},
        "servers": {}, "runs": [], "paced": [], "app_alone": [], "failures": [],
    }
    per_run = args.duration + 1.5
    runs = sum(1 for s in scenarios for n in server_names if server_command(n, s, context, 0))
    # Per scenario: each round's app-alone loop (~3 s) and jwsgi's paced run.
    estimate = (runs * (args.rounds * per_run + args.warmup + PROBE_SECONDS + 4)
                + len(scenarios) * (args.rounds * (3 + per_run) + 3 * (PACING_PROBE_SECONDS + 1.5)))
    print(f"jwsgi benchmark: {len(scenarios)} scenarios, {len(server_names)} servers, {args.rounds} round(s) of "
          f"{args.duration:g} s, about {estimate / 60:.0f} min. jwsgi: {results['meta']['jwsgi_mode']}.")
    print(f"results: {out_dir}")
    if load[0] > 0.5:
        print(f"WARNING: load average {load[0]:.2f} before starting: the machine is busy, so these numbers "
              f"measure the load as much as the servers. Run again when it is quiet.", flush=True)

    def stop_on_signal(signum, frame):
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second signal must not cut the clean-up short
        raise SystemExit(f"bench: stopped by signal {signum}; stopping the servers")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop_on_signal)
    try:
        for scenario in scenarios:
            run_scenario(scenario, server_names, context, args, results, out_dir)
            write_json(results, out_dir)
    finally:
        results["meta"]["loadavg_end"] = os.getloadavg()
        results["meta"]["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
        write_json(results, out_dir)
    text = report.markdown(results)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(text)
    print("\n" + text)
    chart_problem = report.chart(results, chart)
    print(f"chart: {chart}" if chart_problem is None else f"chart not written: {chart_problem}")
    print(f"results: {os.path.join(out_dir, 'results.md')} and results.json")
    return 0


def write_json(results, out_dir):
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
