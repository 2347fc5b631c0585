"""Settings of the test project: production-like (DEBUG off) and without a database, so the
server never writes anything into the source tree. Sessions live in signed cookies."""
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = "django-test-secret-not-for-production-0123456789abcdef"
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = []
DATABASES = {}

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]

ROOT_URLCONF = "djangosite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    },
]

SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"

USE_I18N = False
USE_TZ = True
TIME_ZONE = "UTC"

# Django's default logging prints nothing with DEBUG off (the console handler needs DEBUG and
# mail_admins has no admins); a real deployment sends request errors to stderr like this.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "django %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False}},
}
