"""The benchmark's numbers: medians and spread over rounds, the best peer, ratios per round, the
paced runs, the first seconds. results_md.py and chart.py present them (see docs/benchmarks.md)."""
import statistics

MAX_ERROR_RATE = 0.01  # a peer with more errors than this share of requests cannot be best peer
COLD_WINDOW_LIMIT = 10  # "the first seconds": windows that start within this many seconds of ready
STEADY_SHARE = 0.9      # the time to reach this share of the steady rate


def fmt(value, digits=0, unit=""):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}{unit}"


def spread(low, high, digits=0, unit=""):
    return "" if low is None or high is None or low == high else f" [{fmt(low, digits)}-{fmt(high, digits)}{unit}]"


def run_line(run):
    who = f"{run['server']:<25} r{run['round']}"
    if "error" in run:
        return f"{who}  FAILED: {run['error']}"
    line = (f"{who}  {run['rps']:>10,.0f} rps  p50 {run['p50_ms']:7.2f} ms  p99 {run['p99_ms']:7.2f} ms  "
            f"errors {run['errors_total']:<5} PSS {run['pss_mb']:6.0f} MB  CPU {fmt(run['cpu_us_per_req'], 1)} us/req")
    if run.get("front_cpu_cores") is not None:
        line += f"  nginx {run['front_cpu_cores']:.2f} cores"
    return line


def cold_line(got):
    who = f"{got['server']:<25} r{got['round']}"
    if "error" in got:
        return f"{who}  FAILED: {got['error'].splitlines()[0]}"
    per_second = " ".join(f"{w['rps'] / 1000:.1f}k" for w in got["windows"])
    return f"{who}  first answer {got['startup_s']:.1f} s after launch; rps per second: {per_second}"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _extremes(values):
    values = [v for v in values if v is not None]
    return (min(values), max(values)) if values else (None, None)


def counted_errors(run, info):
    """Errors that count against MAX_ERROR_RATE. A server that closes each connection after a
    complete response without saying Connection: close makes wrk count a read error per response
    (its next read finds the connection closed): those, up to one per response, are not failures."""
    errors = run["errors_total"]
    if info.get("closes_silently"):
        errors -= min(run["errors"]["read"], run["requests"])
    return errors


def aggregate(results):
    """{scenario: {server: summary}}: medians and [min, max] over the successful rounds."""
    table = {}
    for run in results["runs"]:
        table.setdefault(run["scenario"], {}).setdefault(run["server"], []).append(run)
    summary = {}
    for scenario, servers in table.items():
        for server, runs in servers.items():
            ok = [r for r in runs if "error" not in r]
            info = results["servers"][scenario][server]
            s = {"rounds": len(ok), "failed_rounds": len(runs) - len(ok), "peer": info["peer"],
                 "label": info["label"], "flags": info.get("flags", []), "notes": info.get("notes", []),
                 "upstream": info.get("upstream")}
            for key in ("rps", "p50_ms", "p99_ms", "rss_mb", "pss_mb", "cpu_us_per_req", "cpu_cores",
                        "served_concurrency", "front_cpu_cores", "front_pss_mb"):
                s[key] = median(r.get(key) for r in ok)
            s["rps_min"], s["rps_max"] = _extremes(r["rps"] for r in ok)
            s["p99_min"], s["p99_max"] = _extremes(r["p99_ms"] for r in ok)
            s["errors"] = sum(r["errors_total"] for r in ok)
            s["read_errors"] = sum(r["errors"]["read"] for r in ok)
            s["requests"] = sum(r["requests"] for r in ok)
            s["counted_errors"] = sum(counted_errors(r, info) for r in ok)
            s["error_rate"] = s["counted_errors"] / s["requests"] if s["requests"] else None
            s["valid"] = bool(ok) and not s["flags"] and (s["error_rate"] or 0) <= MAX_ERROR_RATE
            summary.setdefault(scenario, {})[server] = s
    return summary


def best_peer(servers, key="rps"):
    peers = [(s[key], name) for name, s in servers.items() if s["peer"] and s["valid"] and s[key]]
    return max(peers)[1] if peers else None


def ratio(a, b):
    return a / b if a is not None and b else None


def round_ratios(results, scenario, a, b, key="rps"):
    """a's value / b's in each round both ran (the rounds interleave them, so they saw the same machine)."""
    by_round = {}
    for run in results["runs"]:
        if run["scenario"] == scenario and run["server"] in (a, b) and "error" not in run:
            by_round.setdefault(run["round"], {})[run["server"]] = run[key]
    return [r[a] / r[b] for r in by_round.values() if a in r and b in r and r[b]]


def jwsgi_names(servers):
    return [n for n in servers if n.startswith("jwsgi")]


