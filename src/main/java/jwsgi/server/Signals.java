package jwsgi.server;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import sun.misc.Signal;

/**
 * The process signals the server acts on, turned into a queue. Handlers only enqueue (no
 * logging, no locks, no Python); the server's main thread takes them one by one.
 * The JVM's own handlers stay in place: Python was initialised without its handlers, and any
 * the app installs are reverted after it loads.
 */
final class Signals {
    private static final Logger LOG = LoggerFactory.getLogger(Signals.class);

    private final BlockingQueue<String> queue = new LinkedBlockingQueue<>();

    /** Starts listening for {@code names} (e.g. "TERM", "INT", "USR1"). */
    Signals(String... names) {
        for (String name : names) {
            try {
                Signal.handle(new Signal(name), s -> queue.offer(s.getName()));
            } catch (IllegalArgumentException e) {
                // SIGINT is ignored in background jobs of non-interactive shells; the JVM keeps it so.
                LOG.debug("cannot handle SIG{}: {}", name, e.getMessage());
            }
        }
    }

    /** Blocks until a signal arrives; returns its name. */
    String next() throws InterruptedException {
        return queue.take();
    }
}
