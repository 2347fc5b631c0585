package jwsgi.http;

import java.util.concurrent.ThreadFactory;

import org.eclipse.jetty.server.internal.HttpConnection;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * Jetty's thread pool, except for one task: an HTTP/1 connection that must go on reading after a
 * response finished on another thread than the one that read its request. Jetty hands that to a
 * pool thread ("resume"), which with {@code --threads N} is every request: the Python thread
 * that wrote the response wakes a pool thread, which only looks for a pipelined request and
 * asks the selector for more: a thread wake-up per request, and a pool grown to its limit under
 * many connections (docs/benchmarks.md). The work never blocks (reads are
 * non-blocking; a request is only queued for Python), so the thread that finished the
 * response does it.
 */
final class HttpThreadPool extends QueuedThreadPool {
    HttpThreadPool(int maxThreads, int minThreads, int idleTimeoutMillis, ThreadFactory threads) {
        super(maxThreads, minThreads, idleTimeoutMillis, -1, null, null, threads);
    }

    @Override
    public void execute(Runnable job) {
        if (job instanceof HttpConnection && isRunning()) {
            job.run();
        } else {
            super.execute(job);
        }
    }
}
