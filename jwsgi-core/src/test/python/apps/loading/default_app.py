"""`default_app` with no callable named: the server must pick `application`, not `app`."""
from _respond import respond


def application(environ, start_response):
    return respond(start_response, {"app": "default_app.application"})


def app(environ, start_response):
    return respond(start_response, {"app": "default_app.app"})
