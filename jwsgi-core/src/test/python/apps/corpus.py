"""Small WSGI apps behind one router, for the PEP 3333 tests. Each path is one behaviour.

GET /events returns (and clears) what the apps recorded, such as close() calls, so a test can
check what happened on the server side of an earlier request.
"""
import hashlib
import io
import json
import os
import sys
import threading
import time
from urllib.parse import parse_qs

EVENTS = []
_lock = threading.Lock()


def record(event):
    with _lock:
        EVENTS.append(event)


def q(environ, name, default=None):
    return parse_qs(environ.get("QUERY_STRING", "")).get(name, [default])[0]


def respond(start_response, body, status="200 OK", ctype="text/plain", extra=()):
    if isinstance(body, str):
        body = body.encode("utf-8")
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))] + list(extra))
    return [body]


def as_json(start_response, value):
    return respond(start_response, json.dumps(value), ctype="application/json")


def describe(value):
    if isinstance(value, (str, bool, int)) or value is None:
        return [type(value).__name__, value]
    if isinstance(value, tuple):
        return ["tuple", list(value)]
    return [type(value).__name__, repr(value)]


# ---- environ and input ----------------------------------------------------------------------

def environ_app(environ, start_response):
    return as_json(start_response, {k: describe(v) for k, v in environ.items()})


def input_app(environ, start_response):
    stream = environ["wsgi.input"]
    mode = environ["PATH_INFO"].rsplit("/", 1)[1]
    n = int(q(environ, "n", "5"))
    if mode == "read":
        parts = [stream.read()]
    elif mode == "readn":
        parts = []
        while True:
            part = stream.read(n)
            parts.append(part)
            if not part:
                break
    elif mode == "readline":
        parts = []
        while True:
            line = stream.readline()
            parts.append(line)
            if not line:
                break
    elif mode == "readline_n":
        parts = []
        while True:
            line = stream.readline(n)
            parts.append(line)
            if not line:
                break
    elif mode == "readlines":
        parts = stream.readlines(int(q(environ, "hint", "-1")))
        parts.append(stream.read())
    elif mode == "iter":
        parts = list(stream)
    elif mode == "sha256":
        h = hashlib.sha256()
        total = 0
        while True:
            chunk = stream.read(65536)
            if not chunk:
                break
            h.update(chunk)
            total += len(chunk)
        return as_json(start_response, {"sha256": h.hexdigest(), "length": total})
    elif mode == "ignore":
        return respond(start_response, "ignored")
    else:
        return respond(start_response, "no such mode", "404 Not Found")
    return as_json(start_response, [p.decode("latin-1") for p in parts])


# ---- response -------------------------------------------------------------------------------

def status_app(environ, start_response):
    status = q(environ, "status", "200 OK")
    body = q(environ, "body", "").encode()
    # PEP 3333 (and wsgiref's validator): no Content-Type on responses that have no content.
    headers = [] if status[:3] in ("204", "304") else [("Content-Type", "text/plain")]
    if q(environ, "length"):
        headers.append(("Content-Length", q(environ, "length")))
    start_response(status, headers)
    return [body]


def bad_header_app(environ, start_response):
    kind = q(environ, "kind")
    headers = {
        "crlf-value": [("X-Injected", "a\r\nSet-Cookie: evil=1")],
        "lf-value": [("X-Injected", "a\nb")],
        "nul-value": [("X-Nul", "a\x00b")],
        "space-name": [("Bad Name", "x")],
        "colon-name": [("Bad:Name", "x")],
        "nonlatin-value": [("X-Euro", "\u20ac")],
        "bytes-value": [("X-Bytes", b"x")],
        "not-tuple": [["X-List", "x"]],
        "crlf-status": None,
    }[kind]
    try:
        if headers is None:
            start_response("200 OK\r\nX-Evil: 1", [])
        else:
            start_response("200 OK", headers)
    except Exception as e:
        record(f"bad-header:{type(e).__name__}")
        if q(environ, "swallow"):
            return [b"after a refused start_response"]
        raise
    return [b"should not be sent"]


def chunked_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def gen():
        for i in range(int(q(environ, "n", "3"))):
            yield f"part{i};".encode()
    return gen()


def stream_app(environ, start_response):
    n = int(q(environ, "n", "5"))
    delay = float(q(environ, "delay", "0.1"))
    size = int(q(environ, "size", "10"))
    tag = q(environ, "tag", "stream")
    start_response("200 OK", [("Content-Type", "application/octet-stream")])

    def gen():
        try:
            for i in range(n):
                yield bytes([65 + i % 26]) * size
                time.sleep(delay)
        finally:
            record(f"{tag}:generator-finally")
    return ClosingIterable(gen(), tag)


class ClosingIterable:
    """A response iterable whose close() records how many times it was called."""

    def __init__(self, inner, tag):
        self.inner = inner
        self.tag = tag

    def __iter__(self):
        return iter(self.inner)

    def close(self):
        record(f"{self.tag}:close")
        if hasattr(self.inner, "close"):
            self.inner.close()


def close_app(environ, start_response):
    tag = q(environ, "tag", "close")
    how = q(environ, "how", "normal")
    if how == "raise-before-start":
        record(f"{tag}:called")
        raise RuntimeError("failed before start_response")
    start_response("200 OK", [("Content-Type", "text/plain")])

    def gen():
        yield b"one;"
        if how == "raise-in-iter":
            raise ValueError("failed in the middle of the body")
        yield b"two;"
    return ClosingIterable(gen(), tag)


def close_raises_app(environ, start_response):
    class Raising:
        def __iter__(self):
            return iter([b"body"])

        def close(self):
            record("close-raises:close")
            raise RuntimeError("close() failed on purpose")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
    return Raising()


