package jwsgi.wsgi;

/**
 * What the pool reports about the requests it runs, for the metrics the master serves
 * ({@code --metrics-bind}): how long each waited before its Python code ran. Calls are cheap
 * and never block (a few atomic adds).
 *
 * <p>Threads: the thread that runs the request; {@link #timedOut} the watchdog's.
 */
public interface RequestTimings {
    /**
     * A request starts in Python.
     *
     * @param queueNanos how long it waited for a Python thread (0 when the thread that read it ran it at once)
     * @param gilNanos   how long the thread then waited for the GIL (or its sub-interpreter's)
     */
    void started(long queueNanos, long gilNanos);

    /** A request was refused with 503 at once: too many requests were waiting for a Python thread. */
    void overloaded();

    /** A request ran past --timeout: the watchdog interrupts it (it is answered 504). */
    void timedOut();
}
