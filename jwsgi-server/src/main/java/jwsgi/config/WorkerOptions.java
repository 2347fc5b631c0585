package jwsgi.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/** How many workers run requests, how, and when they are replaced (gunicorn's "Worker Processes" and "Debugging"). */
public final class WorkerOptions {
    /** What a worker is. */
    public enum Kind {
        /** A process: one JVM with its own CPython (gunicorn's sync and gthread workers). */
        PROCESS,
        /** A sub-interpreter with its own GIL, all of them in one worker process (Python 3.13+). */
        INTERPRETER
    }

    /**
     * @param workers           worker processes, or sub-interpreters with {@link Kind#INTERPRETER}
     * @param kind              process or interpreter workers
     * @param threads           Python threads running requests, per worker
     * @param timeout           a request running longer is interrupted (zero: never)
     * @param gracefulTimeout   how long a stop waits for in-flight requests
     * @param keepAlive         how long an idle keep-alive connection is kept
     * @param maxRequests       a worker is replaced after this many requests (zero: never)
     * @param maxRequestsJitter up to this many more, at random, so workers are not all replaced at once
     * @param minWorkerLifetime a worker that reaches its --max-requests sooner is replaced only once it has run this long
     * @param reload            replace workers when a Python source file of the app changes
     * @param reloadExtraFiles  more files whose change replaces the workers
     * @param warmUp            the longest a worker runs synthetic requests before it takes connections (zero: none)
     */
    public record Settings(int workers, Kind kind, int threads, Duration timeout, Duration gracefulTimeout, Duration keepAlive,
                           long maxRequests, long maxRequestsJitter, Duration minWorkerLifetime, boolean reload,
                           List<Path> reloadExtraFiles, Duration warmUp) {
        /** The worker class as gunicorn's {@code -k} would name it, for the log. */
        public String describe() {
            return kind == Kind.INTERPRETER ? "interpreter" : threads > 1 ? "gthread" : "sync";
        }

        /** Worker processes to run: --workers, or one process for all the interpreters of -k interpreter. */
        public int processes() {
            return kind == Kind.INTERPRETER ? 1 : workers;
        }

        /** The processes, interpreters and threads, for the log: "2 workers x 1 Python thread". */
        public String describeProcesses() {
            String perThread = threads + " Python thread" + (threads == 1 ? "" : "s");
            return kind == Kind.INTERPRETER
                    ? "1 process x " + workers + " sub-interpreter" + (workers == 1 ? "" : "s") + " x " + perThread
                    : workers + " worker" + (workers == 1 ? "" : "s") + " x " + perThread;
        }

        /**
         * What more worker processes than cores cost, and what to run instead; empty otherwise.
         * gunicorn's advice, 2 x cores + 1 sync workers, overlaps one request's I/O with
         * another's computing. A jwsgi worker holds any number of connections, so processes beyond
         * the cores make an app that computes no faster, while each is a JVM with its own memory
         * and its own JIT to warm up; the concurrency an app that waits on I/O needs is cheaper
         * as threads.
         */
        public Optional<String> beyondCores(int cores) {
            if (kind != Kind.PROCESS || workers <= cores) return Optional.empty();
            long concurrency = (long) workers * threads;
            long perCore = (concurrency + cores - 1) / cores;
            return Optional.of("-w " + workers + " runs " + workers + " worker processes on " + cores + " core" + (cores == 1 ? "" : "s")
                    + ". Each jwsgi worker serves many connections at once, so workers beyond the cores do not make an app that "
                    + "computes faster, while each is a JVM with its own memory and its own JIT to warm up. "
                    + "For an app that waits on I/O (a database, an API), "
                    + "the same concurrency costs less as threads: -w " + cores + " --threads " + perCore);
        }
    }

    @Option(names = {"-w", "--workers"}, paramLabel = "INT", defaultValue = "${env:WEB_CONCURRENCY:-1}",
            description = "Worker processes (with -k interpreter: sub-interpreters) running requests. "
                    + "Default: $WEB_CONCURRENCY, else 1.")
    int workers;

    @Option(names = {"-k", "--worker-class"}, paramLabel = "CLASS", defaultValue = "sync",
            completionCandidates = WorkerClasses.class,
            description = "sync or gthread: worker processes, each one JVM with its own Python (gthread when --threads > 1); "
                    + "interpreter: sub-interpreters with their own GIL in one process (Python 3.13+). Default: ${DEFAULT-VALUE}.")
    String workerClass;

    @Option(names = "--threads", paramLabel = "INT", defaultValue = "1",
            description = "Python threads running requests in each worker (the app's concurrency). Default: ${DEFAULT-VALUE}.")
    int threads;

    @Option(names = {"-t", "--timeout"}, paramLabel = "SECONDS", defaultValue = "30",
            description = "A request running longer is logged with its Python stack, interrupted and answered 504; "
                    + "0 turns this off. Default: ${DEFAULT-VALUE}.")
    int timeout;

