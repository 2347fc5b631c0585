"""SERVER COMMAND LINES: edit here. docs/benchmarks.md says where each configuration comes from.

One entry per configuration:
  peer      whether it competes for "best peer" (gunicorn, uWSGI, waitress do; jwsgi and the
            ceilings do not)
  jit       whether it gets the full --warmup (a JVM compiles its hot paths first); the others
            get PEER_WARMUP seconds, enough for lazy imports and first-request caches
  families  the scenario families it runs in (scenarios.FAMILIES)
  upstream  behind nginx: how nginx reaches it: "http" (proxy_pass with nginx's defaults: HTTP/1.0,
            a new connection per request), "http-keepalive" (proxy_pass with upstream keep-alive),
            "uwsgi" (uwsgi_pass), "static" (nginx answers itself: no server); in the static
            family, "files" is nginx serving the files itself (no server)
  stop      the signal that stops it; default: False for a configuration run only when named
  label     a short description per kind of scenario: "cpu" (apps that keep the CPU busy),
            "io" (the long I/O app) and "static" (files); a command per kind; no command for a
            kind: not run there.
Placeholders:
  {port} {app} (MODULE:CALLABLE) {apps} (bench/apps) {python} {java} {jar} {lib} {bench}
  {launcher}        ./jwsgi, the launcher users run (it gives the master its JVM options)
  {cores}           CPU cores of this machine (nproc)
  {g_workers}       gunicorn's recommended worker count: 2 * cores + 1
  {g_threads}       gunicorn's recommended threads for gthread: 2 * cores (docs: 2-4 x cores)
  {io_threads}      IO_THREADS: the threads a server gets in total for the long I/O scenario
  {io_threads_per_proc}  IO_THREADS divided among the server's processes ({cores} of them)
  {jwsgi_workers}   "-w {cores}" when this jwsgi has multi-process workers, else "" (see
                    JWSGI_PROCESSES below); {jwsgi_io_threads}: IO_THREADS per jwsgi process
  {raw_bytes}       body size raw Jetty answers (scenarios that have a raw Jetty ceiling)
  {static}          the folder of the static family's files (bench/static.py), mapped at /static
"""
import re
import shlex
import signal
import subprocess

IO_THREADS = 256
PEER_WARMUP = 3.0
UWSGI_THREADS = 4  # uWSGI's "with threads" configurations: processes x this many threads

_JWSGI_CPU = "{launcher} --python {python} --chdir {apps} -b 127.0.0.1:{port} {jwsgi_workers} --threads 1"
_UWSGI = "/usr/bin/uwsgi --plugin python3 --master --processes {cores} --chdir {apps} --module {app} " \
         "--disable-logging --die-on-term --need-app --listen 1024"
_ALL = ("keepalive", "close", "nginx", "cold")
# uWSGI's static files (docs: StaticFiles, OffloadSubsystem): each worker hands a file's transfer
# to an offload thread, so the worker is free for the next request.
_UWSGI_STATIC = " --static-map /static={static} --offload-threads {cores}"

