"""An app for the worker lifecycle tests: it says which process served a request and which
code it runs, and it can sleep, spin, crash or exit on request.

GET /pid           {"pid": ..., "interpreter": ..., "code": CODE, "served": n}: CODE is the first
                   line of the file $LIFECYCLE_CODE names, read at import (a reload imports it
                   again); "interpreter" tells sub-interpreters apart (3.13+, else null)
GET /sleep?s=S     sleeps S seconds in time.sleep (which an asynchronous exception cannot
                   interrupt), then answers; with &started=FILE it creates FILE as it starts
GET /loop?s=S      runs Python bytecode for S seconds (interruptible), then answers
GET /spin?n=N      a CPU-bound answer: N iterations of arithmetic
GET /segv          reads address 0 through ctypes: SIGSEGV in native code
GET /exit          os._exit(3)
GET /abort         os.abort()

$LIFECYCLE_IMPORT makes the import itself fail: "raise" (an exception), "exit" (os._exit(1)),
"segv" (a crash).
"""
import ctypes
import json
import os
import time

_failure = os.environ.get("LIFECYCLE_IMPORT")
if _failure == "raise":
    raise RuntimeError("lifecycle app refuses to import (LIFECYCLE_IMPORT=raise)")
if _failure == "exit":
    os._exit(1)
if _failure == "segv":
    ctypes.string_at(0)

CODE = "none"
if os.environ.get("LIFECYCLE_CODE"):
    with open(os.environ["LIFECYCLE_CODE"]) as f:
        CODE = f.readline().strip()

try:
    import _interpreters
    INTERPRETER = str(_interpreters.get_current())
except ImportError:
    INTERPRETER = None

_served = 0


def _json(start_response, value):
    body = json.dumps(value).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def application(environ, start_response):
    global _served
    _served += 1
    path = environ["PATH_INFO"]
    query = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
    if path == "/sleep":
        if "started" in query:
            open(query["started"], "w").close()
        time.sleep(float(query.get("s", "1")))
    elif path == "/loop":
        end = time.monotonic() + float(query.get("s", "1"))
        while time.monotonic() < end:
            pass
    elif path == "/spin":
        n = 0
        for i in range(int(query.get("n", "20000"))):
            n += i * i
        return _json(start_response, {"n": n})
    elif path == "/segv":
        ctypes.string_at(0)
    elif path == "/exit":
        os._exit(3)
    elif path == "/abort":
        os.abort()
    return _json(start_response, {"pid": os.getpid(), "interpreter": INTERPRETER, "code": CODE, "served": _served})
