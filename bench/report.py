"""The benchmark's report: medians over rounds, ratios to the best peer and to the ceilings, the
server overhead per request, a Markdown table and a PNG chart."""
import statistics

MAX_ERROR_RATE = 0.01  # a peer with more errors than this share of requests cannot be best peer


def run_line(run):
    who = f"{run['server']:<25} r{run['round']}"
    if "error" in run:
        return f"{who}  FAILED: {run['error']}"
    return (f"{who}  {run['rps']:>10,.0f} rps  p50 {run['p50_ms']:7.2f} ms  p99 {run['p99_ms']:7.2f} ms  "
            f"errors {run['errors_total']:<5} RSS {run['rss_mb']:6.0f} MB  CPU {fmt(run['cpu_us_per_req'], 1)} us/req")


def fmt(value, digits=0, unit=""):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}{unit}"


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def aggregate(results):
    """{scenario: {server: summary}} with medians over the successful rounds."""
    table = {}
    for run in results["runs"]:
        table.setdefault(run["scenario"], {}).setdefault(run["server"], []).append(run)
    summary = {}
    for scenario, servers in table.items():
        meta = results["scenarios"][scenario]
        for server, runs in servers.items():
            ok = [r for r in runs if "error" not in r]
            info = results["servers"][scenario][server]
            s = {"rounds": len(ok), "failed_rounds": len(runs) - len(ok), "peer": info["peer"],
                 "label": info["label"], "flags": info.get("flags", []), "notes": info.get("notes", [])}
            for key in ("rps", "p50_ms", "p99_ms", "rss_mb", "pss_mb", "cpu_us_per_req", "served_concurrency"):
                s[key] = _median(r[key] for r in ok)
            s["errors"] = sum(r["errors_total"] for r in ok)
            # With "Connection: close", a server that closes without answering "Connection: close"
            # makes wrk count a read error after each complete response: not a failed request.
            s["read_errors"] = sum(r["errors"]["read"] for r in ok)
            counted = s["errors"] - (s["read_errors"] if meta["close"] else 0)
            s["requests"] = sum(r["requests"] for r in ok)
            s["error_rate"] = counted / s["requests"] if s["requests"] else None
            s["valid"] = bool(ok) and not s["flags"] and (s["error_rate"] or 0) <= MAX_ERROR_RATE
            summary.setdefault(scenario, {})[server] = s
    return summary


def paced(results):
    """{scenario: medians of jwsgi's runs paced to the best peer's rate, with that peer and rate}."""
    out = {}
    for run in results.get("paced", []):
        out.setdefault(run["scenario"], []).append(run)
    summary = {}
    for scenario, runs in out.items():
        ok = [r for r in runs if "error" not in r]
        summary[scenario] = {"peer": runs[0]["peer"], "target_rps": runs[0]["target_rps"], "rounds": len(ok),
                             **{k: _median(r[k] for r in ok) for k in ("rps", "p50_ms", "p99_ms")},
                             "errors": sum(r["errors_total"] for r in ok)}
    return summary


def app_alone(results):
    """{scenario: {"cpu_us": median CPU us per call, "wall_us": ..., "error": ...}}."""
    out = {}
    for scenario in results["scenarios"]:
        rows = [r for r in results["app_alone"] if r["scenario"] == scenario]
        ok = [r for r in rows if "error" not in r]
        out[scenario] = {"cpu_us": _median(r["cpu_us_per_call"] for r in ok),
                         "wall_us": _median(r["wall_us_per_call"] for r in ok),
                         "error": None if ok or not rows else rows[-1]["error"]}
    return out


def best_peer(servers):
    peers = [(s["rps"], name) for name, s in servers.items() if s["peer"] and s["valid"] and s["rps"]]
    return max(peers)[1] if peers else None


def ratio(a, b):
    return a / b if a is not None and b else None


def overheads(results, scenario, jw, app):
    """(formula, measured) server overhead in us of CPU per request, or None where it makes no sense."""
    if jw is None or not jw.get("rps") or app["cpu_us"] is None or results["scenarios"][scenario]["kind"] != "cpu":
        return None, None
    formula = results["meta"]["cores"] * 1e6 / jw["rps"] - app["cpu_us"]
    measured = jw["cpu_us_per_req"] - app["cpu_us"] if jw["cpu_us_per_req"] is not None else None
    return formula, measured


