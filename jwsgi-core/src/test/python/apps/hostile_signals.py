"""An app that, at import, does what the research found kills or deafens a JVM hosting CPython:
it takes SIGTERM and SIGINT for itself, and turns on faulthandler (whose SIGSEGV handler would
turn the JVM's own null checks into a fatal error)."""
import faulthandler
import signal

signal.signal(signal.SIGTERM, lambda *a: None)
signal.signal(signal.SIGINT, lambda *a: None)
faulthandler.enable()


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"still here"]
