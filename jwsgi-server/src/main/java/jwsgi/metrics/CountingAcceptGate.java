package jwsgi.metrics;

import java.util.function.BooleanSupplier;

import jwsgi.http.AcceptGate;

/**
 * An {@link AcceptGate} that also counts the connections it is told of: each one accepted from
 * the shared listener, and each one closed. The gate sees every connection of that listener
 * exactly when it is taken and when it ends, which no Jetty listener does once protocols
 * upgrade (PROXY to HTTP, HTTP/1.1 to h2c).
 *
 * <p>Threads: as {@link AcceptGate}'s.
 */
public final class CountingAcceptGate implements AcceptGate {
    private final AcceptGate gate;
    private final WorkerMetrics metrics;

    public CountingAcceptGate(AcceptGate gate, WorkerMetrics metrics) {
        this.gate = gate;
        this.metrics = metrics;
    }

    @Override
    public void awaitTurn(BooleanSupplier accepting) {
        gate.awaitTurn(accepting);
    }

    @Override
    public void accepted() {
        metrics.connectionOpened();
        gate.accepted();
    }

    @Override
    public void closed() {
        metrics.connectionClosed();
        gate.closed();
    }

    @Override
    public void withdraw() {
        gate.withdraw();
    }
}