def markdown(results):
    meta = results["meta"]
    summary = aggregate(results)
    alone = app_alone(results)
    lines = [f"# jwsgi benchmark, {meta['started']}" + (" (QUICK SMOKE RUN: not a result)" if meta["quick"] else ""), ""]
    load_end = meta.get("loadavg_end") or [float("nan")]
    lines += [
        f"Machine: {meta['cores']} cores, Linux {meta['versions']['kernel']}; load average {meta['loadavg_start'][0]:.2f} "
        f"at the start, {load_end[0]:.2f} at the end. wrk on the same machine (loopback), "
        f"{meta['duration_s']:g} s per run after a {meta['warmup_s']:g} s warm-up per server; medians of "
        f"{meta['rounds']} interleaved round(s).",
        f"jwsgi ({meta['versions']['jwsgi']}): {meta['jwsgi_mode']}. Versions: " +
        ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if k not in ("jwsgi", "kernel")) + ".",
        "",
    ]
    if meta["quick"] or meta["loadavg_start"][0] > 0.5:
        lines += ["**Not comparable numbers**: " + ("a quick smoke run (short runs, one round)" if meta["quick"] else "")
                  + ("; " if meta["quick"] and meta["loadavg_start"][0] > 0.5 else "")
                  + (f"the machine was busy (load {meta['loadavg_start'][0]:.2f})" if meta["loadavg_start"][0] > 0.5 else "")
                  + ".", ""]

    lines += ["## jwsgi against the best peer", "",
              "Best peer: the fastest of gunicorn, uWSGI and waitress in that scenario, among those that answered "
              "every connection and honoured Connection: close (not flagged) with at most 1% errors.", "",
              "| scenario | jwsgi rps | best peer | peer rps | jwsgi / peer | p99 jwsgi | p99 peer | RSS jwsgi | RSS peer | PSS jwsgi | PSS peer |",
              "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for scenario, servers in summary.items():
        jw = servers.get("jwsgi")
        best = best_peer(servers)
        peer = servers.get(best) if best else None
        g = lambda s, k, d=0, u="": fmt(s[k], d, u) if s else "n/a"
        lines.append(f"| {scenario} | {g(jw, 'rps')} | {best or 'none'} | {g(peer, 'rps')} | "
                     f"{fmt(ratio(jw and jw['rps'], peer and peer['rps']), 2, 'x')} | {g(jw, 'p99_ms', 2, ' ms')} | "
                     f"{g(peer, 'p99_ms', 2, ' ms')} | {g(jw, 'rss_mb', 0, ' MB')} | {g(peer, 'rss_mb', 0, ' MB')} | "
                     f"{g(jw, 'pss_mb', 0, ' MB')} | {g(peer, 'pss_mb', 0, ' MB')} |")

    for scenario, servers in summary.items():
        jw, default = servers.get("jwsgi"), servers.get("gunicorn-gthread-default")
        if jw and default and jw["rps"] and default["rps"]:
            lines += ["", f"{scenario}: jwsgi / gunicorn gthread with its default threads = "
                          f"{jw['rps'] / default['rps']:.1f}x ({jw['rps']:,.0f} / {default['rps']:,.0f} rps)."]
    at_peer_rate = paced(results)
    if at_peer_rate:
        lines += ["", "## p99 at the same load", "",
                  "In the rounds each server runs flat out, so each p99 above is at that server's own top rate. Here "
                  "jwsgi runs again with wrk pacing each connection to the best peer's median rate (at or a little "
                  "above it); medians of the paced rounds.", "",
                  "| scenario | best peer | peer rps | p99 peer | jwsgi paced rps | p50 jwsgi | p99 jwsgi | p99 jwsgi / peer | errors |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for scenario, p in at_peer_rate.items():
            peer = summary.get(scenario, {}).get(p["peer"])
            peer_p99 = peer and peer["p99_ms"]
            lines.append(f"| {scenario} | {p['peer']} | {fmt(p['target_rps'])} | {fmt(peer_p99, 2, ' ms')} | {fmt(p['rps'])} | "
                         f"{fmt(p['p50_ms'], 2, ' ms')} | {fmt(p['p99_ms'], 2, ' ms')} | "
                         f"{fmt(ratio(p['p99_ms'], peer_p99), 2, 'x')} | {p['errors']} |")
    lines += ["", "## jwsgi against the ceilings", "",
              "App alone: the same app called in a Python loop, one process, no server. Overhead (formula) = "
              f"1 / (rps per core) - app time, with {meta['cores']} cores; overhead (measured) = the server's own "
              "CPU time per request (all its processes, from /proc) - app time. See docs/benchmarks.md.", "",
              "| scenario | jwsgi rps | raw Jetty rps | jwsgi / Jetty | app alone calls/s per core | app us/call | "
              "overhead formula us | jwsgi CPU us/req | overhead measured us |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for scenario, servers in summary.items():
        jw = servers.get("jwsgi")
        jetty = servers.get("raw-jetty")
        app = alone[scenario]
        formula, measured = overheads(results, scenario, jw, app)
        per_core = 1e6 / app["cpu_us"] if app["cpu_us"] and results["scenarios"][scenario]["kind"] == "cpu" else None
        lines.append(f"| {scenario} | {fmt(jw and jw['rps'])} | {fmt(jetty and jetty['rps'])} | "
                     f"{fmt(ratio(jw and jw['rps'], jetty and jetty['rps']), 2, 'x')} | {fmt(per_core)} | "
                     f"{fmt(app['cpu_us'], 1)} | {fmt(formula, 1)} | {fmt(jw and jw['cpu_us_per_req'], 1)} | {fmt(measured, 1)} |")

    lines += ["", "## Every server, every scenario", ""]
    for scenario, servers in summary.items():
        sc = results["scenarios"][scenario]
        conns = next(r["connections"] for r in results["runs"] if r["scenario"] == scenario)
        lines += [f"### {scenario}: {sc['method']} {sc['path']} ({sc['what']}), "
                  f"{'Connection: close' if sc['close'] else 'keep-alive'}, {conns} connections", "",
                  "| server | configuration | rps | x best peer | p50 ms | p99 ms | errors | RSS MB | PSS MB | "
                  "CPU us/req | in flight | rounds |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        best = best_peer(servers)
        best_rps = servers[best]["rps"] if best else None
        for name, s in sorted(servers.items(), key=lambda kv: _order(kv[0])):
            notes = [f"FLAGGED: {f}" for f in s["flags"]] + s["notes"]
            if sc["close"] and s["read_errors"]:
                notes.append("read errors: closed without saying Connection: close")
            if s["error_rate"] and s["error_rate"] > MAX_ERROR_RATE:
                notes.append(f"{s['error_rate']:.0%} errors")
            if s["failed_rounds"]:
                notes.append(f"{s['failed_rounds']} round(s) failed")
            label = s["label"] + (f" ({'; '.join(notes)})" if notes else "")
            mark = "**" if name == best else ""
            lines.append(f"| {mark}{name}{mark} | {label} | {fmt(s['rps'])} | {fmt(ratio(s['rps'], best_rps), 2, 'x')} | "
                         f"{fmt(s['p50_ms'], 2)} | {fmt(s['p99_ms'], 2)} | {s['errors']:,} | {fmt(s['rss_mb'])} | "
                         f"{fmt(s['pss_mb'])} | {fmt(s['cpu_us_per_req'], 1)} | {fmt(s['served_concurrency'], 0)} | "
                         f"{s['rounds']} |")
        app = alone[scenario]
        if app["error"]:
            lines += ["", f"App alone: {app['error']}"]
        elif app["cpu_us"] is not None:
            lines += ["", f"App alone: {app['cpu_us']:.1f} us of CPU per call ({1e6 / app['cpu_us']:,.0f} calls/s per core), "
                          f"{app['wall_us']:.1f} us wall."]
        lines.append("")

    if results["failures"]:
        lines += ["## Not measured", ""]
        for f in results["failures"]:
            lines.append(f"- {f['scenario']} / {f['server']}: {f['problem']}")
        lines.append("")
    lines += ["## Command lines", "", "PORT and the app (MODULE:CALLABLE) change per scenario.", ""]
    seen = set()
    for scenario, servers in results["servers"].items():
        for name, info in servers.items():
            command = info["template"].replace(results["scenarios"][scenario]["app"], "APP")
            if (name, command) not in seen:
                seen.add((name, command))
                lines.append(f"- {name} ({info['label']}): `{command}`")
    return "\n".join(lines) + "\n"


def _order(name):
    fixed = ["jwsgi", "raw-jetty"]
    return (fixed.index(name), name) if name in fixed else (len(fixed), name)


COLORS = {"jwsgi": "#d62728", "raw-jetty": "#7f7f7f", "gunicorn-sync": "#1f77b4", "gunicorn-gthread": "#6baed6",
          "gunicorn-gthread-default": "#9ecae1", "uwsgi": "#2ca02c", "uwsgi-http11": "#98df8a", "waitress": "#ff7f0e"}


def chart(results, path):
    """Writes the PNG; returns None, or why it could not."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        return "matplotlib is not installed (Debian: python3-matplotlib)"
    summary = aggregate(results)
    alone = app_alone(results)
    scenarios = [s for s in summary if any(v["rps"] for v in summary[s].values())]
    if not scenarios:
        return "no successful runs"
    meta = results["meta"]
    cols = 2 if len(scenarios) > 1 else 1
    rows = (len(scenarios) + cols - 1) // cols
    height = max(2.3, 0.36 * max(len(summary[s]) for s in scenarios) + 1.0)
    fig, axes = plt.subplots(rows, cols, figsize=(7.2 * cols, height * rows + 1.2), squeeze=False)
    for ax, scenario in zip(axes.flat, scenarios):
        servers = sorted(summary[scenario].items(), key=lambda kv: _order(kv[0]))
        servers = [(n, s) for n, s in servers if s["rps"]]
        names = [n for n, _ in servers][::-1]
        values = [s["rps"] for _, s in servers][::-1]
        bars = ax.barh(names, values, color=[COLORS.get(n, "#bcbd22") for n in names])
        for bar, name in zip(bars, names):
            if name == "raw-jetty":
                bar.set_hatch("//")
                bar.set_alpha(0.6)
            elif summary[scenario][name]["flags"]:
                bar.set_alpha(0.35)
        best = best_peer(summary[scenario])
        top = max(values)
        for y, (name, value) in enumerate(zip(names, values)):
            s = summary[scenario][name]
            note = f"{value:,.0f}  p99 {s['p99_ms']:.1f} ms"
            if s["flags"]:
                note += "  (flagged)"
            elif name == "jwsgi" and best:
                note += f"  {value / summary[scenario][best]['rps']:.2f}x best peer"
            ax.text(value + top * 0.01, y, note, va="center", fontsize=7.5)
        ax.set_xlim(0, top * 1.6)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
            lambda x, _: f"{x / 1000:g}k" if x >= 1000 else f"{x:g}"))
        sc = results["scenarios"][scenario]
        title = f"{scenario}: {sc['what']}, {'Connection: close' if sc['close'] else 'keep-alive'}"
        if alone[scenario]["cpu_us"] and sc["kind"] == "cpu":
            title += f"\napp alone {1e6 / alone[scenario]['cpu_us']:,.0f} calls/s per core"
        ax.set_title(title, fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
        ax.set_xlabel("requests/s (median)", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    for ax in list(axes.flat)[len(scenarios):]:
        ax.axis("off")
    kind = "QUICK SMOKE RUN, not a result; " if meta["quick"] else ""
    fig.suptitle(f"jwsgi vs gunicorn, uWSGI, waitress ({kind}{meta['cores']} cores, wrk on the same machine, "
                 f"median of {meta['rounds']} x {meta['duration_s']:g} s, {meta['started'][:10]})", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None
