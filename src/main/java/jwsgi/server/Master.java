package jwsgi.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import jwsgi.config.Cli;
import jwsgi.config.ConfigException;
import jwsgi.config.Settings;
import jwsgi.config.WorkerOptions;
import jwsgi.hooks.Hook;
import jwsgi.hooks.PythonLogging;
import jwsgi.hooks.ServerHooks;
import jwsgi.posix.Libc;
import jwsgi.python.SignalGuard;
import jwsgi.posix.Processes;
import jwsgi.posix.ProcessOwner;
import jwsgi.posix.Sockets;
import jwsgi.python.PythonRuntime;
import jwsgi.python.PythonStartupException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * gunicorn's arbiter: keeps {@code --workers} worker processes alive, shares the listening
 * sockets with them ({@link Listeners}), and turns signals into their lifecycle.
 *
 * <ul>
 *   <li>TERM: graceful stop (every worker finishes its in-flight requests within
 *       {@code --graceful-timeout}, then exits); INT: quick stop;</li>
 *   <li>HUP: reload: the config file is read again, new workers start with it and import the
 *       app afresh, and each old worker is stopped gracefully once a new one is ready (if the
 *       new ones cannot start, the old ones go on serving);</li>
 *   <li>TTIN / TTOU: one worker more / fewer; USR1: reopen the log files (the workers too).</li>
 * </ul>
 * A worker that dies (an exception at import, {@code os._exit}, a crash in a C extension,
 * {@code kill -9}) is logged with its cause and replaced, after a growing delay while workers
 * keep dying at boot. If the very first workers cannot start because the app does not import
 * (or the settings or Python are unusable), the master stops with their exit code instead of
 * trying forever. A worker that asks to be replaced ({@code --max-requests}, a hung request,
 * {@code --reload}) serves on until its replacement is ready. A worker silent for longer than
 * {@code --timeout} (no heartbeat: the JVM is wedged) gets QUIT, which makes the JVM print its
 * threads, then KILL.
 *
 * <p>The master imports no app and starts Python only to read a config file and call its
 * master hooks ({@link Hook.Role#MASTER}).
 *
 * <p>Threads: everything happens on the main thread, in {@link #loop}; signal handlers and the
 * threads that watch each worker only post {@link Event}s.
 */
public final class Master {
    private static final Logger LOG = LoggerFactory.getLogger(Master.class);
    /** How often the loop looks at the workers when nothing happens. */
    private static final long TICK_MILLIS = 250;
    /** A worker still running this long after the graceful timeout is killed. */
    private static final long STOP_MARGIN_NANOS = TimeUnit.SECONDS.toNanos(5);
    /** A quick stop (INT) waits this long for the workers before killing them. */
    private static final long QUICK_STOP_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** After QUIT (the thread dump of a silent worker), its KILL. */
    private static final long KILL_AFTER_QUIT_NANOS = TimeUnit.SECONDS.toNanos(2);
    /** A heartbeat is missed only after this long, whatever --timeout is: a loaded machine delays threads. */
    private static final long MIN_SILENCE_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** Before any worker was ever ready, a worker that keeps dying at boot is tried this often, then the master gives up. */
    private static final int BOOT_ATTEMPTS = 3;
    private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(30);

    /** What the main loop reacts to. */
    sealed interface Event {
        record Signal(String name) implements Event {}

        record Message(WorkerHandle worker, ControlMessage message) implements Event {}

        record Exited(WorkerHandle worker, Processes.Exit exit) implements Event {}
    }

    private enum Stop { GRACEFUL, QUICK }

    private final String[] args;
    private final Startup startup;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final Map<Integer, WorkerHandle> workers = new LinkedHashMap<>();
    private final long pid = ProcessHandle.current().pid();
    private PythonRuntime runtime;
    private ServerHooks hooks;
    private PidFile pidFile;
    private Listeners listeners;
    /** The workers' connection counts, for balancing; null if it could not be made. */
    private ConnectionTable connections;
    private WorkerCommand command;
    private int numWorkers;
    private int nextAge = 1;
    private int generation = 1;
    private boolean everReady;
    private int bootFailures;
    private long nextSpawnNanos;
    private Stop stop;
    private long stopDeadline;
    private ExitCode exitCode = ExitCode.OK;
    /** on_starting ran, so on_exit runs too. */
    private boolean started;

    Master(String[] args, Startup startup) {
        this.args = args.clone();
        this.startup = startup;
    }

    private Settings settings() {
        return startup.settings();
    }

    ExitCode run() {
        try {
            ExitCode code = start();
            if (code != ExitCode.OK) return code;
            loop();
            return exitCode;
        } catch (ServerHooks.HookException e) {
            LOG.error("Stopping: {}\n{}", e.getMessage(), e.traceback().stripTrailing());
            killAll();
            return ExitCode.FAILURE;
        } finally {
            finish();
        }
    }

    private ExitCode start() throws ServerHooks.HookException {
        if (startup.configFile().isPresent()) {
            try {
                runtime = startup.startPython();
            } catch (PythonStartupException e) {
                LOG.error("Cannot start Python: {}", e.getMessage());
                return ExitCode.PYTHON_BOOT_ERROR;
            }
            try {
                startup.readConfigFile(runtime);
                PythonLogging.setup(runtime, settings().logging());
                hooks = ServerHooks.load(runtime, settings().effective(), 0);
            } catch (ConfigException e) {
                Main.printUsageError(e);
                return ExitCode.USAGE;
            }
        }
        for (String w : startup.warnings()) LOG.warn(w);
        if (hooks != null) for (String w : hooks.neverCalled()) LOG.warn(w);
        LOG.info("Starting jwsgi {}", Cli.jwsgiVersion());
        if (settings().config().printConfig() || settings().config().checkConfig()) {
            LOG.error("check_config and print_config cannot come from the config file: give --check-config or --print-config");
            return ExitCode.USAGE;
        }
        numWorkers = processes(settings());
        if (hooks != null) hooks.run(Hook.NWORKERS_CHANGED, numWorkers, -1);
        if (settings().process().pidFile() != null) {
            try {
                pidFile = PidFile.create(settings().process().pidFile(), pid);
            } catch (IOException e) {
                LOG.error("Cannot write the pid file {}: {}", settings().process().pidFile(), e.getMessage());
                return ExitCode.FAILURE;
            }
        }
        run(Hook.ON_STARTING);
        started = true;
        try {
            listeners = bind(settings());
        } catch (IOException e) {
            LOG.error("Cannot listen on {}: {}", settings().socket().binds().stream().map(b -> b.authority(b.port())).toList(),
                    e.getMessage());
            return ExitCode.FAILURE;
        }
        try {
            connections = ConnectionTable.create();
        } catch (Libc.Failure e) {
            LOG.warn("Connections will not be balanced between the workers (each takes what the kernel gives it): {}", e.getMessage());
        }
        command = WorkerCommand.of(args, System.getenv());
        Signals.handle(name -> events.add(new Event.Signal(name)), "TERM", "INT", "HUP", "USR1", "TTIN", "TTOU", "WINCH");
        return ExitCode.OK;
    }

    /** Worker processes to run: --workers, or one process for all the interpreters of -k interpreter. */
    private static int processes(Settings settings) {
        return settings.worker().kind() == WorkerOptions.Kind.INTERPRETER ? 1 : settings.worker().workers();
    }

    private static Listeners bind(Settings settings) throws IOException {
        ProcessOwner owner = settings.process().owner().filter(ProcessOwner::differsFromCurrent).orElse(null);
        return Listeners.bind(settings.socket().binds(), settings.socket().reusePort(), settings.listener().umask(), owner);
    }

    // ---- the loop -------------------------------------------------------------------------------

    private void loop() throws ServerHooks.HookException {
        while (true) {
            Event event;
            try {
                event = events.poll(TICK_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                beginStop(Stop.QUICK);
                event = null;
            }
            if (event != null) handle(event);
            if (stop != null) {
                if (workers.isEmpty()) return;
                if (System.nanoTime() - stopDeadline > 0) killAll();
            } else {
                maintain();
            }
        }
    }

    private void handle(Event event) throws ServerHooks.HookException {
        switch (event) {
            case Event.Signal(String name) -> signal(name);
            case Event.Message(WorkerHandle w, ControlMessage m) -> message(w, m);
            case Event.Exited(WorkerHandle w, Processes.Exit exit) -> exited(w, exit);
        }
    }

    private void signal(String name) throws ServerHooks.HookException {
        LOG.info("Handling signal: {}", name.toLowerCase());
        switch (name) {
            case "TERM" -> beginStop(Stop.GRACEFUL);
            case "INT" -> beginStop(Stop.QUICK);
            case "HUP" -> {
                if (stop == null) reload();
            }
            case "USR1" -> {
                try {
                    startup.errorLog().reopen();
                } catch (IOException e) {
                    LOG.error("Cannot reopen the error log: {}", e.getMessage());
                }
                for (WorkerHandle w : workers.values()) Processes.kill(w.pid, Processes.SIGUSR1);
            }
            case "TTIN", "TTOU" -> {
                if (settings().worker().kind() == WorkerOptions.Kind.INTERPRETER) {
                    LOG.warn("SIG{} has no effect with -k interpreter: --workers sets the number of interpreters; change it, then reload (HUP)", name);
                } else if (name.equals("TTIN")) {
                    changeWorkers(numWorkers + 1);
                } else if (numWorkers > 1) {
                    changeWorkers(numWorkers - 1);
                }
            }
            default -> LOG.debug("SIG{} has no effect on jwsgi's master", name);
        }
    }

    private void changeWorkers(int wanted) throws ServerHooks.HookException {
        int old = numWorkers;
        numWorkers = wanted;
        run(Hook.NWORKERS_CHANGED, wanted, old);
        if (stop == null) LOG.info("Now running {} worker{}", wanted, wanted == 1 ? "" : "s");
    }

    private void message(WorkerHandle w, ControlMessage m) throws ServerHooks.HookException {
        if (!workers.containsKey(w.pid)) return;
        w.lastBeatNanos = System.nanoTime();
        switch (m.verb()) {
            case BEAT -> { }
            case READY -> ready(w);
            case RETIRE -> {
                if (w.state == WorkerHandle.State.READY) {
                    w.state = WorkerHandle.State.RETIRING;
                    LOG.info("Replacing {}: {}", w, m.detail());
                }
            }
            case BOOT_ERROR -> w.bootError = parseCode(m.detail());
        }
    }

    private static int parseCode(String s) {
        try {
            return Integer.parseInt(s.strip());
        } catch (NumberFormatException e) {
            return ExitCode.FAILURE.code;
        }
    }

    private void ready(WorkerHandle w) throws ServerHooks.HookException {
        if (w.state != WorkerHandle.State.BOOTING) return;
        w.state = WorkerHandle.State.READY;
        bootFailures = 0;
        nextSpawnNanos = 0;
        if (!everReady) {
            everReady = true;
            for (Listeners.Listener l : listeners.all()) LOG.info("Listening at: {} ({})", l.url(settings().tls().enabled()), pid);
            LOG.info("Using worker: {} ({}), app {}", settings().worker().describe(), describeWorkers(settings()),
                    settings().app() == null ? "jwsgi_demo:application" : settings().app());
            run(Hook.WHEN_READY);
        }
        // A new worker serves: one that waits for its replacement may go (all of them once the generation is complete).
        List<WorkerHandle> retiring = byAge(WorkerHandle.State.RETIRING);
        if (retiring.isEmpty()) return;
        long current = workers.values().stream().filter(x -> x.generation == generation && x.state == WorkerHandle.State.READY).count();
        int toStop = current >= numWorkers ? retiring.size() : 1;
        for (int i = 0; i < toStop; i++) stopWorker(retiring.get(i), Processes.SIGTERM);
    }

    private static String describeWorkers(Settings settings) {
        int threads = settings.worker().threads();
        String perThread = threads + " Python thread" + (threads == 1 ? "" : "s");
        int n = settings.worker().workers();
        return settings.worker().kind() == WorkerOptions.Kind.INTERPRETER
                ? "1 process x " + n + " sub-interpreter" + (n == 1 ? "" : "s") + " x " + perThread
                : n + " worker" + (n == 1 ? "" : "s") + " x " + perThread;
    }

    private List<WorkerHandle> byAge(WorkerHandle.State state) {
        return workers.values().stream().filter(x -> x.state == state).sorted(Comparator.comparingInt(x -> x.age)).toList();
    }

    private void stopWorker(WorkerHandle w, int signal) {
        w.state = WorkerHandle.State.STOPPING;
        w.signalledNanos = System.nanoTime();
        if (signal == Processes.SIGKILL) w.killedByMaster = true;
        Processes.kill(w.pid, signal);
    }

    private void exited(WorkerHandle w, Processes.Exit exit) throws ServerHooks.HookException {
        if (workers.remove(w.pid) == null) return;
        // A worker that crashed could not leave the table: the others must not wait for it.
        if (connections != null) connections.release(w.pid);
        WorkerHandle.State was = w.state;
        // A worker told to stop may end before it handles the signal (the JVM's default: 128 + the signal).
        boolean expected = was == WorkerHandle.State.STOPPING && (exit.signaled() ? w.killedByMaster && exitCode != ExitCode.OK
                : exit.code() == 0 || exit.code() == 128 + Processes.SIGTERM || exit.code() == 128 + Processes.SIGINT);
        if (!expected) LOG.error("{} {}", w, cause(w, exit));
        run(Hook.CHILD_EXIT, w.pid);
        if (hooks != null) hooks.workerExited(w.pid);
        if (stop != null || was != WorkerHandle.State.BOOTING) return;
        // Started with JVM options found wanting since (see below): its death says nothing more.
        if (w.command != command) return;
        bootFailures++;
        if (!everReady && bootFailures == 1 && w.bootError < 0 && !exit.signaled()) {
            try {
                command = command.startable();
            } catch (ConfigException e) {
                LOG.error("Stopping: {}", e.getMessage());
                halt(ExitCode.USAGE.code);
                return;
            }
        }
        if (!everReady && (w.bootError > 0 || bootFailures >= BOOT_ATTEMPTS)) {
            int code = w.bootError > 0 ? w.bootError : ExitCode.PYTHON_BOOT_ERROR.code;
            LOG.error(w.bootError > 0 ? "Worker failed to boot; stopping (starting another would fail the same way)"
                    : "Workers keep dying at boot ({} attempts); stopping", bootFailures);
            halt(code);
            return;
        }
        long delay = Math.min(MAX_BACKOFF_NANOS, TimeUnit.MILLISECONDS.toNanos(500) << Math.min(bootFailures - 1, 10));
        nextSpawnNanos = System.nanoTime() + delay;
        LOG.warn("{} could not boot ({} in a row); {}next worker in {} s", w, bootFailures,
                everReady ? "the running workers go on serving; " : "", TimeUnit.NANOSECONDS.toMillis(delay) / 1000.0);
    }

    /** Why a worker ended, for the log: its exit code or signal, and what that usually means. */
    private static String cause(WorkerHandle w, Processes.Exit exit) {
        StringBuilder why = new StringBuilder();
        if (!exit.signaled()) {
            why.append("exited with code ").append(exit.code());
            if (w.bootError < 0 && w.state == WorkerHandle.State.BOOTING && exit.code() != 0) why.append(" while booting");
            if (exit.code() == 0) why.append(" without being asked to");
        } else {
            why.append("was killed by ").append(SignalGuard.name(exit.signal()));
            why.append(switch (exit.signal()) {
                case Processes.SIGKILL -> w.killedByMaster ? " (by the master, see above)" : " (by the kernel's out-of-memory killer, or someone's kill -9)";
                case 6 -> " (abort: a fatal error in native code: the JVM's crash report, or Python's os.abort())";
                case 11 -> " (a crash in native code, e.g. a C extension)";
                default -> "";
            });
            if (exit.coreDumped()) why.append(", core dumped");
        }
        Path report = WorkerCommand.crashReport(Integer.toString(w.pid));
        if (Files.isRegularFile(report)) why.append("; crash report ").append(report).append(crashSummary(report));
        return why.toString();
    }

    /** The lines of a JVM crash report that say what crashed: the signal, and the native frame. */
    private static String crashSummary(Path report) {
        try {
            List<String> lines = Files.readAllLines(report).stream().limit(40).toList();
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < lines.size(); i++) {
                String l = lines.get(i);
                if (l.startsWith("#  SIG") || (l.startsWith("# Problematic frame:") && i + 1 < lines.size())) {
                    s.append("\n  ").append(l.startsWith("#  SIG") ? l.substring(1).strip() : lines.get(i + 1).substring(1).strip());
                }
            }
            return s.toString();
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    // ---- keeping the workers ----------------------------------------------------------------

    /** Starts missing workers, stops extra ones, and kills those that stopped beating or stopping. */
    private void maintain() throws ServerHooks.HookException {
        long now = System.nanoTime();
        long silence = Math.max(MIN_SILENCE_NANOS, settings().worker().timeout().toNanos());
        long stopLimit = settings().worker().gracefulTimeout().toNanos() + STOP_MARGIN_NANOS;
        for (WorkerHandle w : List.copyOf(workers.values())) {
            switch (w.state) {
                case BOOTING, READY, RETIRING -> {
                    if (!settings().worker().timeout().isZero() && now - w.lastBeatNanos > silence) {
                        LOG.error("WORKER TIMEOUT (pid:{}): {} sent no heartbeat for {} s; its JVM threads follow (QUIT), then KILL",
                                w.pid, w, TimeUnit.NANOSECONDS.toSeconds(now - w.lastBeatNanos));
                        w.state = WorkerHandle.State.KILLING;
                        w.signalledNanos = now;
                        Processes.kill(w.pid, Processes.SIGQUIT);
                    }
                }
                case STOPPING -> {
                    if (now - w.signalledNanos > stopLimit) {
                        LOG.warn("{} is still running {} s after it was told to stop; killing it", w,
                                TimeUnit.NANOSECONDS.toSeconds(now - w.signalledNanos));
                        w.killedByMaster = true;
                        Processes.kill(w.pid, Processes.SIGKILL);
                        w.signalledNanos = now;
                    }
                }
                case KILLING -> {
                    if (now - w.signalledNanos > KILL_AFTER_QUIT_NANOS) {
                        w.killedByMaster = true;
                        Processes.kill(w.pid, Processes.SIGKILL);
                    }
                }
            }
        }
        List<WorkerHandle> active = workers.values().stream().filter(w -> w.generation == generation
                && (w.state == WorkerHandle.State.BOOTING || w.state == WorkerHandle.State.READY)).toList();
        int missing = numWorkers - active.size();
        if (missing > 0 && now - nextSpawnNanos >= 0) {
            // After boot failures, one at a time: each failure pushes the next attempt back.
            for (int i = 0; i < (bootFailures > 0 ? 1 : missing); i++) spawn(i);
        } else if (missing < 0) {
            List<WorkerHandle> oldest = active.stream().sorted(Comparator.comparingInt(w -> w.age)).limit(-missing).toList();
            for (WorkerHandle w : oldest) {
                LOG.info("Stopping {}: {} workers are enough", w, numWorkers);
                stopWorker(w, Processes.SIGTERM);
            }
        }
    }

    /** @param batchIndex how many workers were started just before this one, at the same moment */
    private void spawn(int batchIndex) throws ServerHooks.HookException {
        int age = nextAge++;
        if (hooks != null) hooks.workerSpawning(age);
        run(Hook.PRE_FORK, age);
        Listeners.Listener shared = listeners.shared();
        List<Integer> ports = listeners.all().stream().map(Listeners.Listener::port).toList();
        WorkerIdentity identity = new WorkerIdentity(age, listeners.all().indexOf(shared), ports, batchIndex);
        int[] pipe;
        try {
            pipe = Processes.pipe();
        } catch (Libc.Failure e) {
            LOG.error("Cannot start a worker: {}", e.getMessage());
            bootFailures++;
            nextSpawnNanos = System.nanoTime() + MAX_BACKOFF_NANOS;
            return;
        }
        int workerPid;
        try {
            Map<Integer, Integer> descriptors = new HashMap<>(Map.of(WorkerIdentity.LISTENER_FD, shared.fd(), WorkerIdentity.CONTROL_FD, pipe[1]));
            if (connections != null) descriptors.put(WorkerIdentity.CONNECTIONS_FD, connections.fd());
            workerPid = Processes.spawn(command.argv(), command.environment(identity), descriptors);
        } catch (Libc.Failure | RuntimeException e) {
            LOG.error("Cannot start a worker: {}", e.getMessage());
            Sockets.closeQuietly(pipe[0]);
            Sockets.closeQuietly(pipe[1]);
            bootFailures++;
            nextSpawnNanos = System.nanoTime() + MAX_BACKOFF_NANOS;
            return;
        }
        Sockets.closeQuietly(pipe[1]);
        WorkerHandle w = WorkerHandle.track(age, workerPid, generation, command, pipe[0], events::add);
        workers.put(workerPid, w);
        if (hooks != null) hooks.workerStarted(age, workerPid);
    }

    // ---- reload and stop --------------------------------------------------------------------

    /** HUP: the config again, then new workers; the old ones go once new ones are ready. */
    private void reload() throws ServerHooks.HookException {
        LOG.info("Hang up: Master");
        Settings before = settings();
        if (runtime != null) {
            try {
                startup.readConfigFile(runtime);
                PythonLogging.setup(runtime, settings().logging());
                ServerHooks reloaded = ServerHooks.load(runtime, settings().effective(), 0);
                hooks.close();
                hooks = reloaded;
            } catch (ConfigException e) {
                LOG.error("Reload failed, the workers keep running with the previous settings: {}{}", e.getMessage(),
                        e.detail() == null ? "" : "\n" + e.detail().stripTrailing());
                return;
            }
        }
        run(Hook.ON_RELOAD);
        if (!listeners.serve(settings().socket().binds())) {
            try {
                Listeners replaced = listeners;
                listeners = bind(settings());
                replaced.close();
            } catch (IOException e) {
                LOG.error("Reload keeps the previous listeners: cannot listen on {}: {}", settings().socket().binds(), e.getMessage());
            }
        }
        if (processes(settings()) != numWorkers) changeWorkers(processes(settings()));
        generation++;
        for (WorkerHandle w : List.copyOf(workers.values())) {
            if (w.state == WorkerHandle.State.READY) {
                w.state = WorkerHandle.State.RETIRING;
            } else if (w.state == WorkerHandle.State.BOOTING) {
                stopWorker(w, Processes.SIGTERM);  // it would serve the old code
            }
        }
        bootFailures = 0;
        nextSpawnNanos = 0;
    }

    private void beginStop(Stop how) {
        if (stop == Stop.QUICK || stop == how) return;
        stop = how;
        long wait = how == Stop.GRACEFUL ? settings().worker().gracefulTimeout().toNanos() + STOP_MARGIN_NANOS : QUICK_STOP_NANOS;
        stopDeadline = System.nanoTime() + wait;
        // Nothing new is queued for the workers; they finish what they accepted.
        if (listeners != null) listeners.close();
        for (WorkerHandle w : workers.values()) stopWorker(w, how == Stop.GRACEFUL ? Processes.SIGTERM : Processes.SIGINT);
    }

    /** A fatal start-up failure: stop the workers at once and exit with {@code code}. */
    private void halt(int code) {
        exitCode = ExitCode.of(code);
        stop = Stop.QUICK;
        stopDeadline = System.nanoTime() + QUICK_STOP_NANOS;
        for (WorkerHandle w : workers.values()) stopWorker(w, Processes.SIGKILL);
    }

    private void killAll() {
        for (WorkerHandle w : workers.values()) {
            LOG.warn("{} did not stop in time; killing it", w);
            Processes.kill(w.pid, Processes.SIGKILL);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!workers.isEmpty() && System.nanoTime() - deadline < 0) {
            try {
                Event e = events.poll(100, TimeUnit.MILLISECONDS);
                if (e instanceof Event.Exited(WorkerHandle w, Processes.Exit exit)) workers.remove(w.pid);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void finish() {
        if (listeners != null) listeners.close();
        if (pidFile != null) {
            try {
                pidFile.remove();
            } catch (IOException e) {
                LOG.debug("cannot remove the pid file {}: {}", pidFile.path(), e.getMessage());
            }
        }
        if (started) {
            LOG.info("Shutting down: Master");
            try {
                run(Hook.ON_EXIT);
            } catch (ServerHooks.HookException e) {
                LOG.error("{}\n{}", e.getMessage(), e.traceback().stripTrailing());
            }
        }
        if (hooks != null) hooks.close();
        if (runtime != null) runtime.shutdown(java.time.Duration.ofSeconds(1));
    }

    private void run(Hook hook, long... values) throws ServerHooks.HookException {
        if (hooks != null) hooks.run(hook, values);
    }
}