def paced(results):
    """{scenario: {server: medians of its runs paced to the best peer's rate, with that peer and rate}}."""
    grouped = {}
    for run in results.get("paced", []):
        grouped.setdefault(run["scenario"], {}).setdefault(run["server"], []).append(run)
    summary = {}
    for scenario, servers in grouped.items():
        for server, runs in servers.items():
            ok = [r for r in runs if "error" not in r]
            s = {"peer": runs[0]["peer"], "target_rps": runs[0]["target_rps"], "rounds": len(ok),
                 "delay_ms": runs[0]["delay_ms"], "errors": sum(r["errors_total"] for r in ok),
                 **{k: median(r[k] for r in ok) for k in ("rps", "p50_ms", "p99_ms")}}
            s["rps_min"], s["rps_max"] = _extremes(r["rps"] for r in ok)
            s["p99_min"], s["p99_max"] = _extremes(r["p99_ms"] for r in ok)
            summary.setdefault(scenario, {})[server] = s
    return summary


def app_alone(results):
    """{scenario: {"cpu_us": median CPU us per call, "wall_us": ..., "error": ...}}."""
    out = {}
    for scenario in results["scenarios"]:
        rows = [r for r in results["app_alone"] if r["scenario"] == scenario]
        ok = [r for r in rows if "error" not in r]
        out[scenario] = {"cpu_us": median(r["cpu_us_per_call"] for r in ok),
                         "wall_us": median(r["wall_us_per_call"] for r in ok),
                         "error": None if ok or not rows else rows[-1]["error"]}
    return out


def _first_seconds(windows):
    """requests/s over the windows that start within COLD_WINDOW_LIMIT s of ready."""
    early = [w for w in windows if w["t_s"] < COLD_WINDOW_LIMIT]
    seconds = sum(w["duration_s"] for w in early)
    return sum(w["requests"] for w in early) / seconds if seconds else None


def cold_summary(results):
    """{scenario: {server: summary}} for the cold scenarios: start-up (launch to first answer),
    requests/s per second (median and extremes over rounds), the first 10 s, the steady rate
    (the server's median in the scenario's warm twin when it ran, else the cold runs' last 3
    windows) and the time until a window first reached STEADY_SHARE of it."""
    warm = aggregate(results)
    grouped = {}
    for got in results.get("cold", []):
        grouped.setdefault(got["scenario"], {}).setdefault(got["server"], []).append(got)
    summary = {}
    for scenario, servers in grouped.items():
        twin = results["scenarios"][scenario]["warm"]
        for server, rounds in servers.items():
            ok = [g for g in rounds if "error" not in g and g["windows"]]
            info = results["servers"][scenario][server]
            s = {"rounds": len(ok), "failed_rounds": len(rounds) - len(ok), "peer": info["peer"], "label": info["label"],
                 "flags": info.get("flags", []), "notes": info.get("notes", []),
                 "startup_s": median(g["startup_s"] for g in ok)}
            width = max((len(g["windows"]) for g in ok), default=0)
            s["per_second"] = [median(g["windows"][i]["rps"] for g in ok if i < len(g["windows"])) for i in range(width)]
            s["per_second_min"] = [_extremes(g["windows"][i]["rps"] for g in ok if i < len(g["windows"]))[0] for i in range(width)]
            s["per_second_max"] = [_extremes(g["windows"][i]["rps"] for g in ok if i < len(g["windows"]))[1] for i in range(width)]
            s["first"] = {g["round"]: _first_seconds(g["windows"]) for g in ok}
            s["first_rps"] = median(s["first"].values())
            s["first_min"], s["first_max"] = _extremes(s["first"].values())
            steady = warm.get(twin, {}).get(server, {}).get("rps")
            s["steady_source"] = f"{twin} median" if steady else "last 3 s of the cold runs"
            s["steady_rps"] = steady or median(w["rps"] for g in ok for w in g["windows"][-3:])
            reach = []
            for g in ok:
                hit = next((w for w in g["windows"] if s["steady_rps"] and w["rps"] >= STEADY_SHARE * s["steady_rps"]), None)
                reach.append(hit["t_s"] + hit["duration_s"] if hit else None)
            s["to_90_s"] = median(reach) if reach and None not in reach else None
            s["to_90_reached"] = sum(r is not None for r in reach)
            requests = sum(g["requests"] for g in ok)
            counted = sum(counted_errors(g, info) for g in ok)
            s["error_rate"] = counted / requests if requests else None
            s["valid"] = bool(ok) and not s["flags"] and (s["error_rate"] or 0) <= MAX_ERROR_RATE
            summary.setdefault(scenario, {})[server] = s
    return summary


def cold_ratios(cold, a, b):
    """a's first-seconds rate / b's, per round (paired: round r started both on the same machine)."""
    return [cold[a]["first"][r] / cold[b]["first"][r] for r in cold[a]["first"]
            if r in cold[b]["first"] and cold[b]["first"][r] and cold[a]["first"][r] is not None]
