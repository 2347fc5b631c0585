"""The app jwsgi serves when none is named: a page that shows what the server hands a WSGI app.

Standard library only, so it runs with any interpreter.
"""
import html
import sys
from urllib.parse import parse_qs

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>jwsgi</title>
<style>
 body {{ font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 52rem; color: #222; }}
 code, td {{ font-family: ui-monospace, monospace; font-size: 13px; }}
 table {{ border-collapse: collapse; width: 100%; }}
 td {{ border-top: 1px solid #ddd; padding: 2px 6px; vertical-align: top; word-break: break-all; }}
</style></head><body>
<h1>jwsgi is serving</h1>
<p>This is the bundled demo app, running in CPython {python} embedded in the JVM.
Serve your own with <code>./jwsgi module:app</code>, e.g. <code>./jwsgi mysite.wsgi:application</code>.</p>
<form method="post"><input name="message" placeholder="say something" autofocus>
<button>POST it</button></form>
{posted}
<h2>environ</h2>
<table>{rows}</table>
</body></html>
"""


def application(environ, start_response):
    posted = ""
    if environ["REQUEST_METHOD"] == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        form = parse_qs(environ["wsgi.input"].read(length).decode("utf-8", "replace"))
        message = form.get("message", [""])[0]
        posted = f"<p>You posted: <b>{html.escape(message)}</b></p>"
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(repr(environ[k]))}</td></tr>"
        for k in sorted(environ)
    )
    body = PAGE.format(python=sys.version.split()[0], posted=posted, rows=rows).encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
