package jwsgi.server;

import java.io.File;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import jwsgi.posix.Processes;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The master's policy for workers that die at boot, on its own: the doubling delay, one start at
 * a time after a failure, when it stops the master and with which code. BootFailureTest shows
 * the same with real workers.
 */
@Tag("fast")
class BootPolicyTest {
    private static final long SECOND = Duration.ofSeconds(1).toNanos();
    private static final WorkerCommand COMMAND = command(Map.of());
    private static final Processes.Exit CRASH = new Processes.Exit(0, 11, false);

    private static Processes.Exit exited(int code) {
        return new Processes.Exit(code, 0, false);
    }

    private static WorkerCommand command(Map<String, String> env) {
        return WorkerCommand.of(new String[0], env, null, System.getProperty("java.class.path").split(File.pathSeparator)[0]);
    }

    /** A crash (a signal): no JVM options are tried for it. */
    private static BootPolicy.Verdict crashed(BootPolicy policy, long now) {
        return policy.died(COMMAND, Optional.empty(), CRASH, now);
    }

    @Test
    void aWorkerThatSaysWhyItCannotBootStopsTheMasterWithItsCode() {
        BootPolicy policy = new BootPolicy(COMMAND);
        assertEquals(new BootPolicy.Verdict.Stop(ExitCode.APP_LOAD_ERROR,
                "Worker failed to boot; stopping (starting another would fail the same way)"),
                policy.died(COMMAND, Optional.of(ExitCode.APP_LOAD_ERROR), exited(4), 0));
    }

    /** Under load the master has seen the exit before the pipe's message: the exit code says the same. */
    @Test
    void aWorkerWhoseMessageWasNotReadYetStopsTheMasterByItsExitCode() {
        BootPolicy policy = new BootPolicy(COMMAND);
        assertEquals(new BootPolicy.Verdict.Stop(ExitCode.APP_LOAD_ERROR,
                "Worker failed to boot; stopping (starting another would fail the same way)"),
                policy.died(COMMAND, Optional.empty(), exited(4), 0));
    }

    @Test
    void crashesAreRetriedWithADoublingDelayThenTheMasterStops() {
        BootPolicy policy = new BootPolicy(COMMAND);
        assertEquals(new BootPolicy.Verdict.Retry(SECOND / 2, 1), crashed(policy, 0));
        assertEquals(new BootPolicy.Verdict.Retry(SECOND, 2), crashed(policy, 0));
        assertEquals(new BootPolicy.Verdict.Stop(ExitCode.PYTHON_BOOT_ERROR, "Workers keep dying at boot (3 attempts); stopping"),
                crashed(policy, 0));
    }

    @Test
    void onceAWorkerWasReadyDeathsAtBootAreRetriedForEverAtMostEveryThirtySeconds() {
        BootPolicy policy = new BootPolicy(COMMAND);
        assertTrue(policy.ready(), "the first ready worker");
        assertFalse(policy.ready(), "only the first");
        long delay = 0;
        for (int i = 0; i < 12; i++) {
            BootPolicy.Verdict.Retry retry = assertInstanceOf(BootPolicy.Verdict.Retry.class, crashed(policy, 0));
            assertTrue(retry.delayNanos() >= delay, "the delay never shrinks: " + retry);
            delay = retry.delayNanos();
        }
        assertEquals(30 * SECOND, delay);
    }

    @Test
    void afterAFailureWorkersStartOneAtATimeOnceTheDelayIsOver() {
        BootPolicy policy = new BootPolicy(COMMAND);
        assertEquals(3, policy.toStart(3, 0), "all missing workers at once while none failed");
        long now = 100 * SECOND;
        crashed(policy, now);
        assertEquals(0, policy.toStart(3, now), "none during the delay");
        assertEquals(1, policy.toStart(3, now + SECOND / 2), "then one");
        policy.spawnFailed(now);
        assertEquals(0, policy.toStart(3, now + 29 * SECOND), "a failed spawn waits the longest delay");
        policy.reset();
        assertEquals(3, policy.toStart(3, now), "a reload starts afresh");
        assertEquals(0, policy.toStart(0, now));
    }

    @Test
    void aWorkerStartedWithOptionsFoundWantingSinceSaysNothingMore() {
        BootPolicy policy = new BootPolicy(COMMAND);
        assertEquals(new BootPolicy.Verdict.Outdated(), policy.died(command(Map.of()), Optional.empty(), CRASH, 0));
        assertEquals(new BootPolicy.Verdict.Retry(SECOND / 2, 1), crashed(policy, 0), "it did not count as a failure");
    }

    /** The first worker that exits without a word has the JVM options tried: options no JVM accepts stop the master. */
    @Test
    void theFirstSilentExitHasTheJvmOptionsTried() {
        WorkerCommand bad = command(Map.of(WorkerCommand.ENV_WORKER_JAVA_OPTS, "-XX:+NoSuchOptionAnywhere"));
        BootPolicy policy = new BootPolicy(bad);
        BootPolicy.Verdict.Stop stop = assertInstanceOf(BootPolicy.Verdict.Stop.class, policy.died(bad, Optional.empty(), exited(1), 0));
        assertSame(ExitCode.USAGE, stop.code());
        assertTrue(stop.why().startsWith("Stopping: a worker's JVM does not start with the JVM options "
                + "JWSGI_WORKER_JAVA_OPTS=\"-XX:+NoSuchOptionAnywhere\""), stop.why());
    }
}