    @Option(names = "--graceful-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "On SIGTERM, and when a worker is replaced, wait this long for in-flight requests. Default: ${DEFAULT-VALUE}.")
    int gracefulTimeout;

    @Option(names = "--keep-alive", paramLabel = "SECONDS", defaultValue = "2",
            description = "Close a keep-alive connection idle this long. Default: ${DEFAULT-VALUE}.")
    int keepAlive;

    @Option(names = "--max-requests", paramLabel = "INT", defaultValue = "0",
            description = "Replace a worker, gracefully, after this many requests (a limit on slow memory leaks); "
                    + "0 turns this off. Default: ${DEFAULT-VALUE}.")
    long maxRequests;

    @Option(names = "--max-requests-jitter", paramLabel = "INT", defaultValue = "0",
            description = "Add up to this many requests, at random, to each worker's --max-requests. Default: ${DEFAULT-VALUE}.")
    long maxRequestsJitter;

    // Without it, a worker replaced every 1000 requests under load would never reach full speed (see
    // docs/benchmarks.md, "Measurements behind design choices").
    @Option(names = "--min-worker-lifetime", paramLabel = "SECONDS", defaultValue = "60",
            description = "A worker that reaches --max-requests sooner is replaced only once it has run this long "
                    + "(as uWSGI's option of that name): a new worker is a JVM that takes about 2 s of CPU to start and "
                    + "10-20 s to reach full speed. Workers started together are replaced at times spread over it, one at a "
                    + "time. 0 replaces a worker right after --max-requests. Default: ${DEFAULT-VALUE}.")
    int minWorkerLifetime;

    @Option(names = "--reload",
            description = "Replace the workers when a Python source file of the app changes (development).")
    boolean reload;

    @Option(names = "--reload-extra-file", paramLabel = "FILE",
            description = "With --reload, also watch FILE (templates, settings). Repeat it for more files.")
    List<String> reloadExtraFiles;

    @Option(names = "--warmup", paramLabel = "SECONDS",
            description = "jwsgi's own: before a worker takes connections, it sends synthetic requests through its own HTTP"
                    + " and WSGI code (to a built-in app, never yours: no hook or log sees them) until the JIT has compiled"
                    + " that code, for at most SECONDS; it then serves at full speed from its first request, and a reload"
                    + " or replacement puts no cold worker in service. 0 = off. Default: 10, or 0 with --reload.")
    Integer warmUp;

    /** --warmup's default: the JIT settles well within it on 2 cores (docs/benchmarks.md). */
    private static final int DEFAULT_WARM_UP_SECONDS = 10;

    /** The worker classes jwsgi offers, for --help and for suggestions. */
    static final class WorkerClasses extends ArrayList<String> {
        WorkerClasses() {
            super(List.of("sync", "gthread", "interpreter"));
        }
    }

    Settings settings(CommandLine cmd) {
        if (workers < 1) throw new CommandLine.ParameterException(cmd, "--workers " + workers + ": must be at least 1");
        if (threads < 1) throw new CommandLine.ParameterException(cmd, "--threads " + threads + ": must be at least 1");
        nonNegative(cmd, "--timeout", timeout, " seconds");
        nonNegative(cmd, "--graceful-timeout", gracefulTimeout, " seconds");
        nonNegative(cmd, "--keep-alive", keepAlive, " seconds");
        nonNegative(cmd, "--max-requests", maxRequests, "");
        nonNegative(cmd, "--max-requests-jitter", maxRequestsJitter, "");
        nonNegative(cmd, "--min-worker-lifetime", minWorkerLifetime, " seconds");
        List<Path> extra = new ArrayList<>();
        if (reloadExtraFiles != null) {
            for (String f : reloadExtraFiles) extra.add(Path.of(f).toAbsolutePath().normalize());
        }
        if (warmUp != null) nonNegative(cmd, "--warmup", warmUp, " seconds");
        Duration warm = Duration.ofSeconds(warmUp != null ? warmUp : reload ? 0 : DEFAULT_WARM_UP_SECONDS);
        return new Settings(workers, kind(cmd), threads, Duration.ofSeconds(timeout), Duration.ofSeconds(gracefulTimeout),
                Duration.ofSeconds(keepAlive), maxRequests, maxRequestsJitter, Duration.ofSeconds(minWorkerLifetime), reload,
                List.copyOf(extra), warm);
    }

    private static void nonNegative(CommandLine cmd, String flag, long value, String unit) {
        if (value < 0) throw new CommandLine.ParameterException(cmd, flag + " " + value + ": must be 0 or more" + unit);
    }

    /** gunicorn's worker class names (short or as a class path) mapped to what jwsgi runs. */
    private Kind kind(CommandLine cmd) {
        String k = workerClass.strip();
        String lower = k.toLowerCase(Locale.ROOT);
        switch (lower) {
            case "sync", "gthread", "gunicorn.workers.sync.syncworker", "gunicorn.workers.gthread.threadworker" -> {
                return Kind.PROCESS;
            }
            case "interpreter" -> {
                return Kind.INTERPRETER;
            }
            default -> { }
        }
        String why;
        if (lower.contains("gevent") || lower.contains("eventlet") || lower.contains("tornado")) {
            why = "jwsgi has no greenlet or event-loop workers: Jetty holds idle connections without a thread each, "
                    + "so use --threads N for apps that wait on I/O";
        } else if (lower.contains("uvicorn") || lower.contains("asgi")) {
            why = "that is an ASGI worker, and jwsgi serves WSGI apps";
        } else {
            why = "jwsgi offers sync and gthread (worker processes) and interpreter (sub-interpreters, Python 3.13+)";
        }
        throw new CommandLine.ParameterException(cmd, "--worker-class " + k + ": " + why);
    }
}
