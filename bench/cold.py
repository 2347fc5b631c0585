"""The first seconds after a start: a fresh server per round, requests/s in each second.

Ready, for every server alike: the first correct answer (status and body checked) to a request
sent every READY_POLL seconds from its launch; a server's own "Listening"/"ready" line is not used,
since servers print it at different points (gunicorn's and jwsgi's masters before their workers
have imported the app, uWSGI's after). From that moment one wrk run, with the scenario's
connections kept open, counts the responses of each second since ready (wrk_report.lua, BENCH_T0)
for --cold-seconds, while the server's CPU use is sampled each second. The report compares the
first 10 s with the best peer's and gives the time to 90% of the steady rate (report.cold_summary).
"""
import os
import shlex
import subprocess
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
        got = _seconds(server, scenario, port, connections, int(args.cold_seconds), first[0], log)
        got["startup_s"] = first[0] - launched
        if rnd == 1 and "error" not in got:
            _probe(scenario, port, info)
        return got
    finally:
        server.stop()


def _seconds(server, scenario, port, connections, seconds, ready, log):
    """One wrk run from ready on, its responses counted per second since ready (wrk_report.lua),
    and the server's CPU use in each of those seconds, sampled from /proc meanwhile."""
    # One second more than reported: wrk starts a few ms after ready and must cover the last one.
    argv = measure.wrk_argv(scenario, port, connections, seconds + 1)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=measure.wrk_env(scenario, t0=ready))
    try:
        cpu = [procs.cpu_seconds(server.pids())]
        for k in range(1, seconds + 1):
            time.sleep(max(0.0, ready + k - time.monotonic()))
            cpu.append(procs.cpu_seconds(server.pids()))
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log.write(f"$ BENCH_T0={ready:.6f} {shlex.join(argv)}\n{out}{err}\n")
    wrk, counts = measure.parse_wrk(out)
    if wrk is None or counts is None:
        return {"error": f"wrk exited {proc.returncode}: {(err or out).strip()[-300:]}"}
    got = measure.summarize(wrk)
    got["windows"] = [{"t_s": k, "duration_s": 1.0, "requests": counts.get(k, 0), "rps": counts.get(k, 0),
                       "cpu_cores": cpu[k + 1] - cpu[k]} for k in range(seconds)]
    return got


def _probe(scenario, port, info):
    """Notes, like the warm scenarios' probe, whether the server closes every connection."""
    try:
        after = measure.connection_probe(scenario, port)
    except OSError:
        return
    if measure.closing_note(after):
        info["notes"].append(measure.closing_note(after))
    info["closes_silently"] = after["closed"] and after["complete"] and not after["said_close"]
