package jwsgi.wsgi;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import jwsgi.python.PythonThread;

/**
 * {@code --threads N} (or HTTP/2 with sub-interpreters): dedicated Python threads take requests
 * from one queue, so apps that wait (on a database, another service) never hold up the HTTP
 * threads. With sub-interpreters each has {@code N} threads of its own.
 *
 * <p>Threads: {@link #submit} from the HTTP threads; the queue is served by the threads started
 * by {@link #startInMain} or given by {@link #serveIn}. GIL: not held here; the runners take it.
 */
final class ThreadedScheduler implements Scheduler {
    private final Interpreters interpreters;
    private final Runners runners;
    private final int count;
    private final LinkedBlockingQueue<Queued> queue = new LinkedBlockingQueue<>();
    private final AtomicInteger backlog = new AtomicInteger();
    /** The threads serving the queue, for {@link #stop}. */
    private final List<Thread> threads = new CopyOnWriteArrayList<>();
    /** Set by {@link #stop}: what is queued from then on is answered 503 rather than left waiting. */
    private volatile boolean stopped;

    /** @param count the threads per interpreter */
    ThreadedScheduler(Interpreters interpreters, Runners runners, int count) {
        this.interpreters = interpreters;
        this.runners = runners;
        this.count = count;
    }

    /** Starts the threads in the main interpreter; returns once each has its thread state. */
    void startInMain() {
        CountDownLatch ready = new CountDownLatch(count);
        ThreadFactory workers = runners.threads("py-worker-", true);
        Runnable counted = ready::countDown;
        for (int i = 0; i < count; i++) {
            workers.newThread(() -> serve(make(() -> runners.runner(runners.mine(), interpreters.first()), counted), counted)).start();
        }
        try {
            ready.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A sub-interpreter's thread serves the queue ({@link Interpreters.Serving}). */
    void serveIn(PythonThread thread, WsgiApplication app, Runnable ready) {
        RequestRunner runner = make(() -> runners.newRunner(thread, app, true), ready);
        try {
            serve(runner, ready);
        } finally {
            runners.retire(runner);
        }
    }

    /** A thread's runner; when it cannot be made, the thread still counts as ready: one thread fewer, rather than a start that never ends. */
    private static RequestRunner make(Supplier<RequestRunner> runner, Runnable ready) {
        try {
            return runner.get();
        } catch (RuntimeException e) {
            ready.run();
            throw e;
        }
    }

    private void serve(RequestRunner runner, Runnable ready) {
        threads.add(Thread.currentThread());
        ready.run();
        while (true) {
            Queued next;
            try {
                next = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            backlog.decrementAndGet();
            Runners.run(runner, next.exchange(), next.waited());
        }
    }

    @Override
    public void submit(Exchange exchange) {
        backlog.incrementAndGet();
        queue.add(new Queued(exchange));
        if (stopped) failQueued();
    }

    @Override
    public int backlog() {
        return backlog.get();
    }

    /**
     * Interrupts the threads and waits for them; a thread still running a request is left to the
     * runtime's shutdown. The requests still queued are answered 503: whoever submitted them may
     * be waiting for their end (a servlet container's thread).
     */
    @Override
    public void stop(long millis) {
        stopped = true;
        for (Thread t : threads) t.interrupt();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        for (Thread t : threads) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) break;
            try {
                t.join(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        failQueued();
    }

    private void failQueued() {
        Queued left;
        while ((left = queue.poll()) != null) {
            backlog.decrementAndGet();
            Outcome.Failure.SHUTTING_DOWN.send(left.exchange());
        }
    }
}
