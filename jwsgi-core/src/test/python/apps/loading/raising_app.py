"""An app module whose import fails with its own error (line 4)."""


raise RuntimeError("boom while importing raising_app")


def app(environ, start_response):
    pass
