package jwsgi.server;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

import jwsgi.ops.Systemd;
import jwsgi.posix.Libc;
import jwsgi.posix.Processes;
import jwsgi.posix.Signal;
import jwsgi.posix.Sockets;

/**
 * The master's view of one worker process: its pid and age, where it is in its life, and two
 * threads that turn what it does into master events: one reads its pipe ({@link ControlMessage}
 * lines), one waits for it to exit and reaps it. Its state changes only through the methods
 * below, each named after what happened to the worker.
 *
 * <p>Threads: the state is the master's main thread's; the two threads only post events.
 */
final class WorkerHandle {
    /** Where a worker is in its life. */
    enum State {
        /** Started; importing the app. */
        BOOTING,
        /** Serving. */
        READY,
        /** Serving, until a replacement is ready (it asked to be replaced, or a reload began). */
        RETIRING,
        /** Told to stop (TERM or INT); its exit is awaited. */
        STOPPING,
        /** Silent for too long: sent QUIT (a JVM thread dump), to be killed. */
        KILLING
    }

    final int age;
    final int pid;
    /** Reload generation: workers of older generations are replaced. */
    final int generation;
    /** What it was started with. */
    final WorkerCommand command;
    /** Its slot in the metrics table, or -1. */
    final int slot;
    private State state = State.BOOTING;
    private long lastHeardNanos;
    /** When the master last signalled it (STOPPING, KILLING). */
    private long signalledNanos;
    /** The code a worker that could not boot announced before exiting, or null. */
    private ExitCode bootError;
    /** The master killed it (it did not stop in time, or stopped beating): its SIGKILL is no mystery. */
    private boolean killedByMaster;

    private WorkerHandle(int age, int pid, int generation, WorkerCommand command, int slot) {
        this.age = age;
        this.pid = pid;
        this.generation = generation;
        this.command = command;
        this.slot = slot;
        this.lastHeardNanos = System.nanoTime();
    }

    /**
     * Starts a worker process with {@code descriptors} (its number to the master's) and a pipe
     * to the master at {@link WorkerIdentity#CONTROL_FD}, and tracks it.
     */
    static WorkerHandle spawn(WorkerCommand command, WorkerIdentity identity, int generation, Map<Integer, Integer> descriptors,
            Consumer<Master.Event> events) throws Libc.Failure {
        int[] pipe = Processes.pipe();
        int pid;
        try {
            Map<Integer, Integer> all = new HashMap<>(descriptors);
            all.put(WorkerIdentity.CONTROL_FD, pipe[1]);
            Map<String, String> environment = new HashMap<>(command.environment(identity));
            // systemd's variables are the master's: a worker must neither notify nor take its sockets.
            Systemd.VARIABLES.forEach(environment::remove);
            pid = Processes.spawn(command.argv(), environment, all);
        } catch (Libc.Failure | RuntimeException e) {
            Sockets.closeQuietly(pipe[0]);
            throw e;
        } finally {
            Sockets.closeQuietly(pipe[1]);
        }
        WorkerHandle w = new WorkerHandle(identity.age(), pid, generation, command, identity.metricsSlot());
        // The reader closes the master's end of the pipe at end of file.
        Thread.ofPlatform().name("worker-" + w.age + "-pipe").daemon(true).start(() -> w.read(pipe[0], events));
        Thread.ofPlatform().name("worker-" + w.age + "-wait").daemon(true).start(() -> events.accept(new Master.Event.Exited(w, reap(pid))));
        return w;
    }

    State state() {
        return state;
    }

    /** Booting or serving, in generation {@code current}: one of the workers the master keeps {@code --workers} of. */
    boolean activeIn(int current) {
        return generation == current && (state == State.BOOTING || state == State.READY);
    }

    /** The code it announced when it could not boot, if it did. */
    Optional<ExitCode> bootError() {
        return Optional.ofNullable(bootError);
    }

    /** It said something (each message doubles as a heartbeat). */
    void heard(long now) {
        lastHeardNanos = now;
    }

