#!/usr/bin/env python3
"""What --metrics-bind costs per request, counted in CPU time rather than timed: two servers
serve the bench's hello app ($WORKERS workers each, default 1), one with --metrics-bind, one
without; rounds of a fixed number of keep-alive requests (ab -k) go to each in turn, and each
round's server CPU time (utime + stime of the master and its workers, /proc/PID/stat) is
divided by its requests. A shared, noisy machine moves wall-clock throughput a lot and CPU per
request little, and the interleaving spreads what noise is left over both.

The first rounds warm the JIT up and are not counted: a worker's CPU per request falls by half
over its first 100 000 requests or so. The clock ticks CLK_TCK (100) times a second, so a round
of 40 000 requests at 20 us each resolves 0.25 us per request.

usage: WORKERS=1 scripts/metrics-cost.py [ROUNDS] [REQUESTS] [WARMUP]   (default 6 rounds of 40000 after 4 unmeasured)
"""
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKS = os.sysconf("SC_CLK_TCK")
WORKERS = os.environ.get("WORKERS", "1")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(extra):
    port = free_port()
    log = open(f"/tmp/jwsgi-metrics-cost-{port}.log", "w+")
    args = [os.path.join(HOME, "jwsgi"), "plain:hello", "--chdir", os.path.join(HOME, "bench", "apps"), "-w", WORKERS,
            "-b", f"127.0.0.1:{port}", "--no-control-socket", *extra]
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(1200):
        log.seek(0)
        if "Using worker:" in log.read():
            break
        if p.poll() is not None:
            sys.exit(f"server exited: see {log.name}")
        time.sleep(0.1)
    return p, port


def pids(master):
    children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    return [master] + [int(c) for c in children]


def cpu_seconds(pid_list):
    total = 0
    for pid in pid_list:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / TICKS


def round_(port, master, requests):
    procs = pids(master)
    before = cpu_seconds(procs)
    out = subprocess.run(["ab", "-q", "-k", "-c", "4", "-n", str(requests), f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True).stdout
    after = cpu_seconds(procs)
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
    if failed:
        sys.exit(f"{failed} requests failed:\n{out}")
    return (after - before) / requests * 1e6


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 40000
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    plain, plain_port = start([])
    measured, measured_port = start(["--metrics-bind", "127.0.0.1:0"])
    try:
        for _ in range(warmup):
            for port, p in ((plain_port, plain), (measured_port, measured)):
                round_(port, p.pid, requests)
        off, on = [], []
        for r in range(rounds):
            off.append(round_(plain_port, plain.pid, requests))
            on.append(round_(measured_port, measured.pid, requests))
            print(f"round {r + 1}: {off[-1]:.1f} us/request without, {on[-1]:.1f} with --metrics-bind", flush=True)
        a, b = statistics.median(off), statistics.median(on)
        print(f"median: {a:.1f} us/request without, {b:.1f} with: {b - a:+.1f} us ({(b - a) / a * 100:+.1f}%)")
    finally:
        for p in (plain, measured):
            p.send_signal(signal.SIGTERM)
        for p in (plain, measured):
            p.wait(60)


if __name__ == "__main__":
    main()
