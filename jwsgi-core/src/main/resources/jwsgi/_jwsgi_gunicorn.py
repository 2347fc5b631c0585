"""jwsgi's gunicorn compatibility, Python side.

Runs gunicorn config files (``gunicorn.conf.py``) as gunicorn does, checks the server hooks
they define and calls them with stand-ins for gunicorn's objects (the arbiter as ``server``,
``worker``, ``req``, ``resp``), and connects Python logging to jwsgi's error log so that
``logging.getLogger("gunicorn.error")`` and ``server.log`` work as under gunicorn.

Which settings exist and what they mean is decided in Java (jwsgi.config); this module only
runs Python code and describes Python values.
"""
import ast
import importlib
import importlib.machinery
import importlib.util
import inspect
import json
import logging
import logging.config
import os
import sys
import types
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A config file or a hook in it is unusable. The message says what and how to fix it."""


# The hooks and the arguments gunicorn calls them with.
HOOKS = {
    "on_starting": ("server",),
    "on_reload": ("server",),
    "when_ready": ("server",),
    "pre_fork": ("server", "worker"),
    "post_fork": ("server", "worker"),
    "post_worker_init": ("worker",),
    "worker_int": ("worker",),
    "worker_abort": ("worker",),
    "pre_exec": ("server",),
    "pre_request": ("worker", "req"),
    "post_request": ("worker", "req", "environ", "resp"),
    "child_exit": ("server", "worker"),
    "worker_exit": ("server", "worker"),
    "nworkers_changed": ("server", "new_value", "old_value"),
    "on_exit": ("server",),
    "ssl_context": ("config", "default_ssl_context_factory"),
    "on_dirty_starting": ("arbiter",),
    "dirty_post_fork": ("arbiter", "worker"),
    "dirty_worker_init": ("worker",),
    "dirty_worker_exit": ("arbiter", "worker"),
}

# gunicorn.glogging.CONFIG_DEFAULTS: what logconfig_dict, logconfig_json and logconfig extend.
CONFIG_DEFAULTS = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": True,
                           "qualname": "gunicorn.error"},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": True,
                            "qualname": "gunicorn.access"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "generic", "stream": "ext://sys.stdout"},
        "error_console": {"class": "logging.StreamHandler", "formatter": "generic", "stream": "ext://sys.stderr"},
    },
    "formatters": {
        "generic": {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
                    "datefmt": "[%Y-%m-%d %H:%M:%S %z]", "class": "logging.Formatter"},
    },
}

LOG_LEVELS = {"critical": logging.CRITICAL, "error": logging.ERROR, "warning": logging.WARNING,
              "info": logging.INFO, "debug": logging.DEBUG}

_config = None      # the config file's module, once run
_hooks = {}         # hook name -> callable, once checked
_server = None
_worker = None      # in a worker process: this worker
_spawning = {}      # in the master: age -> the worker of a process not started yet


# ---- config files -------------------------------------------------------------------------

def load_config(location, cwd):
    """Run the config file at ``location`` (PATH, file:PATH or python:MODULE) as gunicorn does:
    as module ``__config__``, with the start directory importable. Returns ``describe()`` of
    its namespace."""
    global _config
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    if location.startswith("python:"):
        module = importlib.import_module(location[len("python:"):])
    else:
        path = location[len("file:"):] if location.startswith("file:") else location
        loader = importlib.machinery.SourceFileLoader("__config__", path)
        spec = importlib.util.spec_from_file_location("__config__", path, loader=loader)
        module = importlib.util.module_from_spec(spec)
        sys.modules["__config__"] = module
        spec.loader.exec_module(module)
    _config = module
    return describe(vars(module))


def describe(namespace):
    """Flatten the public names of a namespace for Java: for each, its name, kind (none, bool,
    scalar, list, dict, callable, other), repr, number of values, then the values as str."""
    out = []
    for name, value in namespace.items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        if value is None:
            kind, values = "none", []
        elif isinstance(value, bool):
            kind, values = "bool", [str(value)]
        elif isinstance(value, (str, int, float)):
            kind, values = "scalar", [str(value)]
        elif isinstance(value, (list, tuple, set, frozenset)):
            kind, values = "list", [str(v) for v in value]
        elif isinstance(value, dict):
            kind, values = "dict", [f"{k}={v}" for k, v in value.items()]
        elif callable(value):
            kind, values = "callable", []
        else:
            kind, values = "other", []
        text = repr(value)
        if len(text) > 200:
            text = text[:197] + "..."
        out += [name, kind, text, str(len(values)), *values]
    return out


def _arity(fn):
    """gunicorn's util.get_arity: the number of positional parameters."""
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in inspect.signature(fn).parameters.values() if p.kind in positional)


