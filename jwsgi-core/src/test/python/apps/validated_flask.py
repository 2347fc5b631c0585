"""flaskapp inside wsgiref's PEP 3333 checker, which raises AssertionError on any violation by
the server (the environ, wsgi.input, wsgi.errors, start_response) or by the app."""
from wsgiref.validate import validator

from flaskapp import create_app

application = validator(create_app())
