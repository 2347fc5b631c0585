package jwsgi.wsgi;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts the requests a worker answers, for {@code --max-requests}: once the limit is reached
 * it calls back, once, on the thread that answered the last request, and the worker asks to be
 * replaced (it goes on serving until the replacement is ready).
 *
 * <p>Threads: any.
 */
public final class RequestCounter {
    private final AtomicLong served = new AtomicLong();
    private final long limit;
    private final Runnable onLimit;

    /** @param limit at least 1 */
    public RequestCounter(long limit, Runnable onLimit) {
        if (limit < 1) throw new IllegalArgumentException("limit " + limit);
        this.limit = limit;
        this.onLimit = onLimit;
    }

    void served() {
        if (served.incrementAndGet() == limit) onLimit.run();
    }

    public long limit() {
        return limit;
    }
}
