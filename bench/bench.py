#!/usr/bin/python3
"""jwsgi benchmark: jwsgi against gunicorn, uWSGI and waitress in their production configurations.

Run through bench/run (it finds a JDK >= 25, installs the Debian packages, builds jwsgi).
Families of scenarios (scenarios.py): direct keep-alive, direct Connection: close, behind nginx,
and the first seconds after a start. For each warm scenario every configuration (servers.py) is
started once, checked to answer correctly, probed, warmed up, then measured with wrk in
interleaved rounds (round 1 runs every configuration once, then round 2, ...); the report gives
medians and the spread. The ceilings: the same app called in a plain Python loop (ceiling.py),
raw Jetty answering the same bytes (RawJetty.java), nginx answering by itself.
See docs/benchmarks.md for the method and how to read the results.
"""
import argparse
import dataclasses
import datetime
import json
import os
import platform
import shlex
import signal
import subprocess
import sys

import chart
import cold
import measure
import nginx
import procs
import report
import results_md
import scenarios as scenario_table
import selfcheck
import servers
import static
from servers import SERVERS

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
APPS = os.path.join(BENCH, "apps")
PYTHON = "/usr/bin/python3"
START_TIMEOUT = 90       # seconds a server may take to answer its first request
FULL_ROUNDS, FULL_DURATION = 5, 5.0  # the least a run needs to write docs/bench.png


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 2 s runs, 1 s warm-up, 1 round, 4 cold seconds, scenarios "
                        + ",".join(scenario_table.QUICK))
    p.add_argument("--duration", type=float, help=f"seconds per measured run (default {FULL_DURATION:g}; quick 2)")
    p.add_argument("--warmup", type=float, help="seconds of warm-up for a JVM server per scenario (default 20: "
                   f"its JIT needs it here; quick 1); the others get {servers.PEER_WARMUP:g} s at most")
    p.add_argument("--rounds", type=int, help=f"interleaved rounds; the report gives medians and min-max (default {FULL_ROUNDS}; quick 1)")
    p.add_argument("--cold-seconds", type=int, help="seconds measured after each cold start (default 15; quick 4)")
    p.add_argument("--cold-rounds", type=int, help="fresh starts per server in each cold scenario (default 3; quick 1)")
    p.add_argument("--connections", type=int, default=64, help="wrk connections for scenarios without their own (default 64)")
    p.add_argument("--scenarios", help="comma-separated scenario or family names, or all (default: every scenario "
                   "not marked extra). Families: " + ",".join(scenario_table.FAMILIES) + ". Scenarios: "
                   + ",".join(s.name + ("*" if s.extra else "") for s in scenario_table.SCENARIOS) + " (*: extra)")
    p.add_argument("--servers", help="comma-separated configurations, or all (default: all but "
                   + ",".join(n for n, s in SERVERS.items() if not s["default"]) + "): " + ",".join(SERVERS))
    p.add_argument("--no-install", action="store_true", help="do not install missing Debian packages (read by bench/run)")
    p.add_argument("--chart", help="where to write the PNG chart (default: docs/bench.png after a full run, else the results folder)")
    p.add_argument("--out", help="results folder (default: bench/results/<timestamp>)")
    p.add_argument("--selfcheck", action="store_true", help="check the apps, the app-alone loop, the command "
                   "tables, the nginx configs and the report on made-up numbers; start no server (seconds)")
    args = p.parse_args(argv)
    quick = args.quick
    args.duration = args.duration or (2.0 if quick else FULL_DURATION)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if quick else 20.0)
    args.rounds = args.rounds or (1 if quick else FULL_ROUNDS)
    args.cold_seconds = args.cold_seconds or (4 if quick else 15)
    args.cold_rounds = args.cold_rounds or (1 if quick else 3)
    args.probe_seconds = 1.5 if quick else measure.PROBE_SECONDS
    if args.duration <= 0 or args.rounds < 1 or args.warmup < 0 or args.connections < 1 or args.cold_seconds < 1 \
            or args.cold_rounds < 1:
        p.error("--duration, --connections, --cold-seconds and --cold-rounds must be positive, --rounds at least 1, "
                "--warmup not negative")
    return args, p


def java_bin():
    home = os.environ.get("JAVA_HOME")
    if not home or not os.access(os.path.join(home, "bin", "java"), os.X_OK):
        sys.exit("bench: JAVA_HOME must point to a JDK >= 25; run the benchmark through bench/run, which finds one.")
    return os.path.join(home, "bin", "java")


def context_for(java, jar, jwsgi_procs, static_files=os.path.join(BENCH, "results", "static-files")):
    paths = {"lib": os.path.join(ROOT, "target", "lib"), "bench": BENCH, "launcher": os.path.join(ROOT, "jwsgi"),
             "apps": APPS, "python": PYTHON, "static": static_files}
    return servers.command_context(java, jar, jwsgi_procs, measure.cores(), paths)


