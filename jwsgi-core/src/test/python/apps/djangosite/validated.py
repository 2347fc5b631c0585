"""The Django project inside wsgiref's PEP 3333 checker, which raises AssertionError on any
violation by the server (the environ, wsgi.input, wsgi.errors, start_response) or by Django."""
from wsgiref.validate import validator

from djangosite.wsgi import application as django_application

application = validator(django_application)
