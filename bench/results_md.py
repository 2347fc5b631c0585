"""results.md: the tables of a benchmark run (how to read them: docs/benchmarks.md)."""
from report import (aggregate, app_alone, best_peer, cold_ratios, cold_summary, fmt, jwsgi_names, paced, ratio,
                    round_ratios, spread, COLD_WINDOW_LIMIT, MAX_ERROR_RATE, STEADY_SHARE)
from scenarios import FAMILY_TITLES


def markdown(results):
    summary = aggregate(results)
    lines = _header(results)
    lines += _against_best(results, summary)
    lines += _cold(results)
    lines += _paced(results, summary)
    lines += _memory(results, summary)
    lines += _ceilings(results, summary)
    lines += _every_server(results, summary)
    lines += _commands(results)
    return "\n".join(lines) + "\n"


def _header(results):
    meta = results["meta"]
    load_end = meta.get("loadavg_end") or [float("nan")]
    lines = [f"# jwsgi benchmark, {meta['started']}" + (" (QUICK SMOKE RUN: not a result)" if meta["quick"] else ""), "",
             f"Machine: {meta['cores']} cores, Linux {meta['versions']['kernel']}; load average "
             f"{meta['loadavg_start'][0]:.2f} at the start, {load_end[0]:.2f} at the end. wrk on the same machine "
             f"(loopback). Warm scenarios: {meta['duration_s']:g} s per run after a warm-up of {meta['warmup_s']:g} s "
             f"(JVM servers) or {meta['peer_warmup_s']:g} s (the others); medians of {meta['rounds']} interleaved "
             f"round(s), [min-max] over the rounds; a ratio's [min-max] is over the ratios of each round. Cold "
             f"scenarios: {meta['cold_rounds']} fresh start(s) per server, {meta['cold_seconds']} windows of 1 s.",
             f"jwsgi ({meta['versions']['jwsgi']}): {meta['jwsgi_mode']}. Versions: "
             + ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if k not in ("jwsgi", "kernel")) + ".", ""]
    busy = meta["loadavg_start"][0] > 0.5
    if meta["quick"] or busy:
        why = (["a quick smoke run (short runs, one round)"] if meta["quick"] else []) \
            + ([f"the machine was busy (load {meta['loadavg_start'][0]:.2f})"] if busy else [])
        lines += ["**Not comparable numbers**: " + "; ".join(why) + ".", ""]
    return lines


def _peer_cell(name, s):
    return f"{name} ({s['label']})" if name else "none"