def start(name, scenario, context, out_dir):
    """Starts a configuration for a warm scenario: (what wrk talks to, argv or None, label)."""
    spec = SERVERS[name]
    port, front_port = procs.free_ports(2)
    argv, label = servers.command(name, scenario, context, port)
    tag = f"{name}-{scenario.name}"
    if spec.get("upstream") == "files" and scenario.family == "static":
        files = nginx.start("files", port, None, os.path.join(out_dir, f"nginx-{tag}"), 0, server_env(),
                            os.path.join(out_dir, f"nginx-{tag}.log"), files=context["static"], workers=context["cores"])
        return nginx.Behind(files), None, label
    backend = procs.Server(name, argv, APPS, server_env(), os.path.join(out_dir, f"{tag}.log"), port,
                           spec["stop"]) if argv else None
    if scenario.family != "nginx":
        return backend, argv, label
    front = nginx.start(spec["upstream"], front_port, port, os.path.join(out_dir, f"nginx-{tag}"), scenario.raw_bytes,
                        server_env(), os.path.join(out_dir, f"nginx-{tag}.log"))
    return nginx.Behind(front, backend), argv, label


def run_scenario(scenario, names, context, args, results, out_dir):
    connections = scenario.connections or args.connections
    started = {}
    log = open(os.path.join(out_dir, f"wrk-{scenario.name}.log"), "w")
    print(f"\n== {scenario.name}: {scenario.method} {scenario.path} ({scenario.what}), "
          f"{scenario_table.FAMILY_TITLES[scenario.family]}, {connections} connections", flush=True)
    try:
        for name in names:
            if not servers.runs_in(name, scenario):
                continue
            server, argv, label = start(name, scenario, context, out_dir)
            started[name] = server
            problem = server.wait_ready(lambda: measure.verify(scenario, server.port), START_TIMEOUT)
            template = servers.command(name, scenario, context, "PORT")[0]
            info = {"command": shlex.join(argv) if argv else "", "label": label, "peer": SERVERS[name]["peer"],
                    "start_problem": problem, "template": shlex.join(template) if template else "",
                    "upstream": SERVERS[name].get("upstream") if scenario.family == "nginx" else None,
                    "flags": [], "notes": [], "closes_silently": False}
            results["servers"].setdefault(scenario.name, {})[name] = info
            if problem:
                print(f"   {name}: NOT MEASURED: {problem}\n{indent(server.log_tail())}", flush=True)
                results["failures"].append({"scenario": scenario.name, "server": name, "problem": problem,
                                            "log": server.log_tail()})
                server.stop()
                del started[name]
                continue
            if scenario.family != "nginx":  # behind nginx, wrk's connections are nginx's to keep
                info.update(measure.behaviour_probe(scenario, server.port, connections, args.probe_seconds))
            print(f"   {name}: ready ({label}), pid {server.pid}" + "".join(f"; FLAGGED: {f}" for f in info["flags"])
                  + "".join(f"; note: {n}" for n in info["notes"]), flush=True)
        for name, server in started.items():
            warmup = args.warmup if SERVERS[name]["jit"] else min(args.warmup, servers.PEER_WARMUP)
            if warmup > 0:
                measure.run_wrk(scenario, server.port, connections, warmup, log)
        order = list(started)
        for rnd in range(1, args.rounds + 1):
            if scenario.family not in ("nginx", "static"):  # static files never call the app
                ceiling = app_alone(scenario, 1.0 if args.quick else 2.0)
                ceiling.update(scenario=scenario.name, round=rnd)
                results["app_alone"].append(ceiling)
            # Rotate the order each round so no server always runs right after the same one.
            shift = (rnd - 1) % max(1, len(order))
            for name in order[shift:] + order[:shift]:
                server = started[name]
                problem = server.wait_ready(lambda: measure.verify(scenario, server.port), 10)
                run = {"error": f"not answering correctly before the run: {problem}"} if problem else \
                    measure.measure(server, scenario, connections, args.duration, log)
                run.update(scenario=scenario.name, server=name, round=rnd, connections=connections)
                results["runs"].append(run)
                print("   " + report.run_line(run), flush=True)
        measure.paced_runs(scenario, started, connections, args, results, log)
    finally:
        for server in started.values():
            server.request_stop()
        for name, server in started.items():
            leftovers = server.stop()
            if [p for p in leftovers if p != server.pid]:
                print(f"   {name}: killed leftover processes {leftovers}", flush=True)
        log.close()


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


def server_env():
    env = dict(os.environ)
    # The peers must run on Debian's python3 like jwsgi embeds it; no pyenv or venv leaking in.
    for key in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYENV_VERSION"):
        env.pop(key, None)
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin:/usr/sbin"
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
        "nginx": deb("nginx"), "flask": deb("python3-flask"), "django": deb("python3-django"), "wrk": deb("wrk"),
        "jwsgi": out(["git", "-C", ROOT, "describe", "--always", "--dirty"]),
        "kernel": platform.release(),
    }


