"""bench/run --selfcheck (./test runs it): the parts of the benchmark that need no server, in a
few seconds. Each scenario's app answers as expected through the app-alone loop (the static
family's files are written by bench/static.py, not answered by the app); every command
template formats; nginx accepts each generated config (when nginx is installed); the report and
the chart, given a made-up run with known numbers, say what those numbers mean."""
import os
import sys
import tempfile

import ceiling
import chart
import measure
import nginx
import results_md
import scenarios as scenario_table
import servers


def check_apps(apps):
    failures = []
    checked = [s for s in scenario_table.SCENARIOS if s.family != "static"]  # files answer those, not the app
    for scenario in checked:
        try:
            app = ceiling.load_app(apps, scenario.app)
            template = ceiling.environ_template(scenario.path, scenario.method, scenario.post_bytes)
            status, body = ceiling.call_once(app, template, b"b" * scenario.post_bytes)
            problem = measure.check_answer(scenario, int(status.split()[0]), body)
            if scenario.kind == "cpu":
                ceiling.measure(app, template, b"b" * scenario.post_bytes, 0.05)
        except Exception as e:  # a broken app must be reported, whatever it raised
            problem = f"{type(e).__name__}: {e}"
        if problem:
            failures.append(f"scenario {scenario.name} ({scenario.app} {scenario.path}): {problem}")
    return len(checked), failures


def check_commands(context):
    failures = []
    for scenario in scenario_table.SCENARIOS:
        if not any(servers.runs_in(name, scenario) for name in servers.SERVERS):
            failures.append(f"scenario {scenario.name}: no configuration runs in it")
        for name in servers.SERVERS:
            try:
                if servers.runs_in(name, scenario):
                    servers.command(name, scenario, context, 8000)
            except (KeyError, IndexError, ValueError) as e:
                failures.append(f"server {name}, scenario {scenario.name}: bad command template: {e}")
    return len(scenario_table.SCENARIOS), failures


def check_nginx():
    if not os.access(nginx.NGINX, os.X_OK):
        return 0, []
    failures = []
    upstreams = ("http", "http-keepalive", "uwsgi", "static", "files")
    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as tmp:
        for upstream in upstreams:
            problem = nginx.check_config(upstream, os.path.join(tmp, upstream))
            if problem:
                failures.append(f"nginx rejects the config for upstream {upstream}: {problem}")
    return len(upstreams), failures


def _run(scenario, server, rnd, rps, read=0, p99=5.0):
    requests = int(rps * 5)
    errors = {"connect": 0, "read": read, "write": 0, "status": 0, "timeout": 0}
    return {"scenario": scenario, "server": server, "round": rnd, "connections": 64, "rps": rps, "requests": requests,
            "duration_s": 5.0, "p50_ms": 1.0, "p90_ms": 2.0, "p99_ms": p99, "max_ms": 9.0, "mean_ms": 1.5,
            "errors": errors, "errors_total": read, "rss_mb": 100.0, "pss_mb": 50.0, "processes": 3,
            "cpu_us_per_req": 50.0, "cpu_cores": 1.0, "served_concurrency": 10.0, "loadavg_before": 0.1,
            "front_cpu_cores": 0.4 if scenario.startswith("nginx") else None}


def _cold(server, rnd, per_second):
    requests = sum(per_second)
    return {"scenario": "cold-hello", "server": server, "round": rnd, "connections": 64, "startup_s": 1.0,
            "requests": requests, "errors": {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0},
            "errors_total": 0, "windows": [{"t_s": k, "duration_s": 1.0, "requests": n, "rps": n, "cpu_cores": 1.0}
                                           for k, n in enumerate(per_second)]}


