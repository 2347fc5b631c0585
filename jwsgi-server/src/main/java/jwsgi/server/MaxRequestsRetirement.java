package jwsgi.server;

import java.time.Duration;
import java.util.Locale;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a worker does once it has served its {@code --max-requests}: it asks to be replaced, but
 * not before it has run {@code --min-worker-lifetime} (uWSGI's rule). A replacement is a new JVM
 * that starts, imports the app and warms its JIT, so a worker replaced every few hundred
 * milliseconds under load would spend its whole life warming up; a floor on its lifetime bounds
 * that cost, while a worker that reaches its limit slowly is replaced exactly as gunicorn would.
 *
 * <p>Workers started at the same moment (at start, after HUP) reach the floor together, and
 * replacing them together would leave every worker cold at once. So the k-th of them waits
 * k / workers of the floor longer: replacements come spread over the floor, and each
 * replacement, started alone, keeps its place.
 *
 * <p>Threads: {@link #run} once, on the thread that answered the last request; the delayed
 * request is made from a daemon thread of its own.
 */
final class MaxRequestsRetirement implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(MaxRequestsRetirement.class);

    private final long limit;
    /** How long this worker runs at least: --min-worker-lifetime, plus its stagger. */
    private final Duration floor;
    /** What the floor is made of, for the log. */
    private final String why;
    private final long startedNanos;
    private final Consumer<String> retire;

    /**
     * @param limit        this worker's --max-requests, jitter included
     * @param minLifetime  --min-worker-lifetime
     * @param batchIndex   how many workers were started just before this one, at the same moment
     * @param workers      how many workers there are
     * @param startedNanos when the worker started, from {@link System#nanoTime()}
     * @param retire       asks the master for a replacement, given the reason
     */
    MaxRequestsRetirement(long limit, Duration minLifetime, int batchIndex, int workers, long startedNanos, Consumer<String> retire) {
        Duration stagger = minLifetime.multipliedBy(batchIndex).dividedBy(Math.max(1, workers));
        this.limit = limit;
        this.floor = minLifetime.plus(stagger);
        this.why = "--min-worker-lifetime " + minLifetime.toSeconds() + " s"
                + (stagger.isZero() ? "" : " + " + seconds(stagger) + " s as worker " + (batchIndex + 1) + " of " + workers
                + " started together");
        this.startedNanos = startedNanos;
        this.retire = retire;
    }

    @Override
    public void run() {
        Duration age = Duration.ofNanos(System.nanoTime() - startedNanos);
        Duration wait = floor.minus(age);
        String reason = "it has served --max-requests (" + limit + " requests)";
        if (!wait.isPositive()) {
            retire.accept(reason);
            return;
        }
        LOG.info("Served --max-requests ({} requests) in {} s; this worker is replaced once it has run {} s ({}), in {} s",
                limit, seconds(age), seconds(floor), why, seconds(wait));
        Thread.ofPlatform().daemon(true).name("max-requests").start(() -> {
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                return;
            }
            retire.accept(reason + " and run " + seconds(floor) + " s (" + why + ")");
        });
    }

    private static String seconds(Duration d) {
        return String.format(Locale.ROOT, "%.1f", d.toMillis() / 1000.0);
    }
}