    /** When it last said anything ({@link System#nanoTime()}). */
    long lastHeard() {
        return lastHeardNanos;
    }

    /** Nanoseconds since it last said anything. */
    long silentFor(long now) {
        return now - lastHeardNanos;
    }

    /** Nanoseconds since the master last signalled it. */
    long signalledFor(long now) {
        return now - signalledNanos;
    }

    /** It says it serves; false unless it was booting (a late message from a worker already told to stop). */
    boolean ready() {
        if (state != State.BOOTING) return false;
        state = State.READY;
        return true;
    }

    /** It serves until a replacement is ready (it asked, or a reload began); false unless it was serving. */
    boolean retire() {
        if (state != State.READY) return false;
        state = State.RETIRING;
        return true;
    }

    /** It could not boot, and says why with an {@link ExitCode}. */
    void bootFailed(ExitCode code) {
        bootError = code;
    }

    /** Tells it to stop: TERM (gracefully), INT (quickly) or KILL. */
    void stop(Signal how, long now) {
        state = State.STOPPING;
        signalledNanos = now;
        if (how == Signal.KILL) killedByMaster = true;
        Processes.kill(pid, how);
    }

    /** It stopped beating: QUIT makes its JVM print its threads; {@link #kill} follows. */
    void dumpThreads(long now) {
        state = State.KILLING;
        signalledNanos = now;
        Processes.kill(pid, Signal.QUIT);
    }

    /** It did not stop or beat in time. */
    void kill(long now) {
        killedByMaster = true;
        signalledNanos = now;
        Processes.kill(pid, Signal.KILL);
    }

    /** Passes a signal on (USR1: reopen the logs). */
    void forward(Signal signal) {
        Processes.kill(pid, signal);
    }

    /** Why a worker that ended unasked must be replaced: it was killed for silence, died booting, or crashed. */
    String restartCause() {
        return switch (state) {
            case KILLING -> "no_heartbeat";
            case BOOTING -> "boot_failure";
            default -> "crash";
        };
    }

    boolean killedByMaster() {
        return killedByMaster;
    }

    /**
     * Whether {@code exit} is what the master asked for: it was told to stop and did (exit 0, or
     * the JVM's 128 + TERM or INT when it ended before handling the signal), or the master killed
     * it while {@code halting}.
     */
    boolean endedAsTold(Processes.Exit exit, boolean halting) {
        if (state != State.STOPPING) return false;
        if (exit.signaled()) return killedByMaster && halting;
        return exit.code() == 0 || exit.code() == 128 + Signal.TERM.number || exit.code() == 128 + Signal.INT.number;
    }

    /**
     * Waits for the worker to end. Whatever happens, the master hears of it: a wait that fails
     * (or a worker that is no longer our child) is reported as an exit with code 0, so the
     * master does not keep a worker that is gone.
     */
    private static Processes.Exit reap(int pid) {
        try {
            return Processes.waitFor(pid).orElse(new Processes.Exit(0, 0, false));
        } catch (RuntimeException e) {
            return new Processes.Exit(0, 0, false);
        }
    }

    private void read(int fd, Consumer<Master.Event> events) {
        byte[] buffer = new byte[512];
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        try {
            while (true) {
                int n = Processes.read(fd, buffer);
                if (n <= 0) return;
                for (int i = 0; i < n; i++) {
                    if (buffer[i] != '\n') {
                        if (line.size() < 4096) line.write(buffer[i]);
                        continue;
                    }
                    ControlMessage m = ControlMessage.parse(line.toString(StandardCharsets.UTF_8));
                    line.reset();
                    if (m != null) events.accept(new Master.Event.Message(this, m));
                }
            }
        } catch (Libc.Failure e) {
            // the pipe broke: the exit event says what happened to the worker
        } finally {
            Sockets.closeQuietly(fd);
        }
    }

    @Override
    public String toString() {
        return "worker " + age + " (pid " + pid + ")";
    }
}
