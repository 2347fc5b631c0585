"""Importable only when its directory is on sys.path (--chdir, or the working directory)."""
import json
import os
import sys


def app(environ, start_response):
    body = json.dumps({"app": "here_app.app", "cwd": os.getcwd(), "path": sys.path, "file": __file__}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
