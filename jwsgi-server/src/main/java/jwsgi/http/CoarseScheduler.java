package jwsgi.http;

import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Jetty's {@link Scheduler} for timeouts that need not be punctual: a task runs between its
 * delay and one {@link #TICK_NANOS tick} later. Scheduling and cancelling never wake a thread:
 * new tasks wait in a lock-free queue that one thread drains on every tick.
 *
 * <p>Why: every connection arms an idle timeout when it opens and cancels it when it closes.
 * Jetty's own schedulers wake their thread whenever a task becomes the earliest, which for
 * connections that carry one request each is every connection: two context switches per
 * connection (futex wake and wait), more than the rest of its set-up costs. Idle timeouts are
 * seconds long; a tick's lateness does not matter to them.
 *
 * <p>Threads: {@link #schedule} and {@link Task#cancel} from any thread; tasks run on the
 * scheduler's own thread, one at a time.
 */
final class CoarseScheduler extends AbstractLifeCycle implements Scheduler {
    private static final Logger LOG = LoggerFactory.getLogger(CoarseScheduler.class);
    /** How late a task may run. */
    static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private static final int PURGE_TICKS = 50;
    private static final int PURGE_ABOVE = 1024;

    private final String name;
    private final ConcurrentLinkedQueue<Timed> added = new ConcurrentLinkedQueue<>();
    /** Only the scheduler thread touches it. */
    private final PriorityQueue<Timed> due = new PriorityQueue<>((a, b) -> Long.compare(a.deadline, b.deadline));
    private volatile Thread thread;

    CoarseScheduler(String name) {
        this.name = name;
    }

    @Override
    public Task schedule(Runnable task, long delay, TimeUnit units) {
        Timed timed = new Timed(task, System.nanoTime() + units.toNanos(Math.max(0, delay)));
        added.add(timed);
        return timed;
    }

    @Override
    protected void doStart() throws Exception {
        Thread t = Thread.ofPlatform().name(name).daemon(true).unstarted(this::run);
        thread = t;
        t.start();
        super.doStart();
    }

    @Override
    protected void doStop() throws Exception {
        Thread t = thread;
        thread = null;
        if (t != null) {
            LockSupport.unpark(t);
            t.join(TimeUnit.NANOSECONDS.toMillis(TICK_NANOS) * 10);
        }
        added.clear();
        super.doStop();
    }

    private void run() {
        long ticks = 0;
        while (thread == Thread.currentThread()) {
            LockSupport.parkNanos(TICK_NANOS);
            long now = System.nanoTime();
            for (Timed t; (t = added.poll()) != null; ) {
                if (!t.isCancelled()) due.add(t);
            }
            // Most tasks are cancelled long before they are due (a connection's idle timeout,
            // re-armed per request): drop them now and then, or they would pile up till due.
            if (++ticks % PURGE_TICKS == 0 && due.size() > PURGE_ABOVE) due.removeIf(Timed::isCancelled);
            for (Timed t; (t = due.peek()) != null && t.deadline - now <= 0; ) {
                due.poll();
                Runnable task = t.claim();
                if (task != null) runQuietly(task);
            }
        }
    }

    private static void runQuietly(Runnable task) {
        try {
            task.run();
        } catch (Throwable x) {
            LOG.warn("Scheduled task {} failed", task, x);
        }
    }

    /**
     * A task, its deadline, and whether it is still waiting, ran or was cancelled. A cancelled
     * one drops its task at once: it may wait here up to a purge, and a connection's idle
     * timeout would keep the whole closed connection reachable that long, past young
     * collections into the old generation (docs/benchmarks.md, "Memory").
     */
    private static final class Timed extends AtomicInteger implements Task {
        private static final int WAITING = 0;
        private static final int DONE = 1;
        /** Null once claimed or cancelled; written only by the thread whose compareAndSet ended the wait. */
        private Runnable task;
        final long deadline;

        Timed(Runnable task, long deadline) {
            this.task = task;
            this.deadline = deadline;
        }

        boolean isCancelled() {
            return get() != WAITING;
        }

        /** The task to run now, or null when it was cancelled. */
        Runnable claim() {
            if (!compareAndSet(WAITING, DONE)) return null;
            Runnable r = task;
            task = null;
            return r;
        }

        @Override
        public boolean cancel() {
            if (!compareAndSet(WAITING, DONE)) return false;
            task = null;
            return true;
        }
    }
}
