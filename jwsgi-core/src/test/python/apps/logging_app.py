"""Writes to every place an app writes to: stdout, stderr, Python logging (its own loggers and
gunicorn's "gunicorn.error", as apps borrow it). Used by ErrorLogTest."""
import atexit
import logging
import sys

app_log = logging.getLogger("app")
# A line written straight to stdout as the worker's Python ends, after its listener is closed.
atexit.register(lambda: print("printed by the app at exit", flush=True))


def application(environ, start_response):
    path = environ["PATH_INFO"]
    tag = environ.get("QUERY_STRING", "")
    if path == "/print":
        print("printed by the app " + tag)
        sys.stdout.flush()
    elif path == "/stderr":
        sys.stderr.write("written to stderr by the app " + tag + "\n")
        sys.stderr.flush()
    elif path == "/gunicorn-error":
        log = logging.getLogger("gunicorn.error")
        log.info("info via gunicorn.error " + tag)
        log.warning("warning via gunicorn.error " + tag)
        log.critical("critical via gunicorn.error " + tag)
        try:
            raise ValueError("boom " + tag)
        except ValueError:
            log.exception("exception via gunicorn.error " + tag)
    elif path == "/app-log":
        app_log.info("info via the app's logger " + tag)
        app_log.warning("warning via the app's logger " + tag)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