def made_up_results():
    """A run with known numbers: jwsgi 20,000 and 22,000 rps against uwsgi-http-socket's 10,000
    (which closes silently: one read error per response, not counted) and a faster but flagged
    gunicorn-sync; behind nginx the same; a cold start where jwsgi reaches 90% of its warm rate
    in its third second."""
    info = lambda label, peer, **kw: {"label": label, "peer": peer, "flags": [], "notes": [], "closes_silently": False,
                                      "template": "", "upstream": None, **kw}
    names = ("hello", "nginx-hello", "cold-hello")
    results = {
        "meta": {"started": "2026-01-01T00:00:00", "cores": 2, "quick": False, "duration_s": 5.0, "warmup_s": 20.0,
                 "peer_warmup_s": 3.0, "rounds": 2, "cold_seconds": 10, "cold_rounds": 1, "connections": 64,
                 "loadavg_start": [0.1, 0.1, 0.1], "loadavg_end": [0.1, 0.1, 0.1], "jwsgi_mode": "-w 2 --threads 1",
                 "versions": {"jwsgi": "test", "kernel": "test"}},
        "scenarios": {n: dict(vars(scenario_table.BY_NAME[n]), close=False) for n in names},
        "servers": {
            "hello": {"jwsgi": info("2 proc x 1 thread", False),
                      "uwsgi-http-socket": info("2 processes", True, closes_silently=True),
                      "gunicorn-sync": info("5 workers", True, flags=["starves connections"])},
            "nginx-hello": {"jwsgi": info("2 proc x 1 thread", False, upstream="http"),
                            "uwsgi-socket": info("2 processes, uwsgi protocol", True, upstream="uwsgi")},
            "cold-hello": {"jwsgi": info("2 proc x 1 thread", False), "uwsgi-http-socket": info("2 processes", True)},
        },
        "runs": [], "paced": [], "app_alone": [], "failures": [],
        "cold": [_cold("jwsgi", 1, [2000, 10000, 19000] + [20000] * 7), _cold("uwsgi-http-socket", 1, [10000] * 10)],
    }
    for rnd, jw in ((1, 20000), (2, 22000)):
        results["runs"] += [_run("hello", "jwsgi", rnd, jw), _run("hello", "uwsgi-http-socket", rnd, 10000, read=50000),
                            _run("hello", "gunicorn-sync", rnd, 30000),
                            _run("nginx-hello", "jwsgi", rnd, jw / 2), _run("nginx-hello", "uwsgi-socket", rnd, 8000)]
    results["paced"].append(dict(_run("hello", "jwsgi", 1, 10200, p99=2.0), peer="uwsgi-http-socket",
                                 target_rps=10000.0, delay_ms=5.0))
    return results


def check_report():
    results = made_up_results()
    text = results_md.markdown(results)
    expected = {
        "the ratio of medians with the per-round ratios": "| 21,000 [20,000-22,000] | uwsgi-http-socket (2 processes) | "
                                                          "10,000 | 2.10x [2.00-2.20] |",
        "a flagged peer is not best": "| gunicorn-sync | 5 workers (FLAGGED: starves connections) |",
        "silent closes are not counted": "100,000 read errors not counted",
        "behind nginx": "| nginx-hello | 2 proc x 1 thread | 10,500 [10,000-11,000] | uwsgi-socket (2 processes, uwsgi "
                        "protocol) | 8,000 | 1.31x [1.25-1.38] |",
        "the first seconds against the best peer": "over the first 10 s: **1.71x**",
        "the time to 90% of the warm rate": "| 17,100 | 21,000 | 3.0 s |",
        "p99 at the same load": "| hello | 2 proc x 1 thread | uwsgi-http-socket | 10,000 | 5.00 ms | 10,200 |",
    }
    failures = [f"results.md lacks {what}: {line!r}" for what, line in expected.items() if line not in text]
    try:
        import matplotlib  # noqa: F401  (the chart is optional: bench/run installs it)
    except ImportError:
        return len(expected), failures
    with tempfile.TemporaryDirectory(prefix="bench-chart-") as tmp:
        path = os.path.join(tmp, "bench.png")
        problem = chart.write(results, path)
        if problem or not os.path.getsize(path):
            failures.append(f"the chart was not written: {problem}")
    return len(expected) + 1, failures


def run(apps, context):
    passed, failures = 0, []
    for check in (lambda: check_apps(apps), lambda: check_commands(context), check_nginx, check_report):
        count, failed = check()
        passed += count - len(failed)
        failures += failed
    for failure in failures:
        print("bench selfcheck: " + failure, file=sys.stderr)
    print(f"selfcheck: {passed} passed, {len(failures)} failed")
    return 1 if failures else 0
