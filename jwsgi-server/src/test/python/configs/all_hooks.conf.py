# Every gunicorn server hook, each recording its call (name, process, what it was given) as one
# JSON line in the file named by $HOOKS_LOG. Used by ConfigFileTest.
import json
import os

threads = 2
loglevel = "debug"


def _record(hook, **detail):
    with open(os.environ["HOOKS_LOG"], "a") as f:
        f.write(json.dumps({"hook": hook, "pid": os.getpid(), **detail}) + "\n")


def on_starting(server):
    server.log.info("hook on_starting")
    _record("on_starting", server_pid=server.pid, threads=server.cfg.threads, bind=server.cfg.bind)


def on_reload(server):
    _record("on_reload")


def when_ready(server):
    _record("when_ready", server_pid=server.pid)
    return server  # what a hook returns is ignored, as gunicorn ignores it


def pre_fork(server, worker):
    _record("pre_fork", worker_pid=worker.pid)


def post_fork(server, worker):
    _record("post_fork", worker_pid=worker.pid, age=worker.age, uid=os.getuid())


def post_worker_init(worker):
    _record("post_worker_init", worker_pid=worker.pid, booted=worker.booted)


def worker_int(worker):
    _record("worker_int", worker_pid=worker.pid)


def worker_abort(worker):
    _record("worker_abort")


def pre_exec(server):
    _record("pre_exec")


def pre_request(worker, req):
    if req.path == "/hook-fails-before":
        raise RuntimeError("pre_request refuses " + req.path)
    req.started_by_pre_request = True
    _record("pre_request", method=req.method, path=req.path, query=req.query, uri=req.uri, version=list(req.version),
            header=dict(req.headers).get("X-HOOK"), nr=worker.nr)


def post_request(worker, req, environ, resp):
    if req.path == "/hook-fails-after":
        raise RuntimeError("post_request fails for " + req.path)
    _record("post_request", path=req.path, same_req=getattr(req, "started_by_pre_request", False),
            path_info=environ["PATH_INFO"], status=resp.status, status_code=resp.status_code, sent=resp.sent,
            headers=[list(h) for h in resp.headers])


def child_exit(server, worker):
    _record("child_exit", worker_pid=worker.pid)


def worker_exit(server, worker):
    _record("worker_exit", worker_pid=worker.pid)


def nworkers_changed(server, new_value, old_value):
    _record("nworkers_changed", new=new_value, old=old_value)


def on_exit(server):
    _record("on_exit")
