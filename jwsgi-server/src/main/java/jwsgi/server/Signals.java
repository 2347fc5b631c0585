package jwsgi.server;

import java.util.function.Consumer;

import jwsgi.posix.Libc;
import jwsgi.posix.Signal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process signals a master or worker acts on, handed to a sink. Handlers only hand the
 * signal on (no logging, no locks, no Python); the process's main thread takes them from its
 * queue. The JVM's own handlers stay in place otherwise: Python was initialised without its
 * handlers, and any the app installs are reverted after it loads.
 *
 * <p>A signal the process inherited as ignored is given its default action first: the JVM
 * would otherwise keep ignoring INT, TERM and HUP (a background job of a script starts with INT
 * and QUIT ignored, {@code nohup} with HUP), and INT would not stop the server as it stops
 * gunicorn.
 *
 * <p>QUIT cannot be handled: the JVM keeps it for its thread dumps, whatever the process
 * inherited (gunicorn's quick stop is INT here).
 */
final class Signals {
    private static final Logger LOG = LoggerFactory.getLogger(Signals.class);
    /**
     * What a master and each of its workers handle: the master acts on them all; a worker on
     * TERM, INT and USR1, and ignores the master's others, whose default would stop or end it
     * when they reach the whole process group (a terminal's, or {@code kill -HUP -PGID}).
     */
    static final Signal[] SERVER = {Signal.TERM, Signal.INT, Signal.HUP, Signal.USR1, Signal.USR2, Signal.TTIN, Signal.TTOU, Signal.WINCH};

    private Signals() {}

    /** Starts handing {@code signals} to {@code sink}. */
    static void handle(Consumer<Signal> sink, Signal... signals) {
        for (Signal signal : signals) {
            try {
                if (signal.unignore()) LOG.debug("{} was ignored (inherited from the parent process); now handled", signal);
            } catch (Libc.Failure e) {
                LOG.warn("Cannot give {} its default action: {}", signal, e.getMessage());
            }
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(signal.name()), s -> sink.accept(signal));
            } catch (IllegalArgumentException e) {
                // Only with JVM options that reserve it (-Xrs) for INT, TERM and HUP.
                LOG.warn("Cannot handle {}: {} (is -Xrs among the JVM options?)", signal, e.getMessage());
            }
        }
    }
}
