package jwsgi.http;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.component.Graceful;

/**
 * The graceful part of a worker's stop: Jetty's {@code Server.stop()} waits until the requests
 * in flight here are done (or the graceful timeout). Unlike Jetty's GracefulHandler, a request
 * that arrives on an open keep-alive connection while the worker drains is served, not refused
 * with 503, and its response says {@code Connection: close}, so the client's next request goes
 * out on a new connection, which a worker that is not stopping accepts. During a reload or a
 * worker's replacement, no request fails. It also costs one callback per request, where Jetty's
 * wraps the request as well.
 *
 * <p>The stop goes in two steps, because Jetty's own would lose a request now and then: once
 * its connectors are shut down, a keep-alive response that was begun before and ends after is
 * followed by a half-close, which the client sees only after it has sent its next request on that
 * connection. So first {@link #drain} marks every new HTTP/1 response {@code Connection: close}
 * and {@link #awaitKeptAlive} waits for the responses begun before (which may keep their
 * connection); only then is Jetty stopped.
 */
final class DrainingHandler extends Handler.Wrapper implements Graceful {
    private final AtomicLong inFlight = new AtomicLong();
    /** Requests in flight whose response may keep its connection open: begun before {@link #drain}. */
    private final AtomicLong keptAlive = new AtomicLong();
    /** Whether responses get {@code Connection: close} while draining (HTTP, not uwsgi or FastCGI, whose connections belong to a front server). */
    private final boolean closeWhenDraining;
    private final RequestMetrics metrics;
    private volatile boolean draining;
    private final Graceful.Shutdown shutdown = new Graceful.Shutdown(this) {
        @Override
        public boolean isShutdownDone() {
            return inFlight.get() == 0;
        }
    };

    /** @param metrics told when each request begins and ends (requests in flight) */
    DrainingHandler(Handler handler, boolean closeWhenDraining, RequestMetrics metrics) {
        super(handler);
        this.closeWhenDraining = closeWhenDraining;
        this.metrics = metrics;
    }

    /** From now on, HTTP/1 responses close their connection. */
    void drain() {
        draining = true;
    }

    /**
     * Waits until every response begun before {@link #drain} is done, at most until {@code deadlineNanos}.
     *
     * @return whether they are all done
     */
    boolean awaitKeptAlive(long deadlineNanos) throws InterruptedException {
        while (keptAlive.get() > 0) {
            if (System.nanoTime() - deadlineNanos > 0) return false;
            Thread.sleep(5);
        }
        return true;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        Handler next = getHandler();
        if (next == null || !isStarted()) return false;
        inFlight.incrementAndGet();
        metrics.begun();
        // Counted first, then the flag read: drain() then waits for every request that did not see it.
        keptAlive.incrementAndGet();
        boolean closing = draining;
        if (closing) {
            keptAlive.decrementAndGet();
            HttpVersion version = request.getConnectionMetaData().getHttpVersion();
            if (closeWhenDraining && (version == HttpVersion.HTTP_1_1 || version == HttpVersion.HTTP_1_0)) {
                response.getHeaders().put(HttpHeader.CONNECTION, "close");
            }
        }
        Callback tracked = new Tracked(callback, !closing);
        boolean handled;
        try {
            handled = next.handle(request, response, tracked);
        } catch (Throwable x) {
            Response.writeError(request, response, tracked, x);
            return true;
        }
        if (!handled) done(!closing);
        return handled;
    }

    private void done(boolean mayKeepAlive) {
        metrics.ended();
        if (mayKeepAlive) keptAlive.decrementAndGet();
        if (inFlight.decrementAndGet() == 0 && shutdown.isShutdown()) shutdown.check();
    }

    /** The request's callback, which also counts it done. */
    private final class Tracked extends Callback.Nested {
        private final boolean mayKeepAlive;

        Tracked(Callback callback, boolean mayKeepAlive) {
            super(callback);
            this.mayKeepAlive = mayKeepAlive;
        }

        @Override
        public void completed() {
            done(mayKeepAlive);
        }
    }

    @Override
    public boolean isShutdown() {
        return shutdown.isShutdown();
    }

    @Override
    public CompletableFuture<Void> shutdown() {
        return shutdown.shutdown();
    }

    @Override
    protected void doStart() throws Exception {
        // A stopped server stays "shut down" until it starts again.
        shutdown.cancel();
        draining = false;
        super.doStart();
    }
}