def _resolve(name, value):
    """A hook may be given as a callable or as an import string "package.module.function"."""
    if isinstance(value, str):
        module_name, _, attr = value.rpartition(".")
        if not module_name:
            raise ConfigError(f"{name} = {value!r}: expected a function, or an import string such as 'mypkg.hooks.{name}'")
        try:
            return getattr(importlib.import_module(module_name), attr)
        except ImportError as e:
            raise ConfigError(f"{name} = {value!r}: cannot import {module_name}: {e}") from None
        except AttributeError:
            raise ConfigError(f"{name} = {value!r}: module {module_name} has no {attr}") from None
    return value


def check_hooks():
    """Check every hook the config file defines, as gunicorn's validate_callable does, and keep
    them. Returns the names of the hooks defined; raises ConfigError naming a bad one."""
    _hooks.clear()
    if _config is None:
        return []
    for name, params in HOOKS.items():
        if not hasattr(_config, name):
            continue
        fn = _resolve(name, getattr(_config, name))
        if fn is None:
            continue
        if not callable(fn):
            raise ConfigError(f"{name} = {fn!r} is not callable; define it as def {name}({', '.join(params)}): ...")
        try:
            arity = _arity(fn)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}: cannot read the signature of {fn!r}") from None
        expected = (2, 3, 4) if name == "post_request" else (len(params),)
        if arity not in expected:
            raise ConfigError(f"{name} takes {arity} argument{'s' if arity != 1 else ''}, but gunicorn (and jwsgi) call it "
                              f"with {len(params)}: def {name}({', '.join(params)})")
        if name == "post_request" and arity < 4:
            fn = _shorter_post_request(fn, arity)
        _hooks[name] = fn
    return list(_hooks)


def _shorter_post_request(fn, arity):
    # gunicorn's validate_post_request: older hooks take (worker, req) or (worker, req, environ).
    if arity == 3:
        return lambda worker, req, environ, resp: fn(worker, req, environ)
    return lambda worker, req, environ, resp: fn(worker, req)


def config_value(name):
    """A setting the Java side applies as a Python value (logconfig_dict), or None."""
    return getattr(_config, name, None) if _config is not None else None


# ---- logging ------------------------------------------------------------------------------

class ErrorLogHandler(logging.Handler):
    """Sends records to jwsgi's error log, which formats them as gunicorn does."""

    def __init__(self, emit):
        super().__init__()
        self._emit = emit
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record):
        try:
            self._emit(record.levelno, self.format(record))
        except Exception:
            self.handleError(record)


def setup_logging(emit, level, logconfig, logconfig_json):
    """Make "gunicorn.error" log to jwsgi's error log at ``level``, then apply logconfig_dict,
    logconfig_json or logconfig over gunicorn's defaults, as gunicorn does."""
    error_log = logging.getLogger("gunicorn.error")
    for h in list(error_log.handlers):
        if isinstance(h, ErrorLogHandler):
            error_log.removeHandler(h)
    error_log.addHandler(ErrorLogHandler(emit))
    error_log.setLevel(LOG_LEVELS.get(level, logging.INFO))
    error_log.propagate = False
    logging.getLogger("gunicorn.access").propagate = False
    config_dict = config_value("logconfig_dict")
    if config_dict:
        if not isinstance(config_dict, dict):
            raise ConfigError(f"logconfig_dict must be a dict, not {type(config_dict).__name__}")
        _dict_config(config_dict, "logconfig_dict")
    elif logconfig_json:
        with open(logconfig_json, encoding="utf-8") as f:
            try:
                loaded = json.load(f)
            except ValueError as e:
                raise ConfigError(f"--log-config-json {logconfig_json}: not valid JSON: {e}") from None
        _dict_config(loaded, "--log-config-json " + logconfig_json)
    elif logconfig:
        defaults = {"__file__": logconfig, "here": os.path.dirname(logconfig)}
        try:
            logging.config.fileConfig(logconfig, defaults=defaults, disable_existing_loggers=False)
        except Exception as e:
            raise ConfigError(f"--log-config {logconfig}: {e}") from None


