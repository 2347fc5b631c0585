package jwsgi.http;

import java.lang.ref.WeakReference;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.eclipse.jetty.util.thread.Scheduler;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("fast")
class CoarseSchedulerTest {
    @Test
    void aDueTaskRunsAndACancelledOneDoesNot() throws Exception {
        CoarseScheduler scheduler = new CoarseScheduler("test-timeouts");
        scheduler.start();
        try {
            AtomicBoolean cancelledRan = new AtomicBoolean();
            Scheduler.Task cancelled = scheduler.schedule(() -> cancelledRan.set(true), 0, TimeUnit.MILLISECONDS);
            assertTrue(cancelled.cancel());
            CountDownLatch ran = new CountDownLatch(1);
            Scheduler.Task due = scheduler.schedule(ran::countDown, 0, TimeUnit.MILLISECONDS);
            assertTrue(ran.await(5, TimeUnit.SECONDS), "a due task did not run");
            assertFalse(due.cancel(), "a task that ran can still be cancelled");
            assertFalse(cancelledRan.get(), "a cancelled task ran");
        } finally {
            scheduler.stop();
        }
    }

    /**
     * A connection's idle timeout is cancelled when the connection closes but waits in the
     * scheduler until a purge; what it refers to (the whole connection) must not wait with it,
     * or closed connections outlive young collections and fill the old generation.
     */
    @Test
    void aCancelledTaskIsNotKeptReachable() throws Exception {
        CoarseScheduler scheduler = new CoarseScheduler("test-timeouts");
        scheduler.start();
        try {
            WeakReference<Object> connection = scheduleAndCancel(scheduler);
            // A full collection clears weak references before System.gc returns.
            for (int i = 0; i < 10 && connection.get() != null; i++) System.gc();
            assertTrue(connection.get() == null, "a cancelled task still holds what it refers to");
        } finally {
            scheduler.stop();
        }
    }

    /**
     * Schedules, an hour ahead, a task that refers to an object only it holds, lets the scheduler
     * take it among its waiting tasks (a task due at once runs after that, on the same tick),
     * then cancels it.
     */
    private static WeakReference<Object> scheduleAndCancel(CoarseScheduler scheduler) throws InterruptedException {
        Object connection = new byte[1 << 20];
        Scheduler.Task task = scheduler.schedule(() -> connection.hashCode(), 1, TimeUnit.HOURS);
        CountDownLatch taken = new CountDownLatch(1);
        scheduler.schedule(taken::countDown, 0, TimeUnit.MILLISECONDS);
        assertTrue(taken.await(5, TimeUnit.SECONDS), "the scheduler did not tick");
        assertTrue(task.cancel());
        return new WeakReference<>(connection);
    }
}
