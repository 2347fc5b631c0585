#!/usr/bin/env python3
"""Counts what embedding costs (docs/embedding.md): the same WSGI app served by ./jwsgi (inline,
and with --threads 2: a hand-off to a Python thread), by jwsgi's Jetty handler in a plain Jetty
(platform and virtual threads), and by its servlet in Spring Boot (platform and virtual threads).

  examples/measure-embedding.py [ROUNDS]

Part 1, the hand-off: bench/apps/plain.py's hello (1 KB) with one client (wrk -c1): the server's
CPU time per request (from /proc, all its processes) and the client's mean and median latency.
Part 2, Flask: examples/spring-boot's whoami app through Spring (Basic auth, 32 connections)
next to ./jwsgi -w 1 serving the same app. Every server runs at once, idle but for its turn;
rounds interleave the configurations; each run is a few seconds. On a shared machine these
numbers are noisy: CPU per request is the steadier one.
"""
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JAVA = os.path.join(os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"), "bin", "java")
APPS = os.path.join(HOME, "bench", "apps")
WHOAMI = os.path.join(HOME, "examples", "spring-boot", "python")
BASIC = "Authorization: Basic ZGVtbzpkZW1v"  # demo:demo
WARMUP, SECONDS = 2, 3
TICK = os.sysconf("SC_CLK_TCK")


def logback():
    f = tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False)
    f.write('<configuration><appender name="e" class="ch.qos.logback.core.ConsoleAppender"><encoder><pattern>%msg%n'
            '</pattern></encoder></appender><root level="WARN"><appender-ref ref="e"/></root></configuration>')
    f.close()
    return f.name


def servers(port):
    """Each configuration: (name, command, URL path, extra wrk header). Ports from `port` up."""
    jetty = [JAVA, "--enable-native-access=ALL-UNNAMED", "-Dlogback.configurationFile=" + logback(),
             "-cp", f"{HOME}/target/jwsgi.jar:{HOME}/target/lib/*", f"{HOME}/examples/jetty/Serve.java"]
    def spring(port):  # run takes its port from $PORT; env execs it, so the PID is the JVM's
        return ["env", f"PORT={port}", f"{HOME}/examples/spring-boot/run", "--logging.level.root=WARN"]
    jwsgi = [f"{HOME}/jwsgi", "-w", "1", "--log-level", "warning"]
    return [
        ("jwsgi inline (--threads 1)", jwsgi + ["plain:hello", "--chdir", APPS, "-b", f"127.0.0.1:{port}"], port, "/", None),
        ("jwsgi --threads 2 (hand-off)", jwsgi + ["plain:hello", "--chdir", APPS, "--threads", "2", "-b", f"127.0.0.1:{port + 1}"],
         port + 1, "/", None),
        ("Jetty handler, platform threads", jetty + [str(port + 2), "plain:hello", APPS, "2"], port + 2, "/", None),
        ("Jetty handler, virtual threads", jetty + [str(port + 3), "plain:hello", APPS, "2", "virtual"], port + 3, "/", None),
        ("Spring servlet, platform threads", spring(port + 4) + ["--jwsgi.app=plain:hello", f"--jwsgi.app-dir={APPS}",
                                                      "--spring.threads.virtual.enabled=false"], port + 4, "/py/", BASIC),
        ("Spring servlet, virtual threads", spring(port + 5) + ["--jwsgi.app=plain:hello", f"--jwsgi.app-dir={APPS}",
                                                     "--spring.threads.virtual.enabled=true"], port + 5, "/py/", BASIC),
        ("Flask: ./jwsgi -w 1", jwsgi + ["whoami:app", "--chdir", WHOAMI, "-b", f"127.0.0.1:{port + 6}"], port + 6, "/whoami", None),
        ("Flask: Spring (virtual threads)", spring(port + 7) + [f"--jwsgi.app-dir={WHOAMI}"], port + 7,
         "/py/whoami", BASIC),
    ]


def tree(pid):
    """The process and its descendants (a master's workers): children are listed per thread."""
    pids, i = [pid], 0
    while i < len(pids):
        try:
            for task in os.listdir(f"/proc/{pids[i]}/task"):
                with open(f"/proc/{pids[i]}/task/{task}/children") as f:
                    pids += [int(c) for c in f.read().split()]
        except OSError:
            pass
        i += 1
    return pids


def cpu_seconds(pid):
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / TICK


def wait_ready(port, path, header, process, log):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if header:
        request.add_header(*header.split(": ", 1))
    for _ in range(1200):
        if process.poll() is not None:
            raise SystemExit(f"the server on port {port} exited {process.returncode}; its output is in {log}")
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise SystemExit(f"port {port} never answered {path}")


def wrk(port, path, header, connections, seconds):
    cmd = ["wrk", "-t1" if connections == 1 else "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if header:
        cmd += ["-H", header]
    out = subprocess.run(cmd + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    return requests, out, errors.group(0) if errors else ""


def micros(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1, "ms": 1000, "s": 1e6}[unit]


def run(name, pid, port, path, header, connections):
    wrk(port, path, header, connections, WARMUP)
    before = cpu_seconds(pid)
    requests, out, errors = wrk(port, path, header, connections, SECONDS)
    cpu = cpu_seconds(pid) - before
    if requests == 0:
        print(f"  {name:34} no request answered in {SECONDS} s {errors}", flush=True)
        return
    mean = micros(re.search(r"Latency\s+(\S+)", out).group(1))
    median = micros(re.search(r"50%\s+(\S+)", out).group(1))
    print(f"  {name:34} {requests / SECONDS:8.0f} req/s  {cpu * 1e6 / requests:7.1f} us CPU/req  "
          f"latency mean {mean:7.1f} us, median {median:7.1f} us {errors}", flush=True)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    logs = tempfile.mkdtemp(prefix="jwsgi-measure-")
    started = []
    try:
        for i, (name, cmd, port, path, header) in enumerate(servers(int(os.environ.get("PORT", "18300")))):
            with open(os.path.join(logs, f"{i}.log"), "w") as log:
                process = subprocess.Popen(cmd, cwd=HOME, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            started.append((name, process, port, path, header))
        for i, (name, process, port, path, header) in enumerate(started):
            wait_ready(port, path, header, process, os.path.join(logs, f"{i}.log"))
        for r in range(1, rounds + 1):
            print(f"round {r}: hand-off, one client (plain hello, 1 KB)")
            for name, process, port, path, header in started[:6]:
                run(name, process.pid, port, path, header, 1)
            print(f"round {r}: Flask, 32 connections")
            for name, process, port, path, header in started[6:]:
                run(name, process.pid, port, path, header, 32)
    finally:
        for name, process, *_ in started:
            process.terminate()
        for name, process, *_ in started:
            process.wait(60)


if __name__ == "__main__":
    main()
