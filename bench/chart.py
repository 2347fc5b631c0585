"""The benchmark's chart: one panel per family (direct keep-alive, direct close, behind nginx, cold
start, memory), each bar jwsgi / the best peer, the best peer's configuration named, error bars
from the lowest to the highest ratio of a single round."""
from report import (aggregate, best_peer, cold_ratios, cold_summary, jwsgi_names, ratio, round_ratios,
                    COLD_WINDOW_LIMIT)

JWSGI_COLORS = {"jwsgi": "#d62728", "jwsgi-upstream-keepalive": "#ff9896", "jwsgi-uwsgi": "#8c564b"}
JWSGI_TITLES = {"jwsgi": "nginx defaults (HTTP/1.0)", "jwsgi-upstream-keepalive": "upstream keep-alive",
                "jwsgi-uwsgi": "uwsgi_pass"}


def _ratio_rows(results, summary, family):
    """[(label, ratio, low, high, note, color)] for each jwsgi configuration in each scenario of a family."""
    rows = []
    for scenario, sc in results["scenarios"].items():
        servers = summary.get(scenario)
        if sc["family"] != family or not servers:
            continue
        best = best_peer(servers)
        for name in jwsgi_names(servers):
            value = ratio(servers[name]["rps"], best and servers[best]["rps"])
            if value is None:
                continue
            per_round = round_ratios(results, scenario, name, best) or [value]
            label = scenario + (f"\n{JWSGI_TITLES[name]}" if family == "nginx" else "")
            note = f"{value:.2f}x  vs {best} ({servers[best]['label']}), {servers[best]['rps']:,.0f} rps"
            rows.append((label, value, min(per_round), max(per_round), note, JWSGI_COLORS.get(name, "#d62728")))
    return rows


def _memory_rows(results, summary):
    rows = []
    for scenario, sc in results["scenarios"].items():
        servers = summary.get(scenario)
        if sc["family"] != "keepalive" or not servers or "jwsgi" not in servers:
            continue
        best = best_peer(servers)
        jw, peer = servers["jwsgi"], servers.get(best)
        value = ratio(jw["pss_mb"], peer and peer["pss_mb"])
        if value is not None:
            rows.append((scenario, value, value, value,
                         f"{value:.2f}x  {jw['pss_mb']:,.0f} MB vs {best} {peer['pss_mb']:,.0f} MB", "#9467bd"))
    return rows


def _bars(ax, rows, title, xlabel):
    if not rows:
        ax.set_title(title + " (not run)", fontsize=9, loc="left")
        ax.axis("off")
        return
    labels = [r[0] for r in rows][::-1]
    values = [r[1] for r in rows][::-1]
    errors = [[r[1] - r[2] for r in rows][::-1], [r[3] - r[1] for r in rows][::-1]]
    ax.barh(range(len(rows)), values, height=0.6, color=[r[5] for r in rows][::-1], xerr=errors, capsize=2,
            error_kw={"elinewidth": 0.8, "ecolor": "#333333"})
    ax.set_yticks(range(len(rows)), labels)
    top = max(r[3] for r in rows)
    for y, row in enumerate(rows[::-1]):
        ax.text(row[3] + top * 0.02, y, row[4], va="center", fontsize=7)
    ax.axvline(1.0, color="#333333", linewidth=0.8, linestyle="--")
    ax.set_xlim(0, max(top * 2.1, 1.2))
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(labelsize=7.5)
    ax.grid(axis="x", alpha=0.3)


def _cold_panel(ax, results):
    cold = cold_summary(results)
    shown = False
    for scenario, servers in cold.items():
        best, jw = best_peer(servers, "first_rps"), servers.get("jwsgi")
        if not best or not jw:
            continue
        width = min(len(jw["per_second"]), len(servers[best]["per_second"]))
        seconds = list(range(1, width + 1))
        values = [ratio(jw["per_second"][i], servers[best]["per_second"][i]) for i in range(width)]
        low = [ratio(jw["per_second_min"][i], servers[best]["per_second_max"][i]) for i in range(width)]
        high = [ratio(jw["per_second_max"][i], servers[best]["per_second_min"][i]) for i in range(width)]
        per_round = cold_ratios(servers, "jwsgi", best)
        first = ratio(jw["first_rps"], servers[best]["first_rps"])
        line, = ax.plot(seconds, values, marker="o", markersize=3,
                        label=f"{scenario}: first {min(COLD_WINDOW_LIMIT, width)} s {first:.2f}x"
                              + (f" [{min(per_round):.2f}-{max(per_round):.2f}]" if len(per_round) > 1 else "")
                              + f" vs {best} ({servers[best]['label']})")
        ax.fill_between(seconds, [v or 0 for v in low], [v or 0 for v in high], color=line.get_color(), alpha=0.15)
        shown = True
    ax.axhline(1.0, color="#333333", linewidth=0.8, linestyle="--")
    ax.set_title("cold start: jwsgi / best peer in each second after the first answer", fontsize=9, loc="left")
    ax.set_xlabel("second after the first answer (band: the rounds' extremes)", fontsize=8)
    ax.tick_params(labelsize=7.5)
    ax.grid(alpha=0.3)
    if shown:
        ax.legend(fontsize=7, loc="best")
    else:
        ax.set_title("cold start (not run)", fontsize=9, loc="left")
        ax.axis("off")


def write(results, path):
    """Writes the PNG; returns None, or why it could not."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (Debian: python3-matplotlib)"
    summary = aggregate(results)
    if not summary and not results.get("cold"):
        return "no successful runs"
    meta = results["meta"]
    panels = [(_ratio_rows(results, summary, "keepalive"), "direct, keep-alive: jwsgi requests/s / best peer's"),
              (_ratio_rows(results, summary, "close"), "direct, Connection: close: jwsgi requests/s / best peer's"),
              (_ratio_rows(results, summary, "nginx"), "behind nginx (1 worker, wrk keep-alive to nginx): jwsgi / best peer")]
    heights = [max(2.0, 0.32 * len(rows) + 0.9) for rows, _ in panels] + [3.2, max(2.0, 0.32 * len(_memory_rows(results, summary)) + 0.9)]
    fig, axes = plt.subplots(5, 1, figsize=(11, sum(heights) + 1.4), gridspec_kw={"height_ratios": heights})
    for ax, (rows, title) in zip(axes[:3], panels):
        _bars(ax, rows, title, "ratio (1 = as fast as the best peer; error bar: the rounds' extremes)")
    _cold_panel(axes[3], results)
    _bars(axes[4], _memory_rows(results, summary), "memory: jwsgi PSS / best peer's PSS (every process, after the load)",
          "ratio (below 1: jwsgi uses less)")
    kind = "QUICK SMOKE RUN, not a result; " if meta["quick"] else ""
    fig.suptitle(f"jwsgi vs the best configuration of gunicorn, uWSGI, waitress ({kind}{meta['started'][:10]}, "
                 f"jwsgi {meta['versions']['jwsgi']})\n{meta['cores']} cores, wrk on the same machine, medians of "
                 f"{meta['rounds']} rounds x {meta['duration_s']:g} s; cold: {meta['cold_rounds']} starts", fontsize=9.5)
    fig.tight_layout(rect=(0, 0, 1, 0.975))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None