def _dict_config(config_dict, where):
    config = dict(CONFIG_DEFAULTS)
    config.update(config_dict)
    try:
        logging.config.dictConfig(config)
    except (AttributeError, ImportError, ValueError, TypeError) as e:
        raise ConfigError(f"{where}: {e}") from None


# ---- the objects hooks receive ------------------------------------------------------------

class Config:
    """``server.cfg`` / ``worker.cfg``: the effective settings as read-only attributes, by
    gunicorn's names (cfg.bind, cfg.threads, cfg.accesslog...)."""

    def __init__(self, settings):
        object.__setattr__(self, "_settings", dict(settings))

    def __getattr__(self, name):
        try:
            return self._settings[name]
        except KeyError:
            raise AttributeError(f"No configuration setting for: {name}") from None

    def __setattr__(self, name, value):
        raise AttributeError("Invalid access!")

    def __repr__(self):
        return f"<jwsgi Config {self._settings!r}>"


class Server:
    """``server``: what gunicorn's Arbiter offers to hooks. In a worker process it describes the
    master, as the arbiter a gunicorn worker inherits through fork does."""

    def __init__(self, cfg, log, pid):
        self.cfg = cfg
        self.log = log
        self.pid = pid
        self.master_name = "Master"
        self.proc_name = "jwsgi"
        self.address = list(getattr(cfg, "bind", []))
        self.timeout = getattr(cfg, "timeout", None)
        self.num_workers = getattr(cfg, "workers", 1)
        self.app = types.SimpleNamespace(cfg=cfg)
        self.WORKERS = {}
        self.LISTENERS = []


class Worker:
    """``worker``: what gunicorn's Worker offers to hooks."""

    def __init__(self, age, pid, ppid, server):
        self.age = age
        self.pid = pid
        self.ppid = ppid
        self.cfg = server.cfg
        self.log = server.log
        self.app = server.app
        self.timeout = server.timeout
        self.booted = False
        self.aborted = False
        self.alive = True
        self.nr = 0
        self.max_requests = getattr(server.cfg, "max_requests", 0)
        self.wsgi = None


class Request:
    """``req``: the request as gunicorn's parser describes it (method, uri, path, query,
    fragment, version, headers as upper-case names, scheme, remote_addr)."""

    def __init__(self, environ):
        self.method = environ.get("REQUEST_METHOD")
        self.uri = environ.get("RAW_URI", "")
        parts = urlsplit(self.uri)
        self.path = parts.path or ""
        self.query = parts.query or ""
        self.fragment = parts.fragment or ""
        protocol = environ.get("SERVER_PROTOCOL", "HTTP/1.1")
        try:
            major, _, minor = protocol.partition("/")[2].partition(".")
            self.version = (int(major), int(minor or 0))
        except ValueError:
            self.version = (1, 1)
        self.scheme = environ.get("wsgi.url_scheme", "http")
        self.headers = []
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                self.headers.append((key[5:].replace("_", "-"), value))
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                self.headers.append((key.replace("_", "-"), value))
        self.trailers = []
        try:
            port = int(environ.get("REMOTE_PORT") or 0)
        except ValueError:
            port = 0
        self.remote_addr = (environ.get("REMOTE_ADDR"), port)
        self.peer_addr = self.remote_addr
        self.body = None

    def __repr__(self):
        return f"<Request {self.method} {self.uri}>"


