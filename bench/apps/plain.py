"""Plain WSGI apps for the benchmark: no framework, so the server's own cost dominates.

hello: 1 KB body (the same bytes bench/RawJetty.java answers); echo: returns the request body;
big: 100 KB body (RawJetty with 102400); sleep: waits 10 ms like an app waiting on a database.
"""
import time

HELLO = b"x" * 1024
BIG = b"x" * 102400
SLEPT = b"slept 10 ms\n"


def _plain(start_response, body):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def hello(environ, start_response):
    return _plain(start_response, HELLO)


def big(environ, start_response):
    return _plain(start_response, BIG)


def echo(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return _plain(start_response, environ["wsgi.input"].read(length))


def sleep(environ, start_response):
    time.sleep(0.010)
    return _plain(start_response, SLEPT)
