"""The benchmark's scenarios: an app, a request, keep-alive or not, and a family.

Families (docs/benchmarks.md, "What runs"):
  keepalive  wrk talks to the server directly and keeps its connections open
  close      the same, every request says "Connection: close" (a new TCP connection each)
  nginx      wrk talks keep-alive to Debian's nginx (one worker), which passes each request on
             to the server the way that server's docs recommend (bench/nginx.py)
  cold       a fresh server per round: requests/s in each second after its first answer
  static     wrk asks each server for a file it serves from disk without the app: jwsgi's
             --static-map, uWSGI's --static-map, nginx's alias (bench/static.py writes the files)
A scenario marked extra runs only when named (or with --scenarios all).
"""
import dataclasses

# The files of the static family, by name: their sizes in bytes (bench/static.py writes them).
STATIC_FILES = {"1k": 1024, "1m": 1024 * 1024}

FAMILIES = ("keepalive", "close", "nginx", "cold", "static")
FAMILY_TITLES = {"keepalive": "direct, keep-alive", "close": "direct, Connection: close",
                 "nginx": "behind nginx", "cold": "the first seconds (cold start)",
                 "static": "static files, keep-alive"}


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    app: str
    path: str
    what: str
    family: str = "keepalive"
    kind: str = "cpu"              # "cpu", "io" or "static": which server command line to use
    method: str = "GET"
    post_bytes: int = 0
    connections: int = 0           # 0: --connections
    raw_bytes: int = 0             # raw Jetty / nginx static ceiling with this body size; 0: none
    warm: str = ""                 # cold: the keep-alive scenario whose medians are the steady rate
    extra: bool = False            # not in the default set
    expect_prefix: bytes = b""
    expect_contains: bytes = b""
    expect_len: int = -1

    @property
    def close(self):
        """Every request says "Connection: close"."""
        return self.family == "close"


def _hello(name, family, **kw):
    return Scenario(name, "plain:hello", "/", "1 KB body", family=family, expect_prefix=b"x" * 64, expect_len=1024, **kw)


def _static(name, size, what):
    # The app is loaded (the servers need one) but never called: the files come from bench/static.py.
    return Scenario(name, "plain:hello", f"/static/{size}.bin", what, family="static", kind="static",
                    expect_prefix=b"x" * 64, expect_len=STATIC_FILES[size])


def _flask_json(name, family, **kw):
    return Scenario(name, "flask_app:app", "/json", "Flask jsonify", family=family, expect_prefix=b"{",
                    expect_contains=b"Hello, World!", **kw)


def _flask_template(name, family, **kw):
    return Scenario(name, "flask_app:app", "/template", "Flask + Jinja, 12 rows", family=family,
                    expect_prefix=b"<!DOCTYPE html>", expect_contains=b"Flask fortunes", **kw)


def _django_json(name, family, **kw):
    return Scenario(name, "djsite.wsgi:application", "/json", "Django JsonResponse", family=family,
                    expect_prefix=b"{", expect_contains=b"Hello, World!", **kw)


def _django_template(name, family, **kw):
    return Scenario(name, "djsite.wsgi:application", "/template", "Django template, 12 rows", family=family,
                    expect_prefix=b"<!DOCTYPE html>", expect_contains=b"Django fortunes", **kw)


SCENARIOS = [
    _hello("hello", "keepalive", raw_bytes=1024),
    _hello("hello-close", "close", raw_bytes=1024),
    Scenario("echo-10k", "plain:echo", "/", "POST 10 KB, echoed", method="POST", post_bytes=10240,
             expect_prefix=b"b" * 64, expect_len=10240),
    Scenario("big-100k", "plain:big", "/", "100 KB body", raw_bytes=102400, expect_prefix=b"x" * 64, expect_len=102400),
    _flask_json("flask-json", "keepalive"),
    _flask_json("flask-json-close", "close"),
    _flask_template("flask-template", "keepalive"),
    _flask_template("flask-template-close", "close"),
    _django_json("django-json", "keepalive"),
    _django_json("django-json-close", "close"),
    _django_template("django-template", "keepalive"),
    _django_template("django-template-close", "close"),
    Scenario("long-io", "plain:sleep", "/", "app sleeps 10 ms", kind="io", connections=512, expect_prefix=b"slept 10 ms"),
    _hello("nginx-hello", "nginx", raw_bytes=1024),
    _flask_json("nginx-flask-json", "nginx"),
    _flask_template("nginx-flask-template", "nginx", extra=True),
    _django_json("nginx-django-json", "nginx", extra=True),
    _django_template("nginx-django-template", "nginx", extra=True),
    _hello("cold-hello", "cold", warm="hello"),
    _flask_json("cold-flask-json", "cold", warm="flask-json"),
    _django_json("cold-django-json", "cold", warm="django-json", extra=True),
    _static("static-1k", "1k", "a 1 KB file"),
    _static("static-1m", "1m", "a 1 MB file"),
]
BY_NAME = {s.name: s for s in SCENARIOS}
QUICK = ["hello", "flask-json-close", "nginx-flask-json", "cold-flask-json", "static-1m"]


def select(spec, quick):
    """The scenarios a --scenarios value names: scenario names, family names, "all" (extras too);
    empty: the default set (every scenario not marked extra), or QUICK with --quick.
    Returns (scenarios, unknown names)."""
    if not spec:
        names = QUICK if quick else [s.name for s in SCENARIOS if not s.extra]
        return [BY_NAME[n] for n in names], []
    chosen, unknown = set(), []
    for word in (w.strip() for w in spec.split(",")):
        if not word:
            continue
        if word == "all":
            chosen.update(BY_NAME)
        elif word in FAMILIES:
            chosen.update(s.name for s in SCENARIOS if s.family == word and not s.extra)
        elif word in BY_NAME:
            chosen.add(word)
        else:
            unknown.append(word)
    return [s for s in SCENARIOS if s.name in chosen], unknown
