"""A minimal real Django project for jwsgi's framework tests (DjangoTest); see views.py."""