SERVERS = {
    "jwsgi": {
        "peer": False, "jit": True, "families": _ALL + ("static",), "upstream": "http",
        "label": {"cpu": "{jwsgi_procs} proc x 1 thread", "io": "{jwsgi_procs} proc x {jwsgi_io_threads} threads",
                  "static": "{jwsgi_procs} proc, --static-map"},
        "cpu": _JWSGI_CPU + " {app}",
        "io": "{launcher} --python {python} --chdir {apps} -b 127.0.0.1:{port} {jwsgi_workers} --threads {jwsgi_io_threads} {app}",
        "static": _JWSGI_CPU + " --static-map /static={static} {app}",
    },
    # Behind nginx only: the same server, nginx keeping its connections open (our README's advice).
    "jwsgi-upstream-keepalive": {
        "peer": False, "jit": True, "families": ("nginx",), "upstream": "http-keepalive",
        "label": {"cpu": "{jwsgi_procs} proc x 1 thread, upstream keep-alive"},
        "cpu": _JWSGI_CPU + " {app}",
    },
    "jwsgi-uwsgi": {
        "peer": False, "jit": True, "families": ("nginx",), "upstream": "uwsgi",
        "label": {"cpu": "{jwsgi_procs} proc x 1 thread, --protocol uwsgi"},
        "cpu": _JWSGI_CPU + " --protocol uwsgi {app}",
    },
    # Ceilings: the HTTP layer alone, no Python (only in scenarios with raw_bytes), and nginx
    # answering by itself.
    "raw-jetty": {
        "peer": False, "jit": True, "families": ("keepalive", "close"),
        "label": {"cpu": "Jetty 12, no Python"},
        "cpu": "{java} -cp {lib}/* {bench}/RawJetty.java {port} {raw_bytes}",
    },
    "nginx-static": {
        "peer": False, "jit": False, "families": ("nginx",), "upstream": "static",
        "label": {"cpu": "nginx answers itself (return 200), no server"},
    },
    # The static family: nginx serving the files itself (alias, sendfile, {cores} workers), and
    # uWSGI's --static-map with workers speaking HTTP (a connection per request) or behind its
    # keep-alive router.
    "nginx-files": {
        "peer": True, "jit": False, "families": ("static",), "upstream": "files",
        "label": {"static": "{cores} workers, alias + sendfile"},
    },
    "uwsgi-static": {
        "peer": True, "jit": False, "families": ("static",),
        "label": {"static": "{cores} processes, --http-socket, --static-map"},
        "static": _UWSGI + " --http-socket 127.0.0.1:{port}" + _UWSGI_STATIC,
    },
    "uwsgi-http-static": {
        "peer": True, "jit": False, "families": ("static",),
        "label": {"static": "router + {cores} processes, --static-map"},
        "static": _UWSGI.replace("--plugin python3", "--plugins http,python3") + " --http 127.0.0.1:{port} --http-keepalive"
                  + _UWSGI_STATIC,
    },
    "gunicorn-sync": {
        "peer": True, "jit": False, "families": _ALL, "upstream": "http",
        "label": {"cpu": "{g_workers} workers", "io": "{g_workers} workers"},
        "cpu": "/usr/bin/gunicorn -w {g_workers} -b 127.0.0.1:{port} --chdir {apps} {app}",
        "io": "/usr/bin/gunicorn -w {g_workers} -b 127.0.0.1:{port} --chdir {apps} {app}",
    },
    "gunicorn-gthread": {
        "peer": True, "jit": False, "families": _ALL, "upstream": "http",
        "label": {"cpu": "{g_workers} workers x {g_threads} threads", "io": "{g_workers} workers x {g_threads} threads"},
        "cpu": "/usr/bin/gunicorn -k gthread -w {g_workers} --threads {g_threads} -b 127.0.0.1:{port} --chdir {apps} {app}",
        "io": "/usr/bin/gunicorn -k gthread -w {g_workers} --threads {g_threads} -b 127.0.0.1:{port} --chdir {apps} {app}",
    },
    # The long I/O bar: gthread with its default threads (1 per worker).
    "gunicorn-gthread-default": {
        "peer": True, "jit": False, "families": ("keepalive",),
        "label": {"io": "{g_workers} workers x 1 thread"},
        "io": "/usr/bin/gunicorn -k gthread -w {g_workers} -b 127.0.0.1:{port} --chdir {apps} {app}",
    },
    # uWSGI's HTTP router in front of its workers (an extra process hop): what its docs say when
    # uWSGI faces clients itself; --http-keepalive keeps client connections open.
    "uwsgi-http": {
        "peer": True, "jit": False, "families": ("keepalive", "close", "cold"),
        "label": {"cpu": "router + {cores} processes", "io": "router + {cores} processes x {io_threads_per_proc} threads"},
        "cpu": _UWSGI.replace("--plugin python3", "--plugins http,python3") + " --http 127.0.0.1:{port} --http-keepalive",
        "io": _UWSGI.replace("--plugin python3", "--plugins http,python3")
              + " --http 127.0.0.1:{port} --http-keepalive --threads {io_threads_per_proc}",
    },
    # The workers speak HTTP themselves, one request per connection: what its docs say behind a
    # proxy that speaks HTTP, and measured here also facing wrk directly.
    "uwsgi-http-socket": {
        "peer": True, "jit": False, "families": _ALL, "upstream": "http",
        "label": {"cpu": "{cores} processes"},
        "cpu": _UWSGI + " --http-socket 127.0.0.1:{port}",
    },
    "uwsgi-http-socket-threads": {
        "peer": True, "jit": False, "families": _ALL, "upstream": "http",
        "label": {"cpu": "{cores} processes x {uwsgi_threads} threads", "io": "{cores} processes x {io_threads_per_proc} threads"},
        "cpu": _UWSGI + " --http-socket 127.0.0.1:{port} --threads {uwsgi_threads}",
        "io": _UWSGI + " --http-socket 127.0.0.1:{port} --threads {io_threads_per_proc}",
    },
    # The uwsgi protocol behind nginx's uwsgi_pass: uWSGI's own recommendation with nginx.
    "uwsgi-socket": {
        "peer": True, "jit": False, "families": ("nginx",), "upstream": "uwsgi",
        "label": {"cpu": "{cores} processes, uwsgi protocol"},
        "cpu": _UWSGI + " --socket 127.0.0.1:{port}",
    },
    "uwsgi-socket-threads": {
        "peer": True, "jit": False, "families": ("nginx",), "upstream": "uwsgi",
        "label": {"cpu": "{cores} processes x {uwsgi_threads} threads, uwsgi protocol"},
        "cpu": _UWSGI + " --socket 127.0.0.1:{port} --threads {uwsgi_threads}",
    },
    # Run only when named: a worker serves one keep-alive connection for as long as its client
    # keeps sending (the probe flags it: 2 of 64 connections answered), and it ignores
    # "Connection: close". Kept to show why it cannot be best peer.
    "uwsgi-http11-socket": {
        "peer": True, "jit": False, "families": ("keepalive", "close"), "default": False,
        "label": {"cpu": "{cores} processes, --http11-socket"},
        "cpu": _UWSGI + " --http11-socket 127.0.0.1:{port}",
    },
    "waitress": {
        "peer": True, "jit": False, "families": ("keepalive", "close", "cold"),
        "label": {"cpu": "4 threads (default)", "io": "{io_threads} threads"},
        "cpu": "/usr/bin/waitress-serve --listen=127.0.0.1:{port} {app}",
        "io": "/usr/bin/waitress-serve --listen=127.0.0.1:{port} --threads={io_threads} --connection-limit=1024 {app}",
    },
}
for _spec in SERVERS.values():
    _spec.setdefault("stop", signal.SIGINT if "/usr/bin/uwsgi" in _spec.get("cpu", _spec.get("static", "")) else signal.SIGTERM)
    _spec.setdefault("default", True)

