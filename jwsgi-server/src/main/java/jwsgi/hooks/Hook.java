package jwsgi.hooks;

/**
 * gunicorn's server hooks: which process runs each (the master or every worker process) and
 * when. A hook with no {@code when} is accepted and checked, but never called: jwsgi has no
 * such moment, and the server says so at start.
 */
public enum Hook {
    ON_STARTING("on_starting", "server", Role.MASTER, "in the master, after the config is read, before anything is bound"),
    ON_RELOAD("on_reload", "server", Role.MASTER, "in the master, on SIGHUP, after the config file is read again, before the new workers start"),
    WHEN_READY("when_ready", "server", Role.MASTER, "in the master, once the first worker has imported the app and the listeners accept requests"),
    PRE_FORK("pre_fork", "server, worker", Role.MASTER, "in the master, just before each worker process starts (worker.pid is \"[booting]\")"),
    POST_FORK("post_fork", "server, worker", Role.WORKER, "in each worker as it starts: before the switch to --user and before the app is imported"),
    POST_WORKER_INIT("post_worker_init", "worker", Role.WORKER, "in each worker once the app is imported, before it accepts requests"),
    WORKER_INT("worker_int", "worker", Role.WORKER, "in a worker on SIGINT (a quick stop), before it stops"),
    WORKER_ABORT("worker_abort", "worker", Role.WORKER, "in a worker whose request did not stop within the grace period after --timeout, before it is replaced"),
    PRE_EXEC("pre_exec", "server", Role.MASTER, null, "a JVM cannot re-exec itself on USR2 as gunicorn does; SIGHUP replaces the workers with new code"),
    PRE_REQUEST("pre_request", "worker, req", Role.WORKER, "before each request, on the Python thread that runs it"),
    POST_REQUEST("post_request", "worker, req, environ, resp", Role.WORKER, "after each response is handed to the client, on the same thread"),
    CHILD_EXIT("child_exit", "server, worker", Role.MASTER, "in the master, after a worker process has exited, whatever the cause"),
    WORKER_EXIT("worker_exit", "server, worker", Role.WORKER, "in a worker as it stops, after its last request"),
    NWORKERS_CHANGED("nworkers_changed", "server, new_value, old_value", Role.MASTER, "in the master: at start-up (old_value None), on SIGTTIN and SIGTTOU, and when a reload changes --workers"),
    ON_EXIT("on_exit", "server", Role.MASTER, "in the master, just before it exits"),
    SSL_CONTEXT("ssl_context", "config, default_ssl_context_factory", Role.MASTER, null, "jwsgi's TLS is Jetty's, set up from --certfile, --keyfile, --ca-certs, --cert-reqs and --ciphers; a Python ssl.SSLContext cannot configure it"),
    ON_DIRTY_STARTING("on_dirty_starting", "arbiter", Role.NONE, null, "dirty arbiters (gunicorn 25) are not offered"),
    DIRTY_POST_FORK("dirty_post_fork", "arbiter, worker", Role.NONE, null, "dirty arbiters (gunicorn 25) are not offered"),
    DIRTY_WORKER_INIT("dirty_worker_init", "worker", Role.NONE, null, "dirty arbiters (gunicorn 25) are not offered"),
    DIRTY_WORKER_EXIT("dirty_worker_exit", "arbiter, worker", Role.NONE, null, "dirty arbiters (gunicorn 25) are not offered");

    /** The process a hook runs in. */
    public enum Role {
        /** The master (gunicorn's arbiter): once per server. */
        MASTER,
        /** Each worker process. */
        WORKER,
        /** Neither: jwsgi has no such process. */
        NONE
    }

    public final String pythonName;
    /** The parameters gunicorn passes, e.g. "server, worker". */
    public final String args;
    public final Role role;
    /** Where and when jwsgi calls it, or null when it never does. */
    public final String when;
    /** Why it is never called, when it is not. */
    public final String whyNot;

    Hook(String pythonName, String args, Role role, String when) {
        this(pythonName, args, role, when, null);
    }

    Hook(String pythonName, String args, Role role, String when, String whyNot) {
        this.pythonName = pythonName;
        this.args = args;
        this.role = role;
        this.when = when;
        this.whyNot = whyNot;
    }

    public static Hook of(String pythonName) {
        for (Hook h : values()) {
            if (h.pythonName.equals(pythonName)) return h;
        }
        throw new IllegalArgumentException("no hook " + pythonName);
    }
}
