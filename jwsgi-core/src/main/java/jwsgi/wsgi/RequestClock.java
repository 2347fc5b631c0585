package jwsgi.wsgi;

import java.util.concurrent.atomic.AtomicLong;

/**
 * When the request a runner is running started, and who answers it: what the {@link Watchdog}
 * reads to find requests running past {@code --timeout}. One per runner, with one word of
 * state, so timing a request costs two volatile writes and a compare-and-set, and nothing
 * when requests are not timed.
 *
 * <p>The state is 0 between requests; while the app runs, the start time (shifted left, plus
 * 2 so it is never 0) with the low bit set once the runner has begun to answer (its first
 * write to the exchange); {@link #TAKEN} once the watchdog has answered a hung request in the
 * runner's place. Both sides move it with compare-and-set, so exactly one of them answers:
 * the runner {@link #claim claims} the exchange before it first touches it, and the watchdog
 * {@link #takeOver takes over} only a request whose runner has not.
 *
 * <p>The timed part of a request (its start to {@link #stop}) is run with the GIL held, and the
 * watchdog raises its exception in the thread only with the same GIL held and after checking the
 * request is still the same ({@link #stillRunning}), so an exception never reaches the next
 * request; one raised after the app returned is cleared by the runner in {@link #stop}.
 *
 * <p>Threads: the runner's, and the watchdog's.
 */
final class RequestClock {
    static final long IDLE = 0;
    static final long TAKEN = -1;
    private static final long ANSWERING = 1;
    /** nanoTime may be negative; times are kept relative to this, so they are not. */
    private static final long EPOCH = System.nanoTime();

    private final boolean timed;
    private final AtomicLong state = new AtomicLong();
    /** Set by the watchdog once it raised its exception in the thread; read only when a request fails or ends. */
    private volatile boolean interrupted;

    RequestClock(boolean timed) {
        this.timed = timed;
    }

    /** The runner starts a request. */
    void start() {
        if (timed) state.set(((System.nanoTime() - EPOCH) << 1) + 2);
    }

    /**
     * The runner is about to write to the exchange for the first time. False when the watchdog
     * has answered in its place: the runner must not touch the exchange again.
     */
    boolean claim() {
        if (!timed) return true;
        while (true) {
            long s = state.get();
            if (s == TAKEN) return false;
            if ((s & ANSWERING) != 0 || s == IDLE) return true;
            if (state.compareAndSet(s, s | ANSWERING)) return true;
        }
    }

    /**
     * The timed part is over (called with the GIL held). False when the watchdog answered in the
     * runner's place: the outcome is to be discarded.
     */
    boolean stop() {
        if (!timed) return true;
        while (true) {
            long s = state.get();
            if (state.compareAndSet(s, IDLE)) return s != TAKEN;
        }
    }

    /** Whether the watchdog raised its exception during this request. */
    boolean interrupted() {
        return interrupted;
    }

    /** Whether the watchdog raised its exception during this request; clears the mark. */
    boolean takeInterrupted() {
        if (!interrupted) return false;
        interrupted = false;
        return true;
    }

    // ---- the watchdog's side ------------------------------------------------------------------

    /** The current state, for {@link #runningNanos}, {@link #stillRunning} and {@link #takeOver}. */
    long state() {
        return state.get();
    }

    /** How long the request of the given state has run at {@code now}, or -1 when none runs or it was taken over. */
    static long runningNanos(long s, long now) {
        if (s == IDLE || s == TAKEN) return -1;
        return now - EPOCH - (s >> 1) + 1;
    }

    /** Whether the runner has begun to answer the request of the given state. */
    static boolean answering(long s) {
        return (s & ANSWERING) != 0;
    }

    /** Whether the request of the given state still runs (the runner's start or its claim). */
    boolean stillRunning(long running) {
        long now = state.get();
        return now == running || now == (running | ANSWERING);
    }

    /** Notes that the watchdog raised its exception in the thread (with the GIL held). */
    void markInterrupted() {
        interrupted = true;
    }

    /** Takes the answer of the request of the given state from a runner that has not begun it; true when taken. */
    boolean takeOver(long running) {
        return !answering(running) && state.compareAndSet(running, TAKEN);
    }
}