def _against_best(results, summary):
    lines = ["## jwsgi against the best peer", "",
             "Best peer: the fastest configuration of gunicorn, uWSGI and waitress in that scenario (for static "
             "files, also nginx), among those that answered every connection and honoured Connection: close (not "
             f"flagged) with at most {MAX_ERROR_RATE:.0%} errors.", ""]
    for family in ("keepalive", "close", "nginx", "static"):
        names = [n for n, sc in results["scenarios"].items() if sc["family"] == family and n in summary]
        if not names:
            continue
        nginx_cols = family == "nginx"
        title = FAMILY_TITLES[family]
        lines += [f"### {title[0].upper() + title[1:]}", "",
                  "| scenario | jwsgi | jwsgi rps | best peer | peer rps | jwsgi / peer | p99 jwsgi | p99 peer | "
                  "PSS jwsgi | PSS peer |" + (" nginx CPU jwsgi | nginx CPU peer |" if nginx_cols else ""),
                  "|---|---|---:|---|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if nginx_cols else "")]
        for scenario in names:
            servers = summary[scenario]
            best = best_peer(servers)
            peer = servers.get(best) if best else None
            for jw_name in jwsgi_names(servers) or ["jwsgi"]:
                jw = servers.get(jw_name)
                per_round = round_ratios(results, scenario, jw_name, best) if jw and best else []
                g = lambda s, k, d=0, u="": fmt(s[k], d, u) if s else "n/a"
                row = (f"| {scenario} | {jw['label'] if jw else jw_name} | "
                       f"{g(jw, 'rps')}{spread(jw and jw['rps_min'], jw and jw['rps_max'])} | {_peer_cell(best, peer) if peer else 'none'} | "
                       f"{g(peer, 'rps')}{spread(peer and peer['rps_min'], peer and peer['rps_max'])} | "
                       f"{fmt(ratio(jw and jw['rps'], peer and peer['rps']), 2, 'x')}"
                       f"{spread(min(per_round, default=None), max(per_round, default=None), 2)} | "
                       f"{g(jw, 'p99_ms', 2, ' ms')} | {g(peer, 'p99_ms', 2, ' ms')} | {g(jw, 'pss_mb', 0, ' MB')} | "
                       f"{g(peer, 'pss_mb', 0, ' MB')} |")
                if nginx_cols:
                    row += f" {g(jw, 'front_cpu_cores', 2)} | {g(peer, 'front_cpu_cores', 2)} |"
                lines.append(row)
        if nginx_cols:
            for scenario in names:
                static = summary[scenario].get("nginx-static")
                if static:
                    lines += ["", f"{scenario}: nginx answering by itself (the ceiling of nginx and wrk here): "
                                  f"{fmt(static['rps'])} rps, nginx {fmt(static['cpu_cores'], 2)} cores."]
            lines += ["", "nginx CPU: the cores nginx's own processes used during the run (CPU seconds / seconds). "
                          "jwsgi's configurations: nginx's defaults (proxy_pass over HTTP/1.0, a connection per "
                          "request), upstream keep-alive, and uwsgi_pass to --protocol uwsgi."]
        lines.append("")
    for scenario, servers in summary.items():
        jw, default = servers.get("jwsgi"), servers.get("gunicorn-gthread-default")
        if jw and default and jw["rps"] and default["rps"]:
            lines += [f"{scenario}: jwsgi / gunicorn gthread with its default threads = "
                      f"{jw['rps'] / default['rps']:.1f}x ({jw['rps']:,.0f} / {default['rps']:,.0f} rps).", ""]
    return lines


def _cold(results):
    cold = cold_summary(results)
    if not cold:
        return []
    meta = results["meta"]
    limit = min(COLD_WINDOW_LIMIT, meta["cold_seconds"])
    lines = ["## The first seconds", "",
             "A fresh server per round. Ready = its first correct answer to a request sent every 20 ms from its "
             "launch (start-up: launch to that answer). Then one wrk run counts the responses of each second since "
             "that answer; each column is the requests/s of that second (median of the rounds). First "
             f"{limit} s: the requests of those seconds / {limit}. To {STEADY_SHARE:.0%}: the end of the "
             f"first window at {STEADY_SHARE:.0%} of the steady rate or more (the median of the server in the "
             "scenario's warm twin).", ""]
    for scenario, servers in cold.items():
        width = min(COLD_WINDOW_LIMIT, max(len(s["per_second"]) for s in servers.values()))
        best = best_peer(servers, "first_rps")
        jw = servers.get("jwsgi")
        per_round = cold_ratios(servers, "jwsgi", best) if jw and best else []
        lines += [f"### {scenario}: {results['scenarios'][scenario]['what']}", ""]
        if jw and best:
            lines += [f"jwsgi / best peer ({best}, {servers[best]['label']}) over the first {limit} s: "
                      f"**{fmt(ratio(jw['first_rps'], servers[best]['first_rps']), 2, 'x')}**"
                      f"{spread(min(per_round, default=None), max(per_round, default=None), 2)}.", ""]
        lines += ["| server | start-up s | " + " | ".join(f"{i + 1}" for i in range(width))
                  + f" | first {limit} s | steady | to {STEADY_SHARE:.0%} | rounds |",
                  "|---|---:|" + "---:|" * width + "---:|---:|---:|---:|"]
        for name, s in sorted(servers.items(), key=lambda kv: _order(kv[0])):
            cells = [fmt(v) for v in s["per_second"][:width]] + [""] * (width - len(s["per_second"][:width]))
            reach = fmt(s["to_90_s"], 1, " s") if s["to_90_s"] is not None else \
                f"> {meta['cold_seconds']} s" + (f" ({s['to_90_reached']} of {s['rounds']} rounds reached it)"
                                                 if s["to_90_reached"] else "")
            mark = "**" if name == best else ""
            lines.append(f"| {mark}{name}{mark} ({s['label']}) | {fmt(s['startup_s'], 1)} | " + " | ".join(cells)
                         + f" | {fmt(s['first_rps'])}{spread(s['first_min'], s['first_max'])} | {fmt(s['steady_rps'])}"
                         + ("" if "median" in s["steady_source"] else "*") + f" | {reach} | {s['rounds']} |")
        if any("median" not in s["steady_source"] for s in servers.values()):
            lines += ["", "*: the warm twin did not run; steady = the median of the cold runs' last 3 windows."]
        lines.append("")
    return lines


def _paced(results, summary):
    at_peer_rate = paced(results)
    if not at_peer_rate:
        return []
    lines = ["## p99 at the same load", "",
             "In the rounds each server runs flat out, so each p99 above is at that server's own top rate. Here each "
             "jwsgi configuration faster than the best peer runs again with wrk pacing each connection to the best "
             "peer's median rate (at or a little above it: the paced rps column says where it landed); medians of "
             "the paced runs, [min-max] over them.", "",
             "| scenario | jwsgi | best peer | peer rps | p99 peer | jwsgi paced rps | p50 jwsgi | p99 jwsgi | "
             "p99 jwsgi / peer | errors |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for scenario, by_server in at_peer_rate.items():
        for name, p in by_server.items():
            peer = summary.get(scenario, {}).get(p["peer"])
            peer_p99 = peer and peer["p99_ms"]
            lines.append(f"| {scenario} | {summary[scenario][name]['label']} | {p['peer']} | {fmt(p['target_rps'])} | "
                         f"{fmt(peer_p99, 2, ' ms')} | {fmt(p['rps'])}{spread(p['rps_min'], p['rps_max'])} | "
                         f"{fmt(p['p50_ms'], 2, ' ms')} | {fmt(p['p99_ms'], 2, ' ms')}{spread(p['p99_min'], p['p99_max'], 2)} | "
                         f"{fmt(ratio(p['p99_ms'], peer_p99), 2, 'x')} | {p['errors']} |")
    return lines + [""]


def _memory(results, summary):
    warm = [s for s in summary if results["scenarios"][s]["family"] in ("keepalive", "close", "nginx", "static")]
    if not warm:
        return []
    names = sorted({n for s in warm for n in summary[s] if n != "nginx-static"}, key=_order)
    lines = ["## Memory", "",
             "PSS / RSS in MB, summed over every process of the configuration (master, workers, uWSGI's router), "
             "read from /proc/<pid>/smaps_rollup at the end of each run (after the load); medians of the rounds. "
             "PSS splits the pages forked processes share, RSS counts them once per process. Behind nginx: the "
             "server only (nginx's own is in the last column).", "",
             "| configuration | " + " | ".join(warm) + " | nginx |",
             "|---|" + "---:|" * (len(warm) + 1)]
    for name in names:
        cells = []
        for scenario in warm:
            s = summary[scenario].get(name)
            cells.append(f"{fmt(s['pss_mb'])} / {fmt(s['rss_mb'])}" if s else "")
        fronts = [summary[sc][name]["front_pss_mb"] for sc in warm if name in summary[sc]
                  and summary[sc][name].get("front_pss_mb") is not None]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {fmt(max(fronts)) if fronts else ''} |")
    return lines + [""]


def _ceilings(results, summary):
    meta = results["meta"]
    alone = app_alone(results)
    direct = [s for s in summary if results["scenarios"][s]["family"] in ("keepalive", "close")]
    if not direct:
        return []
    lines = ["## jwsgi against the ceilings", "",
             "App alone: the same app called in a Python loop, one process, no server. Overhead (formula) = "
             f"1 / (rps per core) - app time, with {meta['cores']} cores; overhead (measured) = the server's own "
             "CPU time per request (all its processes, from /proc) - app time. See docs/benchmarks.md.", "",
             "| scenario | jwsgi rps | raw Jetty rps | jwsgi / Jetty | app alone calls/s per core | app us/call | "
             "overhead formula us | jwsgi CPU us/req | overhead measured us |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for scenario in direct:
        jw, jetty, app = summary[scenario].get("jwsgi"), summary[scenario].get("raw-jetty"), alone[scenario]
        cpu_kind = results["scenarios"][scenario]["kind"] == "cpu"
        usable = jw and jw["rps"] and app["cpu_us"] is not None and cpu_kind
        formula = meta["cores"] * 1e6 / jw["rps"] - app["cpu_us"] if usable else None
        measured = jw["cpu_us_per_req"] - app["cpu_us"] if usable and jw["cpu_us_per_req"] is not None else None
        per_core = 1e6 / app["cpu_us"] if app["cpu_us"] and cpu_kind else None
        lines.append(f"| {scenario} | {fmt(jw and jw['rps'])} | {fmt(jetty and jetty['rps'])} | "
                     f"{fmt(ratio(jw and jw['rps'], jetty and jetty['rps']), 2, 'x')} | {fmt(per_core)} | "
                     f"{fmt(app['cpu_us'], 1)} | {fmt(formula, 1)} | {fmt(jw and jw['cpu_us_per_req'], 1)} | {fmt(measured, 1)} |")
    return lines + [""]


def _every_server(results, summary):
    alone = app_alone(results)
    lines = ["## Every server, every scenario", ""]
    for scenario, servers in summary.items():
        sc = results["scenarios"][scenario]
        conns = next(r["connections"] for r in results["runs"] if r["scenario"] == scenario)
        nginx_cols = sc["family"] == "nginx"
        lines += [f"### {scenario}: {sc['method']} {sc['path']} ({sc['what']}), {FAMILY_TITLES[sc['family']]}, "
                  f"{conns} connections", "",
                  "| server | configuration | rps [min-max] | x best peer | p50 ms | p99 ms [min-max] | errors | "
                  "PSS MB | RSS MB | CPU us/req | in flight |" + (" nginx CPU |" if nginx_cols else "") + " rounds |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if nginx_cols else "") + "---:|"]
        best = best_peer(servers)
        best_rps = servers[best]["rps"] if best else None
        for name, s in sorted(servers.items(), key=lambda kv: _order(kv[0])):
            notes = [f"FLAGGED: {f}" for f in s["flags"]] + s["notes"]
            if s["errors"] > s["counted_errors"]:
                notes.append(f"{s['errors'] - s['counted_errors']:,} read errors not counted: wrk's read after each "
                             "response the server closed")
            if s["error_rate"] and s["error_rate"] > MAX_ERROR_RATE:
                notes.append(f"{s['error_rate']:.0%} errors")
            if s["failed_rounds"]:
                notes.append(f"{s['failed_rounds']} round(s) failed")
            label = s["label"] + (f" ({'; '.join(notes)})" if notes else "")
            mark = "**" if name == best else ""
            lines.append(f"| {mark}{name}{mark} | {label} | {fmt(s['rps'])}{spread(s['rps_min'], s['rps_max'])} | "
                         f"{fmt(ratio(s['rps'], best_rps), 2, 'x')} | {fmt(s['p50_ms'], 2)} | "
                         f"{fmt(s['p99_ms'], 2)}{spread(s['p99_min'], s['p99_max'], 2)} | {s['counted_errors']:,} | "
                         f"{fmt(s['pss_mb'])} | {fmt(s['rss_mb'])} | {fmt(s['cpu_us_per_req'], 1)} | "
                         f"{fmt(s['served_concurrency'], 0)} |" + (f" {fmt(s['front_cpu_cores'], 2)} |" if nginx_cols else "")
                         + f" {s['rounds']} |")
        app = alone.get(scenario, {})
        if app.get("error"):
            lines += ["", f"App alone: {app['error']}"]
        elif app.get("cpu_us") is not None:
            lines += ["", f"App alone: {app['cpu_us']:.1f} us of CPU per call ({1e6 / app['cpu_us']:,.0f} calls/s per core), "
                          f"{app['wall_us']:.1f} us wall."]
        lines.append("")
    return lines


def _commands(results):
    lines = []
    if results["failures"]:
        lines += ["## Not measured", ""] + [f"- {f['scenario']} / {f['server']}: {f['problem']}" for f in results["failures"]] + [""]
    lines += ["## Command lines", "", "PORT and the app (MODULE:CALLABLE) change per scenario. Behind nginx, the "
              "nginx.conf each run used is in the results folder (nginx-CONFIGURATION-SCENARIO/).", ""]
    seen = set()
    for scenario, servers in results["servers"].items():
        for name, info in servers.items():
            command = info["template"].replace(results["scenarios"][scenario]["app"], "APP")
            front = f" behind nginx ({info['upstream']})" if info.get("upstream") else ""
            if (name, command, front) not in seen:
                seen.add((name, command, front))
                lines.append(f"- {name} ({info['label']}){front}: `{command}`" if command else f"- {name}{front}: {info['label']}")
    return lines


def _order(name):
    fixed = ["jwsgi", "jwsgi-upstream-keepalive", "jwsgi-uwsgi", "raw-jetty", "nginx-static", "nginx-files"]
    return (fixed.index(name), name) if name in fixed else (len(fixed), name)
