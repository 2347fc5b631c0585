"""Shared helper for the app-loading test modules: a JSON response."""
import json


def respond(start_response, value):
    body = json.dumps(value).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
