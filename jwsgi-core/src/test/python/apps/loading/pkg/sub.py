"""`pkg.sub:app`: a module inside a package."""
from _respond import respond


def app(environ, start_response):
    return respond(start_response, {"app": "pkg.sub.app", "module": __name__, "package": __package__})
