"""`simple_app:app`: a plain module-level callable."""
from _respond import respond


def app(environ, start_response):
    return respond(start_response, {"app": "simple_app.app"})


def application(environ, start_response):
    return respond(start_response, {"app": "simple_app.application"})
