# gunicorn's sample configuration (examples/example_config.py in its documentation), settings
# and hooks as its docs give them. ConfigFileTest runs it unchanged.

# Server socket: where to listen, and how many connections may wait to be accepted.
bind = '127.0.0.1:8000'
backlog = 2048

# Worker processes.
workers = 1
worker_class = 'sync'
worker_connections = 1000
timeout = 30
keepalive = 2

# The "nuclear option": trace every line the server runs.
spew = False

# Server mechanics.
daemon = False
raw_env = [
    'DJANGO_SECRET_KEY=something',
    'SPAM=eggs',
]
pidfile = None
umask = 0
user = None
group = None
tmp_upload_dir = None

# Logging.
errorlog = '-'
loglevel = 'info'
accesslog = '-'
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'

# Process naming.
proc_name = None


# Server hooks.
def post_fork(server, worker):
    server.log.info("Worker spawned (pid: %s)", worker.pid)


def pre_fork(server, worker):
    pass


def pre_exec(server):
    server.log.info("Forked child, re-executing.")


def when_ready(server):
    server.log.info("Server is ready. Spawning workers")


def worker_int(worker):
    worker.log.info("worker received INT or QUIT signal")

    # Dump every thread's stack at debug level, as the example does.
    import sys
    import threading
    import traceback
    names = {t.ident: t.name for t in threading.enumerate()}
    lines = []
    for thread_id, stack in sys._current_frames().items():
        lines.append("\n# Thread: %s(%d)" % (names.get(thread_id, ""), thread_id))
        for filename, lineno, name, line in traceback.extract_stack(stack):
            lines.append('File: "%s", line %d, in %s' % (filename, lineno, name))
            if line:
                lines.append("  %s" % line.strip())
    worker.log.debug("\n".join(lines))


def worker_abort(worker):
    worker.log.info("worker received SIGABRT signal")