class Response:
    """``resp``: the response as sent (status, status_code, headers, sent, response_length)."""

    def __init__(self, status, flat_headers, sent):
        self.status = status
        try:
            self.status_code = int(status.split()[0])
        except (ValueError, IndexError):
            self.status_code = None
        self.headers = [(flat_headers[i], flat_headers[i + 1]) for i in range(0, len(flat_headers), 2)]
        self.sent = sent
        self.response_length = None
        for name, value in self.headers:
            if name.lower() == "content-length" and value.strip().isdigit():
                self.response_length = int(value)

    def __repr__(self):
        return f"<Response {self.status}>"


def setup_hooks(settings_literal, age):
    """Build the ``server`` object from the effective settings (a Python literal made by Java)
    and, in a worker process (``age`` > 0), this worker's ``worker``; the master makes one
    ``worker`` per worker process it starts (``worker_spawning``)."""
    global _server, _worker
    cfg = Config(ast.literal_eval(settings_literal))
    if age > 0:
        _server = Server(cfg, logging.getLogger("gunicorn.error"), os.getppid())
        _worker = Worker(age, os.getpid(), os.getppid(), _server)
        _server.WORKERS[_worker.pid] = _worker
    else:
        workers = _server.WORKERS if _server is not None else {}  # a reload keeps the running workers
        _server = Server(cfg, logging.getLogger("gunicorn.error"), os.getpid())
        _server.WORKERS = workers
        _worker = None


def worker_spawning(age):
    """Master: the ``worker`` pre_fork receives, before the process exists (gunicorn's pid
    is "[booting]" then too)."""
    _spawning[age] = Worker(age, "[booting]", os.getpid(), _server)


def worker_started(age, pid):
    """Master: the worker process ``age`` runs as ``pid``."""
    worker = _spawning.pop(age, None) or Worker(age, pid, os.getpid(), _server)
    worker.pid = pid
    _server.WORKERS[pid] = worker


def worker_exited(pid):
    """Master: forget a worker once child_exit has run."""
    _server.WORKERS.pop(pid, None)


def set_app(app):
    """Called once the app is loaded: ``worker.wsgi``."""
    _worker.wsgi = app


def run_hook(name, *values):
    """Call a lifecycle hook with gunicorn's arguments; its exceptions propagate. In the master,
    ``values`` are the worker's age for pre_fork, its pid for child_exit, and the new and old
    numbers of workers (-1 for None) for nworkers_changed."""
    fn = _hooks.get(name)
    if fn is None:
        return
    worker = _worker
    if name == "pre_fork":
        worker = _spawning.get(values[0])
    elif name == "child_exit":
        worker = _server.WORKERS.get(values[0])
        if worker is not None:
            worker.alive = False
    args = []
    for param in HOOKS[name]:
        if param == "server":
            args.append(_server)
        elif param == "worker":
            args.append(worker)
        elif param == "new_value":
            _server.num_workers = values[0]
            args.append(values[0])
        elif param == "old_value":
            args.append(None if values[1] < 0 else values[1])
        else:
            args.append(None)
    if name == "post_worker_init":
        _worker.booted = True
    if name in ("worker_int", "worker_abort", "worker_exit") and _worker is not None:
        _worker.alive = False
    if name == "worker_abort":
        _worker.aborted = True
    fn(*args)  # gunicorn ignores what a hook returns; Java reads only None


def pre_request(environ):
    """Run pre_request(worker, req); return the req, which post_request receives too."""
    _worker.nr += 1
    req = Request(environ)
    _hooks["pre_request"](_worker, req)
    return req


def post_request(req, environ, response):
    """Run post_request(worker, req, environ, resp) once the response is sent; ``response`` is
    (status line, [name, value, name, value...], bytes sent)."""
    if req is None:
        if "pre_request" not in _hooks:
            _worker.nr += 1
        req = Request(environ)
    _hooks["post_request"](_worker, req, environ, Response(*response))
