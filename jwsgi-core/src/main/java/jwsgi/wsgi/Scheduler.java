package jwsgi.wsgi;

/**
 * Where and when a pool's requests run: on the HTTP thread that parsed them
 * ({@link InlineScheduler}, {@code --threads 1}), or on dedicated Python threads fed from a
 * queue ({@link ThreadedScheduler}).
 *
 * <p>Threads: {@link #submit} from any platform thread made by the pool. GIL: not held here;
 * each {@link RequestRunner} takes it for its request.
 */
sealed interface Scheduler permits InlineScheduler, ThreadedScheduler {
    /** Queues a request, or runs it on the calling thread when it may. Never waits for another request. */
    void submit(Exchange exchange);

    /** Requests waiting for a Python thread. */
    int backlog();

    /** Stops the scheduler's own threads once idle, waiting up to {@code millis} for them to release their thread states. */
    void stop(long millis);

    /** A request waiting for a Python thread since {@code since} ({@link System#nanoTime()}). */
    record Queued(Exchange exchange, long since) {
        Queued(Exchange exchange) {
            this(exchange, System.nanoTime());
        }

        long waited() {
            return System.nanoTime() - since;
        }
    }
}
