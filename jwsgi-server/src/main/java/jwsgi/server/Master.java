package jwsgi.server;

import java.io.IOException;
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
import jwsgi.hooks.ServerHooks;
import jwsgi.posix.Libc;
import jwsgi.posix.Processes;
import jwsgi.posix.Signal;
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
 *   <li>QUIT stays the JVM's: it prints the master's threads (gunicorn's quick stop is INT);
 *       USR2 (gunicorn's re-exec) and WINCH are explained in the log and change nothing.</li>
 * </ul>
 * A worker that dies (an exception at import, {@code os._exit}, a crash in a C extension,
 * {@code kill -9}) is logged with its cause ({@link ExitCause}) and replaced; workers that die
 * at boot follow the {@link BootPolicy}. A worker that asks to be replaced
 * ({@code --max-requests}, a hung request, {@code --reload}) serves on until its replacement is
 * ready. A worker silent for longer than {@code --timeout} (no heartbeat: the JVM is wedged)
 * gets QUIT, which makes the JVM print its threads, then KILL.
 *
 * <p>The master imports no app and starts Python only to read a config file and call its
 * master hooks ({@link Hook.Role#MASTER}).
 *
 * <p>Threads: everything happens on the main thread, in {@link #loop}; signal handlers and the
 * threads that watch each worker only post {@link Event}s.
 */
public final class Master implements MasterOps.Control {
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
    private static final String NOT_SCALABLE = "has no effect with -k interpreter: --workers sets the number of interpreters;"
            + " change it, then reload (HUP)";

    /** What the main loop reacts to. */
    sealed interface Event {
        record Signalled(Signal signal) implements Event {}

        record Message(WorkerHandle worker, ControlMessage message) implements Event {}

        record Exited(WorkerHandle worker, Processes.Exit exit) implements Event {}

        /** Work another thread hands to the loop (a control command). */
        record Call(Runnable action) implements Event {}
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
    /** How workers are started, and what happens when they die at boot; null until the listeners are open. */
    private BootPolicy boot;
    /** Metrics, systemd, the control socket; null until the listeners are open. */
    private MasterOps ops;
    private int numWorkers;
    private int nextAge = 1;
    private int generation = 1;
    private Stop stop;
    private long stopDeadline;
    /** When a graceful stop's --drain-delay ends and its workers are told ({@link System#nanoTime()}); 0 when not draining. */
    private long drainUntil;
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
                hooks = startup.readConfigAndHooks(runtime, 0);
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
        numWorkers = settings().worker().processes();
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
            listeners = Listeners.open(settings(), System.getenv(), pid);
        } catch (IOException e) {
            LOG.error("{}", e.getMessage());
            return ExitCode.FAILURE;
        }
        try {
            connections = ConnectionTable.create();
        } catch (Libc.Failure e) {
            LOG.warn("Connections will not be balanced between the workers (each takes what the kernel gives it): {}", e.getMessage());
        }
        ops = MasterOps.start(settings(), pid, events::add, this);
        if (ops == null) return ExitCode.FAILURE;
        ops.listenersChanged(listeners.urls(settings().tls().enabled()));
        boot = new BootPolicy(WorkerCommand.of(args, System.getenv()));
        Signals.handle(signal -> events.add(new Event.Signalled(signal)), Signals.SERVER);
        return ExitCode.OK;
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
                if (drainUntil != 0 && System.nanoTime() - drainUntil > 0) stopWorkers();
                if (workers.isEmpty()) return;
                if (System.nanoTime() - stopDeadline > 0) killAll();
            } else {
                maintain();
            }
            ops.publish(workers.values(), numWorkers, stop != null);
        }
    }

    private void handle(Event event) throws ServerHooks.HookException {
        switch (event) {
            case Event.Signalled(Signal signal) -> signal(signal);
            case Event.Message(WorkerHandle w, ControlMessage m) -> message(w, m);
            case Event.Exited(WorkerHandle w, Processes.Exit exit) -> exited(w, exit);
            case Event.Call(Runnable action) -> action.run();
        }
    }

    private void signal(Signal signal) throws ServerHooks.HookException {
        LOG.info("Handling signal: {}", signal.name().toLowerCase());
        switch (signal) {
            case TERM -> beginStop(Stop.GRACEFUL);
            case INT -> beginStop(Stop.QUICK);
            case HUP -> {
                if (stop == null) reload();
            }
            case USR1 -> {
                try {
                    startup.errorLog().reopen();
                } catch (IOException e) {
                    LOG.error("Cannot reopen the error log: {}", e.getMessage());
                }
                for (WorkerHandle w : workers.values()) w.forward(Signal.USR1);
            }
            case TTIN, TTOU -> {
                int wanted = Math.max(1, numWorkers + (signal == Signal.TTIN ? 1 : -1));
                if (settings().worker().kind() == WorkerOptions.Kind.INTERPRETER) LOG.warn("{} {}", signal, NOT_SCALABLE);
                else if (wanted != numWorkers) changeWorkers(wanted);
            }
            case USR2 -> LOG.warn("SIGUSR2 (gunicorn's upgrade by re-exec) has no effect: a JVM cannot re-exec itself; HUP starts "
                    + "new workers with the new code and config while the old ones drain");
            default -> LOG.debug("{} has no effect on jwsgi's master", signal);
        }
    }

    /** TTIN, TTOU and the control socket's {@code worker add/remove}: {@code --workers} changes by {@code delta}, never below 1. */
    @Override
    public int[] scale(int delta) {
        if (settings().worker().kind() == WorkerOptions.Kind.INTERPRETER) throw new IllegalArgumentException(NOT_SCALABLE);
        int before = numWorkers;
        try {
            if (Math.max(1, before + delta) != before) changeWorkers(Math.max(1, before + delta));
        } catch (ServerHooks.HookException e) {  // a control command does not stop the server: said, and done
            LOG.error("{}\n{}", e.getMessage(), e.traceback().stripTrailing());
        }
        return new int[] {before, numWorkers};
    }

    /** The control socket's {@code worker kill PID}: that worker stops gracefully and is replaced. */
    @Override
    public boolean stopWorker(int workerPid) {
        WorkerHandle w = workers.get(workerPid);
        if (w == null || stop != null) return false;
        w.stop(Signal.TERM, System.nanoTime());
        return true;
    }

    private void changeWorkers(int wanted) throws ServerHooks.HookException {
        int old = numWorkers;
        numWorkers = wanted;
        run(Hook.NWORKERS_CHANGED, wanted, old);
        if (stop == null) LOG.info("Now running {} worker{}", wanted, wanted == 1 ? "" : "s");
    }

    private void message(WorkerHandle w, ControlMessage m) throws ServerHooks.HookException {
        if (!workers.containsKey(w.pid)) return;
        w.heard(System.nanoTime());
        switch (m.verb()) {
            case BEAT -> { }
            case READY -> ready(w);
            case RETIRE -> {
                if (w.retire()) {
                    LOG.info("Replacing {}: {}", w, m.reason());
                    ops.restarted(m.cause());
                }
            }
            case BOOT_ERROR -> w.bootFailed(m.exitCode());
        }
    }

    private void ready(WorkerHandle w) throws ServerHooks.HookException {
        if (!w.ready()) return;
        if (boot.ready()) {
            for (Listeners.Listener l : listeners.all()) LOG.info("Listening at: {} ({})", l.url(settings().tls().enabled()), pid);
            LOG.info("Using worker: {} ({}), app {}", settings().worker().describe(), settings().worker().describeProcesses(),
                    settings().app() == null ? "jwsgi_demo:application" : settings().app());
            run(Hook.WHEN_READY);
        }
        long current = workers.values().stream().filter(x -> x.generation == generation && x.state() == WorkerHandle.State.READY).count();
        ops.serving(current >= numWorkers, (int) current);
        // A new worker serves: one that waits for its replacement may go (all of them once the generation is complete).
        List<WorkerHandle> retiring = byAge(WorkerHandle.State.RETIRING);
        if (retiring.isEmpty()) return;
        int toStop = current >= numWorkers ? retiring.size() : 1;
        for (int i = 0; i < toStop; i++) retiring.get(i).stop(Signal.TERM, System.nanoTime());
    }

    private List<WorkerHandle> byAge(WorkerHandle.State state) {
        return workers.values().stream().filter(x -> x.state() == state).sorted(Comparator.comparingInt(x -> x.age)).toList();
    }

    private void exited(WorkerHandle w, Processes.Exit exit) throws ServerHooks.HookException {
        if (workers.remove(w.pid) == null) return;
        // A worker that crashed could not leave the table: the others must not wait for it.
        if (connections != null) connections.release(w.pid);
        ops.releaseSlot(w.slot);
        if (!w.endedAsTold(exit, exitCode != ExitCode.OK)) {
            LOG.error("{} {}", w, ExitCause.of(w, exit));
            if (stop == null) ops.restarted(w.restartCause());
        }
        run(Hook.CHILD_EXIT, w.pid);
        if (hooks != null) hooks.workerExited(w.pid);
        if (stop != null || w.state() != WorkerHandle.State.BOOTING) return;
        switch (boot.died(w.command, w.bootError(), exit, System.nanoTime())) {
            case BootPolicy.Verdict.Outdated() -> { }
            case BootPolicy.Verdict.Stop(ExitCode code, String why) -> {
                LOG.error(why);
                halt(code);
            }
            case BootPolicy.Verdict.Retry(long delay, int failures) -> LOG.warn("{} could not boot ({} in a row); {}next worker in {} s", w,
                    failures, boot.everReady() ? "the running workers go on serving; " : "", TimeUnit.NANOSECONDS.toMillis(delay) / 1000.0);
        }
    }

    // ---- keeping the workers ----------------------------------------------------------------

    /** Starts missing workers, stops extra ones, and kills those that stopped beating or stopping. */
    private void maintain() throws ServerHooks.HookException {
        long now = System.nanoTime();
        long silence = Math.max(MIN_SILENCE_NANOS, settings().worker().timeout().toNanos());
        long stopLimit = settings().worker().gracefulTimeout().toNanos() + STOP_MARGIN_NANOS;
        for (WorkerHandle w : List.copyOf(workers.values())) {
            switch (w.state()) {
                case BOOTING, READY, RETIRING -> {
                    if (!settings().worker().timeout().isZero() && w.silentFor(now) > silence) {
                        LOG.error("WORKER TIMEOUT (pid:{}): {} sent no heartbeat for {} s; its JVM threads follow (QUIT), then KILL",
                                w.pid, w, TimeUnit.NANOSECONDS.toSeconds(w.silentFor(now)));
                        w.dumpThreads(now);
                    }
                }
                case STOPPING -> {
                    if (w.signalledFor(now) > stopLimit) {
                        LOG.warn("{} is still running {} s after it was told to stop; killing it", w,
                                TimeUnit.NANOSECONDS.toSeconds(w.signalledFor(now)));
                        w.kill(now);
                    }
                }
                case KILLING -> {
                    if (w.signalledFor(now) > KILL_AFTER_QUIT_NANOS) w.kill(now);
                }
            }
        }
        List<WorkerHandle> active = workers.values().stream().filter(w -> w.activeIn(generation)).toList();
        int missing = numWorkers - active.size();
        int toStart = boot.toStart(missing, now);
        for (int i = 0; i < toStart; i++) spawn(i);
        if (missing < 0) {
            List<WorkerHandle> oldest = active.stream().sorted(Comparator.comparingInt(w -> w.age)).limit(-missing).toList();
            for (WorkerHandle w : oldest) {
                LOG.info("Stopping {}: {} workers are enough", w, numWorkers);
                w.stop(Signal.TERM, now);
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
        WorkerIdentity identity = new WorkerIdentity(age, listeners.all().indexOf(shared), ports, batchIndex, ops.claimSlot(),
                listeners.activated());
        Map<Integer, Integer> descriptors = new HashMap<>(Map.of(WorkerIdentity.LISTENER_FD, shared.fd()));
        if (connections != null) descriptors.put(WorkerIdentity.CONNECTIONS_FD, connections.fd());
        descriptors.putAll(ops.descriptors());
        WorkerHandle w;
        try {
            w = WorkerHandle.spawn(boot.command(), identity, generation, descriptors, events::add);
        } catch (Libc.Failure | RuntimeException e) {
            LOG.error("Cannot start a worker: {}", e.getMessage());
            ops.releaseSlot(identity.metricsSlot());
            boot.spawnFailed(System.nanoTime());
            return;
        }
        workers.put(w.pid, w);
        ops.spawned();
        if (hooks != null) hooks.workerStarted(age, w.pid);
    }

    // ---- reload and stop --------------------------------------------------------------------

    /** HUP: the config again, then new workers; the old ones go once new ones are ready. */
    private void reload() throws ServerHooks.HookException {
        LOG.info("Hang up: Master");
        Settings before = settings();
        if (runtime != null) {
            try {
                ServerHooks reloaded = startup.readConfigAndHooks(runtime, 0);
                hooks.close();
                hooks = reloaded;
            } catch (ConfigException e) {
                LOG.error("Reload failed, the workers keep running with the previous settings: {}{}", e.getMessage(),
                        e.detail() == null ? "" : "\n" + e.detail().stripTrailing());
                return;
            }
        }
        run(Hook.ON_RELOAD);
        ops.reloading();
        ops.settingsChanged(settings());
        listeners = listeners.reopen(settings());
        if (settings().worker().processes() != numWorkers) changeWorkers(settings().worker().processes());
        generation++;
        ops.listenersChanged(listeners.urls(settings().tls().enabled()));
        for (WorkerHandle w : List.copyOf(workers.values())) {
            if (w.state() == WorkerHandle.State.BOOTING) w.stop(Signal.TERM, System.nanoTime());  // it would serve the old code
            else if (w.retire()) ops.restarted("reload");
        }
        boot.reset();
    }

    private void beginStop(Stop how) {
        if (stop == Stop.QUICK || stop == how) return;
        stop = how;
        if (ops != null) ops.stopping(how == Stop.GRACEFUL);
        // Load balancers see /readyz answer 503 and stop sending before the listener closes.
        long drain = how == Stop.GRACEFUL && ops != null ? settings().ops().drainDelay().toNanos() : 0;
        long wait = how == Stop.GRACEFUL ? settings().worker().gracefulTimeout().toNanos() + STOP_MARGIN_NANOS : QUICK_STOP_NANOS;
        stopDeadline = System.nanoTime() + drain + wait;
        drainUntil = drain > 0 ? System.nanoTime() + drain : 0;
        if (drain > 0) LOG.info("Draining for {} s (--drain-delay): /readyz answers 503, requests are served", drain / 1e9);
        else stopWorkers();
    }

    /** Nothing new is queued for the workers; they finish what they accepted. */
    private void stopWorkers() {
        drainUntil = 0;
        if (listeners != null) listeners.close();
        for (WorkerHandle w : workers.values()) w.stop(stop == Stop.GRACEFUL ? Signal.TERM : Signal.INT, System.nanoTime());
    }

    /** A fatal start-up failure: stop the workers at once and exit with {@code code}. */
    private void halt(ExitCode code) {
        exitCode = code;
        stop = Stop.QUICK;
        stopDeadline = System.nanoTime() + QUICK_STOP_NANOS;
        for (WorkerHandle w : workers.values()) w.stop(Signal.KILL, System.nanoTime());
    }

    private void killAll() {
        for (WorkerHandle w : workers.values()) {
            LOG.warn("{} did not stop in time; killing it", w);
            w.kill(System.nanoTime());
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
        if (pidFile != null) pidFile.removeQuietly();
        if (started) {
            LOG.info("Shutting down: Master");
            try {
                run(Hook.ON_EXIT);
            } catch (ServerHooks.HookException e) {
                LOG.error("{}\n{}", e.getMessage(), e.traceback().stripTrailing());
            }
        }
        if (ops != null) ops.close();
        if (hooks != null) hooks.close();
        if (runtime != null) runtime.release(java.time.Duration.ofSeconds(1));
    }

    private void run(Hook hook, long... values) throws ServerHooks.HookException {
        if (hooks != null) hooks.run(hook, values);
    }
}