# jwsgi's processes: "-w N --threads 1" when it has multi-process workers (issue 6), else one
# process. "auto" asks `jwsgi --help`; set 1 to force a single process.
JWSGI_PROCESSES = "auto"


def runs_in(name, scenario):
    """Whether a configuration runs in a scenario (it has the family and a command of its kind)."""
    spec = SERVERS[name]
    if scenario.family not in spec["families"]:
        return False
    if spec.get("upstream") == "static":
        return bool(scenario.raw_bytes)
    if spec.get("upstream") == "files":
        return scenario.kind == "static"
    if name == "raw-jetty" and not scenario.raw_bytes:
        return False
    return scenario.kind in spec


def select(spec):
    """The configurations a --servers value names (empty: every default one). Returns (names, unknown)."""
    if not spec:
        return [n for n, s in SERVERS.items() if s["default"]], []
    chosen = [n.strip() for n in spec.split(",") if n.strip()]
    if "all" in chosen:
        return list(SERVERS), []
    return [n for n in SERVERS if n in chosen], [n for n in chosen if n not in SERVERS]


def jwsgi_processes(java, jar, cores):
    """How many processes jwsgi runs for the cpu scenarios: `cores` if it supports -w, else 1."""
    if JWSGI_PROCESSES != "auto":
        return int(JWSGI_PROCESSES)
    help_text = subprocess.run([java, "-jar", jar, "--help"], capture_output=True, text=True, timeout=60).stdout
    return cores if re.search(r"(^|\s)-w[,=\s]|--workers", help_text) else 1


def command_context(java, jar, jwsgi_procs, cores, paths):
    """The placeholder values; paths: {"lib", "bench", "launcher", "apps", "python", "static"}."""
    return dict(paths, java=java, jar=jar, cores=cores, g_workers=2 * cores + 1, g_threads=2 * cores,
                io_threads=IO_THREADS, io_threads_per_proc=max(1, IO_THREADS // cores), uwsgi_threads=UWSGI_THREADS,
                jwsgi_procs=jwsgi_procs, jwsgi_workers=f"-w {jwsgi_procs}" if jwsgi_procs > 1 else "",
                jwsgi_io_threads=max(1, IO_THREADS // jwsgi_procs))


def command(name, scenario, context, port):
    """(argv or None, label) for a configuration in a scenario it runs in; argv is None for
    nginx-static and nginx-files, which have no server process."""
    spec = SERVERS[name]
    values = dict(context, port=port, app=scenario.app, raw_bytes=scenario.raw_bytes)
    label = spec["label"][scenario.kind].format(**values)
    if scenario.kind not in spec:
        return None, label
    return shlex.split(spec[scenario.kind].format(**values)), label