def estimate_seconds(scenarios, names, context, args):
    """A rough run time: starts, probes, warm-ups, rounds, paced runs, cold starts."""
    total = 0.0
    per_run = args.duration + 1.0
    for s in scenarios:
        configs = [n for n in names if servers.runs_in(n, s)]
        if s.family == "cold":
            total += args.cold_rounds * sum((6 if SERVERS[n]["jit"] else 3) + args.cold_seconds * 1.05 + 2 for n in configs)
            continue
        probe = 0 if s.family == "nginx" else (1 if s.close else args.probe_seconds + 0.6)
        for n in configs:
            jit = SERVERS[n]["jit"]
            total += (5 if jit else 2) + probe + (args.warmup if jit else min(args.warmup, servers.PEER_WARMUP))
            total += args.rounds * per_run
            if n.startswith("jwsgi"):  # paced runs, where it is faster than the best peer
                total += 0.7 * (3 * (measure.PACING_PROBE_SECONDS + 1) + min(args.rounds, measure.PACED_ROUNDS) * per_run)
        total += 4 + (0 if s.family == "nginx" else args.rounds * 2.5)
    return total


def caller_path(path):
    """A path given on bench/run's command line, relative to where it was run (bench.py runs in bench/)."""
    if not path:
        return path
    return os.path.join(os.environ.get("JWSGI_BENCH_CALLER_DIR", os.getcwd()), path)


def main(argv):
    args, parser = parse_args(argv)
    if args.selfcheck:
        return selfcheck.run(APPS, context_for("java", "jwsgi.jar", 2))
    scenarios, unknown = scenario_table.select(args.scenarios, args.quick)
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(scenario_table.FAMILIES)}, all, "
                     + ", ".join(scenario_table.BY_NAME))
    names, unknown = servers.select(args.servers)
    if unknown:
        parser.error(f"unknown server {', '.join(unknown)}; choose from all, {', '.join(SERVERS)}")
    java = java_bin()
    jar = os.path.join(ROOT, "target", "jwsgi.jar")
    if not os.path.exists(jar):
        sys.exit(f"bench: {jar} is missing; bench/run builds it (mvn -q package -DskipTests).")
    jwsgi_procs = servers.jwsgi_processes(java, jar, measure.cores())
    context = context_for(java, jar, jwsgi_procs)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = caller_path(args.out) or os.path.join(BENCH, "results", stamp + ("-quick" if args.quick else ""))
    os.makedirs(out_dir, exist_ok=True)
    if any(s.family == "static" for s in scenarios):
        context["static"] = static.write_files(os.path.join(out_dir, "static-files"))
    # Only a full run (the default scenarios and servers, at least FULL_ROUNDS rounds of
    # FULL_DURATION s) replaces the README's chart.
    default_scenarios, _ = scenario_table.select(None, False)
    full = (not args.quick and {s.name for s in scenarios} >= {s.name for s in default_scenarios}
            and set(names) >= set(servers.select(None)[0]) and args.rounds >= FULL_ROUNDS
            and args.duration >= FULL_DURATION)
    chart_path = caller_path(args.chart) or (os.path.join(ROOT, "docs", "bench.png") if full else os.path.join(out_dir, "bench.png"))

    load = os.getloadavg()
    results = {
        "meta": {
            "started": datetime.datetime.now().isoformat(timespec="seconds"), "cores": measure.cores(),
            "quick": args.quick, "duration_s": args.duration, "warmup_s": args.warmup,
            "peer_warmup_s": min(args.warmup, servers.PEER_WARMUP), "rounds": args.rounds,
            "cold_seconds": args.cold_seconds, "cold_rounds": args.cold_rounds,
            "connections": args.connections, "io_threads": servers.IO_THREADS, "jwsgi_processes": jwsgi_procs,
            "jwsgi_mode": (f"-w {jwsgi_procs} --threads 1 (multi-process workers)" if jwsgi_procs > 1
                           else "one process, --threads 1 (this jwsgi has no -w)"),
            "loadavg_start": load, "versions": versions(java),
        },
        "scenarios": {s.name: dataclasses.asdict(s) | {"close": s.close, "expect_prefix": None, "expect_contains": None}
                      for s in scenarios},
        "servers": {}, "runs": [], "paced": [], "cold": [], "app_alone": [], "failures": [],
    }
    estimate = estimate_seconds(scenarios, names, context, args)
    print(f"jwsgi benchmark: {len(scenarios)} scenarios, {len(names)} configurations, {args.rounds} round(s) of "
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
        # Warm scenarios first: the cold ones take their steady rates from them.
        for scenario in sorted(scenarios, key=lambda s: s.family == "cold"):
            if scenario.family == "cold":
                cold.run(scenario, names, context, args, results, out_dir, server_env(), APPS)
            else:
                run_scenario(scenario, names, context, args, results, out_dir)
            write_json(results, out_dir)
    finally:
        results["meta"]["loadavg_end"] = os.getloadavg()
        results["meta"]["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
        write_json(results, out_dir)
    text = results_md.markdown(results)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(text)
    print("\n" + text)
    chart_problem = chart.write(results, chart_path)
    print(f"chart: {chart_path}" if chart_problem is None else f"chart not written: {chart_problem}")
    print(f"results: {os.path.join(out_dir, 'results.md')} and results.json")
    return 0


def write_json(results, out_dir):
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
