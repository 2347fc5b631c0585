"""An app module that imports a dependency that is not installed (line 3)."""

import jwsgi_test_nonexistent_dependency  # noqa: F401


def app(environ, start_response):
    pass
