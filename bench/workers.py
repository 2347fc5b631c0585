#!/usr/bin/env python3
"""Worker measurements for jwsgi's master and workers (issue 6), next to gunicorn.

Sections (all by default, or name some):
  throughput  a CPU-bound app (lifecycle.py /spin): -w 1 against -w 2, for process workers
              (Debian's python3) and interpreter workers (pyenv 3.13), and gunicorn for scale
  memory      the whole server (every process: RSS and PSS) serving the Flask app, jwsgi -w 2,
              jwsgi -k interpreter -w 2 (3.13) and gunicorn -w 2 in the same run
  startup     seconds from launch to the first answered request
  reload      failed requests while the workers are replaced under load: SIGHUP and
              --max-requests with jwsgi's shared listener, and the alternative it rejects (one
              SO_REUSEPORT listener per worker: a new server joins the port, the old one stops),
              with net.ipv4.tcp_migrate_req off and on (when run as root; restored after)

Run with Debian's python3 after building jwsgi (mvn package). Every load loop is bounded in time
and only 127.0.0.1 is used. The machine's load average is printed with each figure: measure
when it is low, and repeat.

  python3 bench/workers.py [--quick] [--jvm-options "..."] [section...]
"""
import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import procs  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
JAR = os.path.join(ROOT, "target", "jwsgi.jar")
TEST_APPS = os.path.join(ROOT, "jwsgi-core", "src", "test", "python", "apps")
BENCH_APPS = os.path.join(HERE, "apps")
PY311 = "/usr/bin/python3"
PY313 = os.path.expanduser("~/.pyenv/versions/3.13.0/bin/python3")
JAVA = os.path.join(os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"), "bin", "java")
# What the jwsgi launcher gives the master (see ./jwsgi).
MASTER_OPTS = ["-XX:+UseSerialGC", "-Xms8m", "-Xmx64m", "-XX:TieredStopAtLevel=1",
               "-XX:+UnlockDiagnosticVMOptions", "-XX:ArchiveRelocationMode=0", "-XX:TrimNativeHeapInterval=2000"]
# Extra JVM options for jwsgi's workers (--worker-opts), to compare settings.
WORKER_OPTS = ""
FLASK_PACKAGES = ["flask", "jinja2", "werkzeug", "markupsafe", "itsdangerous", "click", "blinker"]


def load():
    return os.getloadavg()[0]


def jwsgi(port, args, python=PY311, chdir=TEST_APPS, env_extra=None):
    if WORKER_OPTS:
        env_extra = dict(env_extra or {}, JWSGI_WORKER_JAVA_OPTS=WORKER_OPTS)
    argv = [JAVA] + MASTER_OPTS + ["-jar", JAR, "--python", python, "--chdir", chdir, "-b", f"127.0.0.1:{port}"] + args
    return start("jwsgi", argv, port, env_extra)


def gunicorn(port, args, chdir):
    argv = ["/usr/bin/gunicorn", "--chdir", chdir, "-b", f"127.0.0.1:{port}"] + args
    return start("gunicorn", argv, port)


def start(name, argv, port, env_extra=None):
    env = dict(os.environ)
    env.pop("JWSGI_CMD_ARGS", None)
    env.update(env_extra or {})
    log = tempfile.NamedTemporaryFile(prefix=f"workers-{name}-", suffix=".log", delete=False).name
    return procs.Server(name, argv, ROOT, env, log, port, signal.SIGTERM)


def wait_ready(server, path="/", timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, _ = procs.http_check(server.port, "GET", path, None, {"Host": "bench"}, timeout=5)
            if status == 200:
                return
        except OSError:
            pass
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited: see {server.log_path}")
        time.sleep(0.05)
    raise RuntimeError(f"{server.name} did not answer within {timeout} s: see {server.log_path}")


def wrk(port, path, seconds, connections=8):
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(m.group(1)) if m else 0.0


def flask_dir_313():
    """Debian's pure-Python Flask and its dependencies for 3.13: symlinks in a directory of their own
    (Debian's dist-packages also holds C extensions built for 3.11)."""
    d = os.path.join(tempfile.gettempdir(), "jwsgi-flask-313")
    os.makedirs(d, exist_ok=True)
    for p in FLASK_PACKAGES:
        link = os.path.join(d, p)
        if not os.path.islink(link):
            os.symlink(f"/usr/lib/python3/dist-packages/{p}", link)
    return d


# ---- throughput ------------------------------------------------------------------------------

def throughput(args):
    seconds = 3 if args.quick else 8
    rounds = 1 if args.quick else 3
    spin = "/spin?n=30000"
    configs = [
        ("jwsgi process workers -w 1 (3.11)", lambda p: jwsgi(p, ["-w", "1", "lifecycle"])),
        ("jwsgi process workers -w 2 (3.11)", lambda p: jwsgi(p, ["-w", "2", "lifecycle"])),
        ("jwsgi interpreter workers -w 1 (3.13)", lambda p: jwsgi(p, ["-k", "interpreter", "-w", "1", "lifecycle"], PY313)),
        ("jwsgi interpreter workers -w 2 (3.13)", lambda p: jwsgi(p, ["-k", "interpreter", "-w", "2", "lifecycle"], PY313)),
        ("gunicorn -w 1 (3.11)", lambda p: gunicorn(p, ["-w", "1", "lifecycle"], TEST_APPS)),
        ("gunicorn -w 2 (3.11)", lambda p: gunicorn(p, ["-w", "2", "lifecycle"], TEST_APPS)),
    ]
    results = {}
    for name, make in configs:
        port = procs.free_port()
        server = make(port)
        try:
            wait_ready(server, spin)
            wrk(port, spin, 2 if args.quick else 4)
            samples = []
            for _ in range(rounds):
                before = load()
                samples.append((wrk(port, spin, seconds), before))
            results[name] = samples
            rps = statistics.median(s for s, _ in samples)
            print(f"  {name:42s} {rps:8.0f} req/s (rounds: {', '.join(f'{s:.0f}' for s, _ in samples)}; "
                  f"load before each: {', '.join(f'{l:.1f}' for _, l in samples)})", flush=True)
        finally:
            server.stop()
    for kind in ("jwsgi process workers", "jwsgi interpreter workers", "gunicorn"):
        one = [v for k, v in results.items() if k.startswith(kind) and "-w 1" in k]
        two = [v for k, v in results.items() if k.startswith(kind) and "-w 2" in k]
        if one and two:
            r1 = statistics.median(s for s, _ in one[0])
            r2 = statistics.median(s for s, _ in two[0])
            print(f"  {kind}: -w 2 / -w 1 = {r2 / r1:.2f}x" if r1 else f"  {kind}: no -w 1 figure")


# ---- memory ----------------------------------------------------------------------------------

def memory(args):
    flask313 = flask_dir_313()
    configs = [
        ("gunicorn -w 2 (3.11)", lambda p: gunicorn(p, ["-w", "2", "flask_app:app"], BENCH_APPS)),
        ("gunicorn -w 5 (3.11)", lambda p: gunicorn(p, ["-w", "5", "flask_app:app"], BENCH_APPS)),
        ("jwsgi -w 1 (3.11)", lambda p: jwsgi(p, ["-w", "1", "flask_app:app"], chdir=BENCH_APPS)),
        ("jwsgi -w 2 (3.11)", lambda p: jwsgi(p, ["-w", "2", "flask_app:app"], chdir=BENCH_APPS)),
        ("jwsgi -k interpreter -w 2 (3.13)", lambda p: jwsgi(p, ["-k", "interpreter", "-w", "2", "--pythonpath", flask313,
                                                                  "flask_app:app"], PY313, BENCH_APPS)),
    ]
    for name, make in configs:
        port = procs.free_port()
        server = make(port)
        try:
            wait_ready(server, "/json")
            # Every worker has served both pages many times: wrk's connections reach all of them.
            for path in ("/json", "/template"):
                wrk(port, path, 2 if args.quick else 5)
            # Steady state after the load: the JVMs trim their native heap every 2 s.
            time.sleep(3)
            pids = procs.tree(server.pid)
            per = []
            for pid in pids:
                rss, pss = procs.memory_mb([pid])
                per.append(f"{rss:.0f}/{pss:.0f}")
            rss, pss = procs.memory_mb(pids)
            print(f"  {name:34s} RSS {rss:6.1f} MB  PSS {pss:6.1f} MB  ({len(pids)} processes, RSS/PSS each: {' '.join(per)}; "
                  f"load {load():.1f})", flush=True)
        finally:
            server.stop()


# ---- startup ---------------------------------------------------------------------------------

def startup(args):
    runs = 2 if args.quick else 5
    configs = [
        ("jwsgi -w 1 (3.11)", lambda p: jwsgi(p, ["-w", "1", "lifecycle"])),
        ("jwsgi -w 2 (3.11)", lambda p: jwsgi(p, ["-w", "2", "lifecycle"])),
        ("jwsgi -k interpreter -w 2 (3.13)", lambda p: jwsgi(p, ["-k", "interpreter", "-w", "2", "lifecycle"], PY313)),
        ("gunicorn -w 1 (3.11)", lambda p: gunicorn(p, ["-w", "1", "lifecycle"], TEST_APPS)),
    ]
    for name, make in configs:
        times = []
        for _ in range(runs):
            port = procs.free_port()
            t0 = time.monotonic()
            server = make(port)
            try:
                wait_ready(server, "/pid")
                times.append(time.monotonic() - t0)
            finally:
                server.stop()
        print(f"  {name:34s} {statistics.median(times):5.2f} s to the first answer (runs: "
              f"{', '.join(f'{t:.2f}' for t in times)}; load {load():.1f})", flush=True)


# ---- reload under load -----------------------------------------------------------------------

class Load:
    """Clients sending requests to 127.0.0.1:port until stopped: half open a connection per request,
    half keep one alive (reconnecting when the server closes it). Counts answers and failures."""

    def __init__(self, port, path, clients=4):
        self.port = port
        self.path = path
        self.ok = 0
        self.failures = {}
        self.stopping = False
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i % 2 == 0,), daemon=True) for i in range(clients)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping = True
        for t in self.threads:
            t.join(30)

    def fail(self, what):
        with self.lock:
            self.failures[what] = self.failures.get(what, 0) + 1

    def run(self, keep_alive):
        conn = None
        while not self.stopping:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", self.path, headers={} if keep_alive else {"Connection": "close"})
                r = conn.getresponse()
                r.read()
                if r.status == 200:
                    with self.lock:
                        self.ok += 1
                else:
                    self.fail(f"HTTP {r.status}")
                if not keep_alive or r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                self.fail(type(e).__name__)
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.01)
        if conn is not None:
            conn.close()

    def report(self):
        total = sum(self.failures.values())
        detail = ", ".join(f"{k} {v}" for k, v in sorted(self.failures.items())) or "none"
        return f"{self.ok} answered, {total} failed ({detail})"


