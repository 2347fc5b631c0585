package jwsgi.embed;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jwsgi.wsgi.WorkerPool;
import jwsgi.wsgi.WsgiApplication;

/**
 * How to run one WSGI app in this JVM's embedded CPython: which Python, which app and how its
 * import is prepared, the Python threads (or sub-interpreters) that run its requests, how long a
 * request may run and how many may wait. Made with {@link #builder}:
 * <pre>{@code
 * PythonApp app = PythonAppOptions.builder("hello:app")
 *         .python("/srv/venv")                 // an interpreter or a virtualenv directory
 *         .pythonpath("/srv/site")
 *         .threads(4)
 *         .timeout(Duration.ofSeconds(30))
 *         .start();
 * }</pre>
 *
 * @param python    the interpreter or virtualenv directory to embed; null for {@code $VIRTUAL_ENV},
 *                  else {@code python3} on {@code PATH}
 * @param argv      {@code sys.argv}; when several apps share the runtime, the first one's stays
 * @param app       what to import ({@code module:callable} in gunicorn's forms, factories included)
 *                  and how: the directory to change to, sys.path entries, environment variables
 * @param pool      the Python threads, per interpreter, and the sub-interpreters (0: the main one)
 * @param facts     the environ's constants (wsgi.multithread, wsgi.multiprocess, SERVER_SOFTWARE)
 * @param timeout   a request running longer is interrupted, its Python stack logged, and answered
 *                  504; {@link Duration#ZERO} for no limit
 * @param maxQueued the most requests waiting for a Python thread; past it they are answered 503
 *                  at once; 0 for no bound
 */
public record PythonAppOptions(String python, List<String> argv, WsgiApplication.Spec app, WorkerPool.Options pool,
                               WsgiApplication.Facts facts, Duration timeout, int maxQueued) {
    /** Requests that may wait for a Python thread by default: seconds of work for a typical app, a bounded memory. */
    public static final int DEFAULT_MAX_QUEUED = 256;

    public PythonAppOptions {
        argv = List.copyOf(argv);
        if (app.app() == null || app.app().isBlank()) throw new IllegalArgumentException("no app given: name it as module:callable");
        if (pool.threads() < 1) throw new IllegalArgumentException("threads " + pool.threads() + ": at least 1 Python thread is needed");
        if (pool.interpreters() < 0) throw new IllegalArgumentException("sub-interpreters " + pool.interpreters() + ": 0 or more");
        if (timeout.isNegative()) throw new IllegalArgumentException("timeout " + timeout + ": zero (none) or more");
        if (maxQueued < 0) throw new IllegalArgumentException("maxQueued " + maxQueued + ": zero (no bound) or more");
        pool = pool.timed(!timeout.isZero());
    }

    /** Options for the app {@code spec} ({@code module:callable}), to be completed. */
    public static Builder builder(String spec) {
        return new Builder(spec);
    }

    /**
     * Builds the options of an app embedded in a Java application: its requests always run on
     * Python threads of its own, never on the threads that submit them (a container's, maybe
     * virtual).
     *
     * <p>Threads: one, while it builds.
     */
    public static final class Builder {
        private final String spec;
        private String python;
        private String chdir;
        private final List<String> pythonpath = new ArrayList<>();
        private final List<Map.Entry<String, String>> env = new ArrayList<>();
        private int threads = 1;
        private int subInterpreters;
        private Duration timeout = Duration.ZERO;
        private int maxQueued = DEFAULT_MAX_QUEUED;
        private List<String> argv = List.of("jwsgi");

        private Builder(String spec) {
            this.spec = spec;
        }

        /** The interpreter (e.g. /usr/bin/python3) or virtualenv directory to embed; default: $VIRTUAL_ENV, else python3 on PATH. */
        public Builder python(String interpreterOrVirtualenv) {
            this.python = interpreterOrVirtualenv;
            return this;
        }

        /**
         * The directory the process changes to before the import, put first on sys.path (gunicorn's
         * --chdir); default: none. The whole process's: relative paths the Java application opens
         * afterwards resolve against it too. Prefer {@link #pythonpath}.
         */
        public Builder chdir(String directory) {
            Path dir = Path.of(directory).toAbsolutePath().normalize();
            if (!Files.isDirectory(dir)) throw new IllegalArgumentException("chdir " + directory + ": no such directory");
            this.chdir = dir.toString();
            return this;
        }

        /** Directories put first on sys.path, relative ones against the chdir directory (gunicorn's --pythonpath). */
        public Builder pythonpath(String... directories) {
            pythonpath.addAll(List.of(directories));
            return this;
        }

        /** An environment variable set before the import (gunicorn's -e); the process's environment is Python's. */
        public Builder env(String name, String value) {
            env.add(Map.entry(name, value));
            return this;
        }

        /** Python threads that run requests (per interpreter); default 1, as gunicorn's --threads. */
        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        /**
         * Runs the app in {@code count} sub-interpreters, each with its own GIL and its own import
         * of the app, so requests run on that many cores (Python 3.13 or later); default 0, the
         * main interpreter.
         */
        public Builder subInterpreters(int count) {
            this.subInterpreters = count;
            return this;
        }

        /** A request running longer is interrupted and answered 504 (gunicorn's --timeout); default none. */
        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        /** The most requests waiting for a Python thread; past it, 503 at once; default {@value #DEFAULT_MAX_QUEUED}. */
        public Builder maxQueued(int maxQueued) {
            this.maxQueued = maxQueued;
            return this;
        }

        /** {@code sys.argv}; default {@code ["jwsgi"]}. */
        public Builder argv(List<String> argv) {
            this.argv = argv;
            return this;
        }

        public PythonAppOptions build() {
            Path base = Path.of(chdir == null ? "" : chdir).toAbsolutePath();
            List<String> path = pythonpath.stream().map(p -> base.resolve(p).normalize().toString()).toList();
            return new PythonAppOptions(python, argv, new WsgiApplication.Spec(spec, chdir, path, List.copyOf(env)),
                    WorkerPool.Options.threads(threads).inInterpreters(subInterpreters, false).onDedicatedThreads(),
                    new WsgiApplication.Facts(threads > 1, subInterpreters > 1, PythonApp.serverSoftware()), timeout, maxQueued);
        }

        /** Builds the options and starts the app ({@link PythonApp#start}). */
        public PythonApp start() {
            return PythonApp.start(build());
        }
    }
}
