"""Served by both gunicorn and jwsgi in AccessLogGunicornTest: the same requests must give the
same access log lines, byte for byte."""


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/login":
        # As authentication middleware does: the log's %({remote_user}e)s shows it.
        environ["REMOTE_USER"] = "alice"
    if path == "/missing":
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("X-App", "missing")])
        return [b"no such page\n"]
    if path == "/redirect":
        start_response("302 Found", [("Location", "/"), ("Content-Length", "0")])
        return []
    if path == "/empty":
        start_response("204 No Content", [("X-App", "empty")])
        return []
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (b"chunk %d\n" % i for i in range(3))
    body = environ["wsgi.input"].read()
    data = b"hello " + path.encode("latin-1") + b" " + body
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data))),
                              ("X-App", 'quoted "value"')])
    return [data]