def pids_of(server):
    return set(procs.tree(server.pid)) - {server.pid}


def replaced(server, old, timeout=60):
    """Waits until none of the worker pids in `old` is alive and a worker serves."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = pids_of(server)
        if now and not (now & old):
            return True
        time.sleep(0.1)
    return False


def reload_section(args):
    seconds = 4 if args.quick else 8
    path = "/spin?n=3000"
    # jwsgi: one listener, owned by the master and shared by the workers.
    for label, extra, action in [
        ("jwsgi -w 2, SIGHUP under load (shared listener)", [], "hup"),
        ("jwsgi -w 1, SIGHUP under load (shared listener)", [], "hup1"),
        ("jwsgi -w 2 --max-requests 300, no lifetime floor", ["--max-requests", "300", "--max-requests-jitter", "50",
                                                       "--min-worker-lifetime", "0"], "none"),
    ]:
        port = procs.free_port()
        workers = "1" if action == "hup1" else "2"
        server = jwsgi(port, ["-w", workers, "--graceful-timeout", "5"] + extra + ["lifecycle"])
        try:
            wait_ready(server, "/pid")
            before = load()
            old = pids_of(server)
            traffic = Load(port, path).start()
            time.sleep(1)
            if action.startswith("hup"):
                os.kill(server.pid, signal.SIGHUP)
                ok = replaced(server, old)
                time.sleep(1)
            else:
                time.sleep(seconds)
                ok = True
            traffic.stop()
            print(f"  {label:54s} {traffic.report()}{'' if ok else ' (workers NOT replaced)'}; load {before:.1f}", flush=True)
        finally:
            server.stop()
    # The rejected design: each worker its own SO_REUSEPORT listener. Simulated with whole
    # jwsgi servers sharing a port with --reuse-port: a new one joins, then the old one stops.
    migrate = "/proc/sys/net/ipv4/tcp_migrate_req"
    original = open(migrate).read().strip() if os.path.exists(migrate) else None
    settings = ["0", "1"] if original is not None and os.geteuid() == 0 else [original or "0"]
    try:
        for value in settings:
            if original is not None and os.geteuid() == 0:
                with open(migrate, "w") as f:
                    f.write(value)
            port = procs.free_port()
            a = jwsgi(port, ["-w", "1", "--reuse-port", "lifecycle"])
            b = jwsgi(port, ["-w", "1", "--reuse-port", "lifecycle"])
            servers = [a, b]
            try:
                wait_ready(a, "/pid")
                wait_ready(b, "/pid")
                before = load()
                traffic = Load(port, path).start()
                time.sleep(1)
                # "Reload": a new listener joins the port, then an old one stops; twice.
                for old in (a, b):
                    new = jwsgi(port, ["-w", "1", "--reuse-port", "lifecycle"])
                    servers.append(new)
                    wait_ready(new, "/pid")
                    old.stop()
                time.sleep(1)
                traffic.stop()
                print(f"  {'SO_REUSEPORT per worker, tcp_migrate_req=' + value:54s} {traffic.report()}; load {before:.1f}", flush=True)
            finally:
                for s in servers:
                    s.stop()
    finally:
        if original is not None and os.geteuid() == 0:
            with open(migrate, "w") as f:
                f.write(original)


SECTIONS = {"throughput": throughput, "memory": memory, "startup": startup, "reload": reload_section}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("sections", nargs="*", help="any of " + ", ".join(SECTIONS) + " (default: all)")
    p.add_argument("--quick", action="store_true", help="short runs, one round")
    p.add_argument("--worker-opts", default="", help="JVM options for jwsgi's workers (JWSGI_WORKER_JAVA_OPTS)")
    args = p.parse_args()
    global WORKER_OPTS
    WORKER_OPTS = args.worker_opts
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        p.error(f"unknown section(s) {unknown}: choose from {list(SECTIONS)}")
    if not os.path.exists(JAR):
        sys.exit(f"no {JAR}: build jwsgi first (mvn package -DskipTests)")
    for name in args.sections or list(SECTIONS):
        print(f"{name} (load average {load():.1f}, {os.cpu_count()} cores, {time.strftime('%H:%M:%S')}):", flush=True)
        SECTIONS[name](args)


if __name__ == "__main__":
    main()
