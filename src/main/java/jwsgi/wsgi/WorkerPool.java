package jwsgi.wsgi;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import jwsgi.python.PythonRuntime;

/**
 * The Python threads of one interpreter ({@code --threads N}) and the queue that feeds them.
 *
 * <p>Requests are submitted from the HTTP layer's threads, which never run Python; each
 * worker thread keeps its own thread state for life. N is also the number of requests the
 * app runs at once, exactly as gunicorn's {@code --threads}.
 *
 * <p>Threads: {@link #submit} from any thread.
 */
public final class WorkerPool {
    private final BlockingQueue<Exchange> queue = new LinkedBlockingQueue<>();
    private final List<Thread> threads = new ArrayList<>();

    /** Starts {@code count} worker threads and returns once each has its thread state. */
    public WorkerPool(PythonRuntime runtime, WsgiApplication app, int count) {
        CountDownLatch ready = new CountDownLatch(count);
        for (int i = 0; i < count; i++) {
            Thread t = PythonRuntime.newThread("py-worker-" + i, new PythonWorker(runtime, app, queue, ready));
            threads.add(t);
            t.start();
        }
        try {
            ready.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Queues a request for the next free Python thread. */
    public void submit(Exchange exchange) {
        queue.add(exchange);
    }

    /** Requests waiting for a Python thread. */
    public int backlog() {
        return queue.size();
    }

    /**
     * Stops the threads once they are idle, waiting up to {@code millis} for them to release
     * their thread states. A thread still running a request is left to the runtime's shutdown.
     */
    public void stop(long millis) {
        for (Thread t : threads) t.interrupt();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        for (Thread t : threads) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) break;
            try {
                t.join(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
