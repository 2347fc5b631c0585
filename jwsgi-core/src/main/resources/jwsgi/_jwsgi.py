"""jwsgi's Python side: the few objects a WSGI app needs that are best written in Python.

The server logic is in Java; this module only holds what must be a real Python object:
the app loader (gunicorn's ``module:callable`` forms), ``wsgi.file_wrapper``,
``wsgi.errors``, the streamed ``wsgi.input``, and what the watchdog needs for a request that
runs past --timeout (its exception, and the stack of the thread running it). Java calls into it through the C API.
"""
import ast
import importlib
import io
import os
import sys
import traceback


class AppLoadError(Exception):
    """The app spec named something that is not a WSGI callable. The message says why."""


def prepare(chdir, pythonpath, env):
    """Apply --chdir, --pythonpath and -e before the app is imported, as gunicorn does."""
    if chdir:
        os.chdir(chdir)
        if chdir not in sys.path:
            sys.path.insert(0, chdir)
    for entry in reversed(pythonpath):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    for key, value in env:
        os.environ[key] = value


def _parse_target(spec, target):
    """Parse ``name`` or ``name(literal, key=literal)``; return (name, args, kwargs)."""
    try:
        node = ast.parse(target, mode="eval").body
    except SyntaxError:
        raise AppLoadError(f"cannot parse {target!r} in {spec!r}: expected an attribute name "
                           f"or a call such as create_app() or create_app('arg', key=1)") from None
    if isinstance(node, ast.Name):
        return node.id, None, None
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise AppLoadError(f"the factory in {spec!r} must be a simple name, like create_app(...)")
        try:
            args = [ast.literal_eval(a) for a in node.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg is not None}
        except ValueError:
            raise AppLoadError(f"the arguments in {spec!r} must be Python literals "
                               f"(strings, numbers, True/False/None, lists, dicts)") from None
        return node.func.id, args, kwargs
    raise AppLoadError(f"cannot use {target!r} in {spec!r}: expected an attribute name or a call")


def load_app(spec):
    """Import and return the WSGI callable named by ``module:callable``, ``module`` or
    ``module:factory(args)``."""
    module_name, _, target = spec.partition(":")
    target = target or "application"
    if not module_name:
        raise AppLoadError(f"no module in {spec!r}: expected module:callable, e.g. mysite.wsgi:application")
    name, args, kwargs = _parse_target(spec, target)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name != module_name and not module_name.startswith(f"{e.name}."):
            raise  # the app's own import of something else failed: its traceback says what
        hint = ""
        if module_name.endswith(".py"):
            hint = f" (did you mean '{module_name[:-3]}:{target}'? name a module, not a file)"
        raise AppLoadError(f"no module named '{module_name}'{hint}; sys.path is {sys.path}. "
                           f"Use --chdir or --pythonpath to add the app's directory.") from e
    try:
        app = getattr(module, name)
    except AttributeError as e:
        raise AppLoadError(f"module '{module_name}' has no attribute '{name}' "
                           f"({module.__file__ if hasattr(module, '__file__') else module_name})") from e
    if args is not None:
        app = app(*args, **kwargs)
    if app is None:
        raise AppLoadError(f"'{spec}' is None: the factory returned nothing, or the name is unset")
    if not callable(app):
        raise AppLoadError(f"'{spec}' is a {type(app).__name__}, not a callable WSGI application")
    return app


class FileWrapper:
    """``wsgi.file_wrapper``. When the wrapped object is a real file, the server sends it
    from Java without passing its bytes through Python; otherwise it is iterated."""

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration


class ErrorStream:
    """``wsgi.errors``: text written here goes to the server's error log."""

    def __init__(self, log):
        self._log = log

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"wsgi.errors.write() takes str, not {type(text).__name__}")
        if text:
            self._log(text)
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass


class RequestBody(io.RawIOBase):
    """The raw stream under a streamed ``wsgi.input``: reads come from the connection, through
    Java, with the GIL released while waiting. Wrapped in io.BufferedReader for read(n),
    readline() and iteration."""

    def __init__(self, readinto, token):
        super().__init__()
        self._readinto = readinto
        self._token = token

    def readable(self):
        return True

    def readinto(self, buffer):
        return self._readinto(self._token, buffer)


def streamed_input(readinto, token):
    return io.BufferedReader(RequestBody(readinto, token), 65536)


class RequestTimeout(BaseException):
    """Raised by jwsgi in a request that has run longer than --timeout. A BaseException, as
    KeyboardInterrupt is, so that the app's ``except Exception:`` does not swallow it."""


def thread_stack(ident):
    """The Python stack of thread ``ident`` (as threading.get_ident() gives it), formatted as
    a traceback (most recent call last); None when that thread runs no Python code."""
    frame = sys._current_frames().get(ident)
    if frame is None:
        return None
    return "".join(traceback.format_stack(frame))


def module_files():
    """The source files of the modules imported so far, for --reload."""
    files = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path:
            files.add(os.path.abspath(path))
    return sorted(files)


def warmup_app(environ, start_response):
    """The app a worker calls with its own synthetic requests before it takes connections
    (--warmup), so that the JIT compiles the server's request path first. It does what every app
    does (reads the environ and wsgi.input, calls start_response, returns a body in chunks) and
    nothing else; the user's app never sees these requests."""
    environ["wsgi.input"].read()
    size = int(environ.get("QUERY_STRING") or "0")
    chunk = b"w" * min(size, 8192)
    chunks = [chunk] * (size // 8192) + [b"w" * (size % 8192)]
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(size)),
               ("Cache-Control", "no-store"), ("X-Warm-Up", environ.get("HTTP_USER_AGENT", ""))]
    start_response("200 OK", headers)
    return chunks
