"""Measured runs: wrk against a server (directly or through its nginx), the server's CPU time and
memory from /proc, the probes that decide whether wrk's numbers mean what the scenario claims,
and the runs paced to the best peer's rate."""
import json
import os
import shlex
import subprocess

import procs
import report

BENCH = os.path.dirname(os.path.abspath(__file__))
WRK_TIMEOUT = "5s"        # a request unanswered this long counts as a wrk timeout error
PROBE_SECONDS = 3.0       # how long the keep-alive probe keeps the scenario's connections busy
PACING_PROBE_SECONDS = 2  # each short run that sets the wait before a paced run
PACING_PROBES = 6         # at most this many
PACING_TOLERANCE = 0.05   # a paced run may land this far above the peer's rate
PACED_ROUNDS = 3          # paced runs per configuration (fewer when --rounds is lower)


def cores():
    return len(os.sched_getaffinity(0))


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
    """None when the server answers the scenario's request correctly, else what is wrong. Raises
    OSError while nobody answers yet, and while nginx says its server is not there yet (502/504)."""
    body = b"b" * scenario.post_bytes if scenario.post_bytes else None
    status, got = procs.http_check(port, scenario.method, scenario.path, body, request_headers(scenario))
    if scenario.family == "nginx" and status in (502, 504):
        raise ConnectionError(f"nginx answers {status}: its server is not answering yet")
    return check_answer(scenario, status, got)


def raw_request(scenario):
    body = b"b" * scenario.post_bytes if scenario.post_bytes else None
    return procs.raw_request(scenario.method, scenario.path, body, request_headers(scenario))


def connection_probe(scenario, port):
    """What the server does with a connection after a response: {"closed", "said_close",
    "complete"} (procs.after_response); raises OSError when it does not answer."""
    return procs.after_response(port, raw_request(scenario), 5.0, linger=1.0 if scenario.close else 0.5)


def closing_note(after):
    """The note for a server that closes after each response, or None."""
    if not after["closed"] or not after["complete"]:
        return None
    if after["said_close"]:
        return "a new connection per request (answers Connection: close)"
    return "a new connection per request, closed without saying Connection: close"


def behaviour_probe(scenario, port, connections, seconds=PROBE_SECONDS):
    """{"flags", "notes", "closes_silently"}: what makes wrk's numbers for this server unlike the
    scenario they claim to measure. Flagged (cannot be best peer): "Connection: close" ignored
    (wrk then keeps reusing the connection), or fewer than half of the scenario's connections
    answered while all are kept busy, the way wrk keeps them (a server serving one keep-alive
    connection per worker). Noted only: some connections unanswered in that time (an unfair
    server under overload), and a server that closes every connection after its response: it
    pays a connection per request, which wrk counts correctly (one response each) apart from a
    read error per response when the server does not say Connection: close; those read errors
    are not counted as errors (report.counted_errors)."""
    flags, notes = [], []
    try:
        after = connection_probe(scenario, port)
        if not after["complete"]:
            flags.append("no complete response to the probe's request within 5 s")
        elif scenario.close and not after["closed"]:
            flags.append("ignores Connection: close (keeps the connection open, so wrk reuses it)")
        if closing_note(after) and not scenario.close:
            notes.append(closing_note(after))
        closes_silently = after["closed"] and after["complete"] and not after["said_close"]
        if not scenario.close:
            answered = procs.keepalive_probe(port, raw_request(scenario), connections, seconds)
            text = f"{answered} of {connections} busy keep-alive connections answered in {seconds:g} s"
            if answered < connections / 2:
                flags.append(f"starves connections: {text}")
            elif answered < connections:
                notes.append(text)
    except OSError as e:
        return {"flags": [f"the connection probe failed: {e}"], "notes": [], "closes_silently": False}
    return {"flags": flags, "notes": notes, "closes_silently": closes_silently}


def wrk_argv(scenario, port, connections, seconds):
    argv = ["wrk", "-t", str(min(cores(), connections)), "-c", str(connections), "-d", f"{seconds:g}s",
            "--timeout", WRK_TIMEOUT, "--latency", "-s", os.path.join(BENCH, "wrk_report.lua")]
    if scenario.close:
        argv += ["-H", "Connection: close"]
    return argv + [f"http://127.0.0.1:{port}{scenario.path}"]


def wrk_env(scenario, delay_ms=0.0, t0=None):
    """wrk_report.lua's settings: the POST body, the pacing wait, and (t0: a time.monotonic()
    value) counting the responses of each second from t0."""
    env = dict(os.environ, BENCH_POST_BYTES=str(scenario.post_bytes), BENCH_DELAY_MS=f"{delay_ms:.3f}")
    if t0 is not None:
        env["BENCH_T0"] = f"{t0:.6f}"
    return env


def parse_wrk(stdout):
    """(wrk's summary, {second: responses} or None) from wrk_report.lua's lines; (None, None) if absent."""
    summary = seconds = None
    for line in stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            summary = json.loads(line[len("BENCH_RESULT "):])
        elif line.startswith("BENCH_SECONDS "):
            seconds = {int(k): v for k, v in json.loads(line[len("BENCH_SECONDS "):]).items()}
    return summary, seconds


