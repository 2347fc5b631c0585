package jwsgi.http;

import java.util.function.BooleanSupplier;

/**
 * What the connector of the listener shared by the workers consults around each accept, so a
 * worker can leave new connections to a less loaded one. Left alone, the kernel hands each
 * connection to whichever worker's acceptor comes back to {@code accept()} first: a burst of
 * keep-alive connections lands mostly on one worker (docs/benchmarks.md), which then serves them
 * all on one core while the other idles.
 *
 * <p>Threads: {@link #awaitTurn} and {@link #accepted} on the acceptor thread; {@link #closed}
 * on any Jetty thread; {@link #withdraw} on the thread that stops the worker.
 */
public interface AcceptGate {
    /** For a worker alone (or without the master's table): takes every connection. */
    AcceptGate NONE = new AcceptGate() {
        @Override
        public void awaitTurn(BooleanSupplier accepting) {
            // no other worker to leave connections to
        }

        @Override
        public void accepted() {
            // nobody to tell
        }

        @Override
        public void closed() {
            // nobody to tell
        }

        @Override
        public void withdraw() {
            // nobody to tell
        }
    };

    /**
     * Returns when this worker should take the next connection: at once unless it holds clearly
     * more than another worker, else once a connection has waited too long for the others, or
     * once {@code accepting} turns false (the listener was closed).
     */
    void awaitTurn(BooleanSupplier accepting);

    /**
     * The acceptor took a connection from the shared listener. Counted at once, not when its
     * selector opens it later: in a burst, an acceptor takes many before the first is open.
     */
    void accepted();

    /** A connection from the shared listener was closed, or failed before it opened. */
    void closed();

    /** This worker stops accepting: the others no longer wait for it to take connections. */
    void withdraw();
}
