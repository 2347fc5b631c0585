"""The app of the embedding tests (Jetty handler, servlet): what a mount and a container give it.

/environ     the environ values a mount decides, as JSON
/upload      reads the whole body; its length and SHA-256 as JSON
/stream      yields two chunks, waits for the marker file named by the query, yields a third
/wait        creates <marker>.started, waits for the marker file named by the query
/hang        never returns on its own (interrupted by the watchdog)
"""
import hashlib
import json
import os
import time

ENVIRON_KEYS = ["SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REMOTE_USER", "AUTH_TYPE", "REQUEST_METHOD",
                "SERVER_PROTOCOL", "wsgi.url_scheme", "wsgi.multithread", "CONTENT_TYPE"]
MARKER_WAIT = 60  # seconds: a test that never creates the marker must not hang a Python thread for ever


def _json(start_response, value):
    body = json.dumps(value).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _await(path):
    deadline = time.monotonic() + MARKER_WAIT
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)


def _stream(marker):
    yield b"first\n"
    yield b"second\n"
    _await(marker)
    yield b"third\n"


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.endswith("/environ"):
        return _json(start_response, {k: environ.get(k) for k in ENVIRON_KEYS})
    if path.endswith("/upload"):
        data = environ["wsgi.input"].read()
        return _json(start_response, {"length": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    if path.endswith("/stream"):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _stream(environ["QUERY_STRING"])
    if path.endswith("/wait"):
        marker = environ["QUERY_STRING"]
        open(marker + ".started", "w").close()
        _await(marker)
        return _json(start_response, {"waited": marker})
    if path.endswith("/hang"):
        while True:
            time.sleep(0.01)
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"no such test path: " + path.encode("latin-1")]
