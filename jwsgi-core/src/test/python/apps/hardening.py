"""An app for the hardening tests: it reports exactly what it was handed, and how much memory
Python holds, so a test can compare what the client sent with what the app saw, and count
leaks.

GET  /echo...      JSON of the request as the app saw it (method, target, headers, body digest, first 4 KiB)
GET  /seen         the requests seen since the last /seen (method, RAW_URI, body length), cleared
GET  /stats        Python's allocated blocks and gc-tracked objects, after a collection
GET  /sleep?s=F    sleeps, for overload tests; with &started=FILE it creates FILE as it starts
GET  /raise        raises
GET  /big?n=N      N bytes, in 64 KiB chunks, for clients that leave halfway
POST /read         reads the body and reports its length and digest
"""
import gc
import hashlib
import json
import sys
import threading
import time
from urllib.parse import parse_qs

SEEN = []
_lock = threading.Lock()


def _q(environ, name, default):
    return parse_qs(environ.get("QUERY_STRING", "")).get(name, [default])[0]


def _json(start_response, value, status="200 OK"):
    body = json.dumps(value).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _body(environ):
    stream = environ["wsgi.input"]
    digest = hashlib.sha256()
    head = b""
    n = 0
    while True:
        chunk = stream.read(65536)
        if not chunk:
            break
        n += len(chunk)
        digest.update(chunk)
        if len(head) < 4096:
            head += chunk[:4096 - len(head)]
    return n, digest.hexdigest(), head


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/seen":
        with _lock:
            seen = list(SEEN)
            SEEN.clear()
        return _json(start_response, seen)
    if path == "/stats":
        gc.collect()
        return _json(start_response, {"blocks": sys.getallocatedblocks(), "objects": len(gc.get_objects()),
                                      "threads": threading.active_count()})
    try:
        length, digest, head = _body(environ)
    except OSError as e:
        # The client left halfway through its body: answered (to no one) without a traceback,
        # as apps that expect it do, so leak counts do not include traceback formatting.
        return _json(start_response, {"error": str(e)}, "400 Bad Request")
    with _lock:
        SEEN.append({"method": environ["REQUEST_METHOD"], "raw": environ.get("RAW_URI", ""), "length": length})
    if path == "/sleep":
        started = _q(environ, "started", None)
        if started:
            open(started, "w").close()
        time.sleep(float(_q(environ, "s", "0.5")))
        return _json(start_response, {"slept": True})
    if path == "/raise":
        raise RuntimeError("the hardening app raises on purpose")
    if path == "/big":
        n = int(_q(environ, "n", "1048576"))
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(n))])
        chunk = b"x" * 65536
        return (chunk[:min(65536, n - i)] for i in range(0, n, 65536))
    headers = {k: v for k, v in environ.items() if k.startswith("HTTP_") or k in ("CONTENT_TYPE", "CONTENT_LENGTH")}
    return _json(start_response, {"method": environ["REQUEST_METHOD"], "raw": environ.get("RAW_URI", ""),
                                  "path": path, "query": environ.get("QUERY_STRING", ""), "headers": headers,
                                  "length": length, "sha256": digest, "body": head.decode("latin-1"),
                                  "input": type(environ["wsgi.input"]).__name__})
