package jwsgi.server;

import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import sun.misc.Signal;

/**
 * The process signals a master or worker acts on, handed to a sink by name ("TERM", "HUP").
 * Handlers only hand the name on (no logging, no locks, no Python); the process's main thread
 * takes them from its queue. The JVM's own handlers stay in place otherwise: Python was
 * initialised without its handlers, and any the app installs are reverted after it loads.
 *
 * <p>SIGQUIT cannot be handled: the JVM keeps it for its thread dumps.
 */
final class Signals {
    private static final Logger LOG = LoggerFactory.getLogger(Signals.class);

    private Signals() {}

    /** Starts handing {@code names} (e.g. "TERM", "INT", "USR1") to {@code sink}. */
    static void handle(Consumer<String> sink, String... names) {
        for (String name : names) {
            try {
                Signal.handle(new Signal(name), s -> sink.accept(s.getName()));
            } catch (IllegalArgumentException e) {
                // SIGINT is ignored in background jobs of non-interactive shells; the JVM keeps it so.
                LOG.debug("cannot handle SIG{}: {}", name, e.getMessage());
            }
        }
    }
}