def run_wrk(scenario, port, connections, seconds, log, delay_ms=0.0):
    """(wrk's summary as a dict, None) or (None, what went wrong)."""
    argv = wrk_argv(scenario, port, connections, seconds)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env=wrk_env(scenario, delay_ms),
                              timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        return None, "wrk did not finish in time"
    log.write(f"$ {shlex.join(argv)}\n{done.stdout}{done.stderr}\n")
    summary, _ = parse_wrk(done.stdout)
    if summary is None:
        return None, f"wrk exited {done.returncode}: {(done.stderr or done.stdout).strip()[-300:]}"
    return summary, None


def summarize(wrk):
    """The per-run numbers of a wrk summary: rate, latency, errors."""
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
        # Little's law: the requests the server had in hand on average (approximate: requests
        # still unanswered when wrk stops are not counted).
        "served_concurrency": (requests / duration) * wrk["lat_mean_us"] / 1e6 if duration else 0.0,
    }


def measure(server, scenario, connections, seconds, log, delay_ms=0.0):
    """One measured run: wrk plus the server's CPU time and memory from /proc (every process of
    its tree), and those of the nginx in front of it, if any, apart."""
    pids, front = server.pids(), server.front_pids()
    cpu0, front0 = procs.cpu_seconds(pids), procs.cpu_seconds(front)
    load = os.getloadavg()[0]
    wrk, error = run_wrk(scenario, server.port, connections, seconds, log, delay_ms)
    pids, front = server.pids(), server.front_pids()
    cpu, front_cpu = procs.cpu_seconds(pids) - cpu0, procs.cpu_seconds(front) - front0
    rss, pss = procs.memory_mb(pids)
    if wrk is None:
        return {"error": error}
    run = summarize(wrk)
    run.update(rss_mb=rss, pss_mb=pss, processes=len(pids), loadavg_before=load,
               cpu_us_per_req=cpu * 1e6 / run["requests"] if run["requests"] else None,
               cpu_cores=cpu / run["duration_s"] if run["duration_s"] else None)
    duration = run["duration_s"]
    if front:
        front_rss, front_pss = procs.memory_mb(front)
        run.update(front_cpu_cores=front_cpu / duration if duration else None, front_rss_mb=front_rss,
                   front_pss_mb=front_pss)
    return run


def paced_runs(scenario, started, connections, args, results, log):
    """Each jwsgi configuration faster than the best peer runs again, paced to the peer's median
    rate: its p99 at the same load as the peer's.

    In the rounds each server runs flat out, so each p99 is at that server's own top rate (and
    a server that answers more requests queues more of them at once). Here each connection waits
    between a response and its next request (exponentially, see wrk_report.lua), so that
    connections / (mean wait + latency) comes to the peer's rate. Short probe runs find the wait,
    until one lands at the peer's rate or up to PACING_TOLERANCE above it (never an easier load),
    or PACING_PROBES ran.
    """
    servers = report.aggregate(results).get(scenario.name, {})
    best = report.best_peer(servers)
    if not best:
        return
    target = servers[best]["rps"]
    for name, server in started.items():
        own = servers.get(name)
        if not name.startswith("jwsgi") or not own or not own["rps"] or own["rps"] <= target:
            continue
        delay_ms = _find_wait(server, scenario, connections, target, own["rps"], log)
        if delay_ms is None:
            continue
        for rnd in range(1, min(args.rounds, PACED_ROUNDS) + 1):
            run = measure(server, scenario, connections, args.duration, log, delay_ms)
            run.update(scenario=scenario.name, server=name, round=rnd, connections=connections, peer=best,
                       target_rps=target, delay_ms=delay_ms)
            results["paced"].append(run)
            print(f"   paced to {best}'s {target:,.0f} rps: " + report.run_line(run), flush=True)


def _find_wait(server, scenario, connections, target, own_rps, log):
    """The mean wait (ms) that paces the server to target rps or a little above; None on failure."""
    # The rate falls as the wait grows, steeply near the server's own top rate: search the wait by
    # halving, between one that gives too high a rate (no wait at all) and one that gives too low
    # a rate (the whole cycle at the peer's rate, as if the server answered at once).
    too_short, too_long = 0.0, connections * 1000 / target
    delay_ms = max(0.0, too_long - connections * 1000 / own_rps)
    for _ in range(PACING_PROBES):
        probe = measure(server, scenario, connections, PACING_PROBE_SECONDS, log, delay_ms)
        if "error" in probe or not probe["rps"]:
            return None
        if probe["rps"] < target:
            too_long = delay_ms
        elif probe["rps"] > target * (1 + PACING_TOLERANCE):
            too_short = delay_ms
        else:
            return delay_ms
        delay_ms = (too_short + too_long) / 2
    return too_short  # no probe landed in the band: the nearest wait known to load the server more
