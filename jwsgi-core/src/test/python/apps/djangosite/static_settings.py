"""The test project as a site with Django's admin and its static files served by jwsgi's
--static-map: `manage.py collectstatic` (here `django-admin collectstatic`) copies them into
STATIC_ROOT (the JWSGI_TEST_STATIC_ROOT directory) with hashed names, as
ManifestStaticFilesStorage does in production. STATIC_URL comes from JWSGI_TEST_STATIC_URL
(default "/static/"); a relative one ("static/") is put under SCRIPT_NAME by Django."""
import os

from .settings import *  # noqa: F401,F403 (the test project's settings, extended)
from .settings import MIDDLEWARE, TEMPLATES

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
MIDDLEWARE = MIDDLEWARE + [
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [dict(TEMPLATES[0], APP_DIRS=True, OPTIONS={"context_processors": [
    "django.template.context_processors.request",
    "django.contrib.auth.context_processors.auth",
    "django.contrib.messages.context_processors.messages",
]})]
ROOT_URLCONF = "djangosite.static_urls"
STATIC_URL = os.environ.get("JWSGI_TEST_STATIC_URL", "/static/")
STATIC_ROOT = os.environ.get("JWSGI_TEST_STATIC_ROOT")
STATICFILES_STORAGE = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
