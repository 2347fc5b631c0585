"""The app-alone ceiling: a WSGI app called in a plain Python loop, no server, no sockets.

For each call: a fresh minimal environ (a dict copy and a BytesIO body), app(environ,
start_response), iterate the result, close() it. The CPU time this takes per call is the app's
own cost; no server can answer faster than 1 / that per core.

Run as a script (one fresh interpreter per app, like a server process):
    python3 bench/ceiling.py APPS_DIR MODULE:CALLABLE PATH METHOD POST_BYTES SECONDS
prints one JSON object: calls, cpu_us_per_call, wall_us_per_call, status, body_bytes.
"""
import io
import json
import sys
import time


def load_app(apps_dir, spec):
    if apps_dir not in sys.path:
        sys.path.insert(0, apps_dir)
    module_name, _, attr = spec.partition(":")
    module = __import__(module_name, fromlist=["_"])
    return getattr(module, attr or "application")


def environ_template(path, method, body_len):
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "40000",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "bench",
        "HTTP_ACCEPT": "*/*",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if body_len:
        environ["CONTENT_LENGTH"] = str(body_len)
        environ["CONTENT_TYPE"] = "application/octet-stream"
    return environ


def call_once(app, template, body):
    """One request through the app; returns (status line, body bytes)."""
    seen = []

    def start_response(status, headers, exc_info=None):
        seen.append(status)
        return lambda data: None

    environ = dict(template)
    environ["wsgi.input"] = io.BytesIO(body)
    result = app(environ, start_response)
    try:
        out = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return (seen[-1] if seen else None), out


def measure(app, template, body, seconds):
    """Calls the app until `seconds` of CPU time are spent (at least 20 calls)."""
    status, out = call_once(app, template, body)  # first call: imports, caches, compiled templates
    calls = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while True:
        for _ in range(20):
            environ = dict(template)
            environ["wsgi.input"] = io.BytesIO(body)
            result = app(environ, _start_response)
            for _chunk in result:
                pass
            if hasattr(result, "close"):
                result.close()
        calls += 20
        cpu = time.process_time() - cpu0
        if cpu >= seconds or time.perf_counter() - wall0 >= 3 * seconds + 5:
            break
    wall = time.perf_counter() - wall0
    return {
        "calls": calls,
        "cpu_us_per_call": cpu * 1e6 / calls,
        "wall_us_per_call": wall * 1e6 / calls,
        "status": status,
        "body_bytes": len(out),
    }


def _start_response(status, headers, exc_info=None):
    return _write


def _write(data):
    pass


def main(argv):
    apps_dir, spec, path, method, post_bytes, seconds = argv
    body = b"b" * int(post_bytes)
    app = load_app(apps_dir, spec)
    template = environ_template(path, method, len(body))
    print(json.dumps(measure(app, template, body, float(seconds))))


if __name__ == "__main__":
    main(sys.argv[1:])
