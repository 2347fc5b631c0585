"""Factories: `factory_app:create_app()`, `factory_app:create_app('arg', key=1)`, and broken ones."""
from _respond import respond

CALLS = []


def create_app(*args, **kwargs):
    CALLS.append([list(args), kwargs])

    def app(environ, start_response):
        return respond(start_response, {"app": "factory_app.create_app", "args": list(args),
                                        "kwargs": kwargs, "calls": len(CALLS)})
    return app


def returns_none():
    return None


not_callable = {"a": 1}
unset = None


def failing_factory():
    raise ValueError("the factory failed on purpose")
