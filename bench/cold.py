"""The first seconds after a start: a fresh server per round, requests/s in each second.

Ready, for every server alike: the first correct answer (status and body checked) to a request
sent every READY_POLL seconds from its launch; a server's own "Listening"/"ready" line is not used,
since servers print it at different points (gunicorn's and jwsgi's masters before their workers
have imported the app, uWSGI's after). From that moment wrk runs back to back for one second at a
time, with the scenario's connections, for --cold-seconds: each window's requests/s, p99 and the
server's CPU use. The report compares the first 10 s with the best peer's and gives the time to
90% of the steady rate (report.cold_summary).
"""
import os
import shlex
import time

import measure
import procs
import report
import servers

READY_POLL = 0.02   # seconds between the requests that wait for the first answer
START_TIMEOUT = 90


def run(scenario, names, context, args, results, out_dir, env, apps):
    """Every round starts each configuration afresh, one at a time, in an order rotated per round."""
    connections = scenario.connections or args.connections
    names = [n for n in names if servers.runs_in(n, scenario)]
    print(f"\n== {scenario.name}: {scenario.method} {scenario.path} ({scenario.what}), a fresh server per round, "
          f"{args.cold_seconds:g} windows of 1 s from its first answer, {connections} connections", flush=True)
    with open(os.path.join(out_dir, f"wrk-{scenario.name}.log"), "w") as log:
        for rnd in range(1, args.cold_rounds + 1):
            shift = (rnd - 1) % max(1, len(names))
            for name in names[shift:] + names[:shift]:
                got = _one(scenario, name, rnd, context, args, results, out_dir, env, apps, connections, log)
                got.update(scenario=scenario.name, server=name, round=rnd, connections=connections)
                results["cold"].append(got)
                print("   " + report.cold_line(got), flush=True)


def _one(scenario, name, rnd, context, args, results, out_dir, env, apps, connections, log):
    port = procs.free_port()
    argv, label = servers.command(name, scenario, context, port)
    info = results["servers"].setdefault(scenario.name, {}).setdefault(name, {
        "command": shlex.join(argv), "label": label, "peer": servers.SERVERS[name]["peer"], "flags": [], "notes": [],
        "closes_silently": False,
        "template": shlex.join(servers.command(name, scenario, context, "PORT")[0])})
    launched = time.monotonic()
    server = procs.Server(name, argv, apps, env, os.path.join(out_dir, f"{name}-{scenario.name}-r{rnd}.log"), port,
                          servers.SERVERS[name]["stop"])
    first = []

    def check():
        problem = measure.verify(scenario, port)
        if problem is None:
            first.append(time.monotonic())
        return problem

    try:
        problem = server.wait_ready(check, START_TIMEOUT, poll=READY_POLL, settle=0)
        if problem:
            results["failures"].append({"scenario": scenario.name, "server": name, "problem": problem,
                                        "log": server.log_tail()})
            return {"error": f"{problem}\n{server.log_tail()}"}
        ready = first[0]
        windows = []
        for _ in range(int(args.cold_seconds)):
            start = time.monotonic() - ready
            run = measure.measure(server, scenario, connections, 1, log)
            if "error" in run:
                return {"error": run["error"], "startup_s": ready - launched, "windows": windows}
            windows.append({"t_s": start, "duration_s": run["duration_s"], "rps": run["rps"],
                            "requests": run["requests"], "p99_ms": run["p99_ms"], "cpu_cores": run["cpu_cores"],
                            "errors": run["errors"], "errors_total": run["errors_total"], "pss_mb": run["pss_mb"]})
        if rnd == 1:
            _probe(scenario, port, info)
        return {"startup_s": ready - launched, "windows": windows}
    finally:
        server.stop()


def _probe(scenario, port, info):
    """Notes, like the warm scenarios' probe, whether the server closes every connection."""
    try:
        after = measure.connection_probe(scenario, port)
    except OSError:
        return
    if measure.closing_note(after):
        info["notes"].append(measure.closing_note(after))
    info["closes_silently"] = after["closed"] and after["complete"] and not after["said_close"]