def write_app(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written;")
    write(b"")
    write(b"also-written;")
    return [b"returned;"] if q(environ, "also") else []


def exc_info_app(environ, start_response):
    when = q(environ, "when", "before")
    if when == "before":
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise KeyError("boom")
        except KeyError:
            start_response("500 Oops", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"replaced by exc_info"]
    if when == "twice":
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            start_response("201 Created", [])
        except Exception as e:
            record(f"twice:{type(e).__name__}")
            raise
        return [b"unreachable"]

    def gen():
        yield b"first;"
        try:
            raise KeyError("late")
        except KeyError:
            try:
                start_response("500 Oops", [], sys.exc_info())
            except KeyError:
                record("after-sent:re-raised")
                raise
        yield b"unreachable"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return gen()


def error_app(environ, start_response):
    when = q(environ, "when")
    if when == "before":
        raise RuntimeError("error before start_response")
    if when == "systemexit":
        raise SystemExit(3)
    if when == "keyboard":
        raise KeyboardInterrupt()
    if when == "no-start":
        return [b"no start_response"]
    if when == "nonbytes":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["a str, not bytes"]
    if when == "after-stream":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            yield b"x" * 70000
            yield b"y" * 70000
            raise RuntimeError("error after bytes were sent")
        return gen()
    start_response("200 OK", [("Content-Type", "text/plain")])
    raise RuntimeError("error after start_response")


def length_app(environ, start_response):
    declared = int(q(environ, "declared"))
    actual = int(q(environ, "actual"))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(declared))])
    return [b"z" * actual]


def big_app(environ, start_response):
    n = int(q(environ, "n", "1000000"))
    chunk = int(q(environ, "chunk", str(n)))
    start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(n))])
    record("big:returned")
    return (b"b" * min(chunk, n - i) for i in range(0, n, chunk))


def pattern_app(environ, start_response):
    """n bytes where byte i is i % 251, as one large chunk and a small one: order and joins show."""
    n = int(q(environ, "n", "300001"))
    data = bytes(i % 251 for i in range(n))
    start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(n))])
    return [data[:n - 10], data[n - 10:]]


def file_app(environ, start_response):
    path = q(environ, "path")
    kind = q(environ, "kind", "file")
    headers = [("Content-Type", "application/octet-stream")]
    if q(environ, "length"):
        headers.append(("Content-Length", q(environ, "length")))
    start_response("200 OK", headers)
    if kind == "bytesio":
        return environ["wsgi.file_wrapper"](io.BytesIO(b"from a BytesIO, iterated" * 3), 7)
    f = open(path, "rb")
    if q(environ, "skip"):
        f.read(int(q(environ, "skip")))
    return environ["wsgi.file_wrapper"](f, 8192)


def errors_app(environ, start_response):
    environ["wsgi.errors"].write("a line to wsgi.errors\n")
    environ["wsgi.errors"].writelines(["two ", "parts\n"])
    environ["wsgi.errors"].flush()
    return respond(start_response, "ok")


def sleep_app(environ, start_response):
    seconds = float(q(environ, "s", "0.5"))
    record(f"sleep:start:{q(environ, 'tag', '')}")
    time.sleep(seconds)
    record(f"sleep:end:{q(environ, 'tag', '')}")
    return as_json(start_response, {"slept": seconds, "thread": threading.get_ident()})


def info_app(environ, start_response):
    return as_json(start_response, {
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "executable": sys.executable,
        "path": sys.path,
        "version": "%d.%d.%d" % sys.version_info[:3],
        "cwd": os.getcwd(),
        "argv": sys.argv,
        "env": {k: os.environ.get(k) for k in (q(environ, "env") or "").split(",") if k},
        "main_thread": threading.main_thread().name,
        "modules": {m: m in sys.modules for m in ("_json", "_ssl", "_decimal")},
    })


def imports_app(environ, start_response):
    # C extension modules need libpython's symbols to be global (RTLD_GLOBAL).
    import _json, _ssl, _decimal, ssl, decimal  # noqa: F401
    import json as j
    return as_json(start_response, {"c_scanner": j.scanner.c_make_scanner is not None,
                                    "decimal": type(decimal.Decimal(1)).__module__})


def events_app(environ, start_response):
    with _lock:
        events = list(EVENTS)
        EVENTS.clear()
    return as_json(start_response, events)


ROUTES = {
    "/environ": environ_app,
    "/input": input_app,
    "/status": status_app,
    "/bad-header": bad_header_app,
    "/chunked": chunked_app,
    "/stream": stream_app,
    "/close": close_app,
    "/close-raises": close_raises_app,
    "/write": write_app,
    "/exc-info": exc_info_app,
    "/error": error_app,
    "/length": length_app,
    "/big": big_app,
    "/pattern": pattern_app,
    "/file": file_app,
    "/errors": errors_app,
    "/sleep": sleep_app,
    "/info": info_app,
    "/imports": imports_app,
    "/events": events_app,
}


def application(environ, start_response):
    path = environ["PATH_INFO"]
    for prefix, app in ROUTES.items():
        if path == prefix or path.startswith(prefix + "/"):
            return app(environ, start_response)
    if path.startswith("/echo-path"):
        return as_json(start_response, {"path": path, "query": environ["QUERY_STRING"], "raw": environ.get("RAW_URI")})
    return respond(start_response, "not found: " + path, "404 Not Found")


def validated():
    """The same apps inside wsgiref's PEP 3333 checker, which raises on any violation either side makes."""
    from wsgiref.validate import validator
    return validator(application)
