package jwsgi.server;

import java.util.Optional;
import java.util.concurrent.TimeUnit;

import jwsgi.config.ConfigException;
import jwsgi.posix.Processes;

/**
 * What the master does about workers that die before they are ready (gunicorn halts on
 * WORKER_BOOT_ERROR and APP_LOAD_ERROR "to avoid infinite start/stop cycles"):
 * <ul>
 *   <li>each such death pushes the next start back, with a doubling delay, and workers are then
 *       started one at a time;</li>
 *   <li>before any worker was ever ready, a worker that says why it cannot boot (an import
 *       error: {@code boot-error} on its pipe), or three deaths in a row, stop the master with
 *       the worker's exit code: another start would fail the same way;</li>
 *   <li>the first worker that exits without a word has the JVM options tried
 *       ({@link WorkerCommand#startable}): options that only rule out the AOT cache drop it,
 *       options no JVM accepts stop the master with the JVM's reason.</li>
 * </ul>
 * Once a worker is ready, deaths at boot are retried for ever: the running workers go on serving.
 *
 * <p>Threads: the master's main thread.
 */
final class BootPolicy {
    /** Before any worker was ever ready, a worker that keeps dying at boot is tried this often, then the master gives up. */
    private static final int BOOT_ATTEMPTS = 3;
    private static final long FIRST_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    private static final long MAX_DELAY_NANOS = TimeUnit.SECONDS.toNanos(30);

    /** What to do after a worker died at boot. */
    sealed interface Verdict {
        /** Start another after {@code delayNanos}; {@code failures} in a row so far. */
        record Retry(long delayNanos, int failures) implements Verdict {}

        /** Stop the master with {@code code}, logging {@code why}. */
        record Stop(ExitCode code, String why) implements Verdict {}

        /** It was started with JVM options found wanting since: its death says nothing more. */
        record Outdated() implements Verdict {}
    }

    private WorkerCommand command;
    private boolean everReady;
    private int failures;
    private long nextStartNanos;

    BootPolicy(WorkerCommand command) {
        this.command = command;
    }

    /** What new workers are started with. */
    WorkerCommand command() {
        return command;
    }

    boolean everReady() {
        return everReady;
    }

    /** A worker is ready; true the first time one is. */
    boolean ready() {
        failures = 0;
        nextStartNanos = 0;
        if (everReady) return false;
        everReady = true;
        return true;
    }

    /** New code (a reload) starts with a clean slate. */
    void reset() {
        failures = 0;
        nextStartNanos = 0;
    }

    /** How many of {@code missing} workers to start now: none while a delay runs, one at a time after failures. */
    int toStart(int missing, long now) {
        if (missing <= 0 || now - nextStartNanos < 0) return 0;
        return failures > 0 ? 1 : missing;
    }

    /** A worker could not even be spawned (no pipe, no process): try again after the longest delay. */
    void spawnFailed(long now) {
        failures++;
        nextStartNanos = now + MAX_DELAY_NANOS;
    }

    /**
     * The boot error a worker's exit code announces: it exits with it right after saying so on its
     * pipe, and its exit may be seen before the message is read (it was, under load).
     */
    private static Optional<ExitCode> bootErrorIn(Processes.Exit exit) {
        if (exit.signaled()) return Optional.empty();
        ExitCode code = ExitCode.of(exit.code());
        return code == ExitCode.USAGE || code == ExitCode.PYTHON_BOOT_ERROR || code == ExitCode.APP_LOAD_ERROR
                ? Optional.of(code) : Optional.empty();
    }

    /**
     * A worker ended while booting.
     *
     * @param startedWith what it was started with
     * @param announced   the code it announced on its pipe before it exited, if that was read
     * @param exit        how it ended: a signal (a crash) or an exit code
     */
    Verdict died(WorkerCommand startedWith, Optional<ExitCode> announced, Processes.Exit exit, long now) {
        if (startedWith != command) return new Verdict.Outdated();
        boolean signaled = exit.signaled();
        Optional<ExitCode> bootError = announced.or(() -> bootErrorIn(exit));
        failures++;
        if (!everReady && failures == 1 && bootError.isEmpty() && !signaled) {
            try {
                command = command.startable();
            } catch (ConfigException e) {
                return new Verdict.Stop(ExitCode.USAGE, "Stopping: " + e.getMessage());
            }
        }
        if (!everReady && bootError.isPresent()) {
            return new Verdict.Stop(bootError.get(), "Worker failed to boot; stopping (starting another would fail the same way)");
        }
        if (!everReady && failures >= BOOT_ATTEMPTS) {
            return new Verdict.Stop(ExitCode.PYTHON_BOOT_ERROR, "Workers keep dying at boot (" + failures + " attempts); stopping");
        }
        long delay = Math.min(MAX_DELAY_NANOS, FIRST_DELAY_NANOS << Math.min(failures - 1, 10));
        nextStartNanos = now + delay;
        return new Verdict.Retry(delay, failures);
    }
}
