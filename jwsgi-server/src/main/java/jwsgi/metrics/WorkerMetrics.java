package jwsgi.metrics;

import jwsgi.http.RequestMetrics;
import jwsgi.wsgi.RequestTimings;

/**
 * A worker's counts, written into its slot of the master's {@link MetricsTable} as they
 * happen: a few atomic adds per request (its method and status, its duration, the waits for a
 * Python thread and for the GIL, in-flight up and down), nothing per scrape.
 *
 * <p>Threads: any of the worker's.
 */
public final class WorkerMetrics implements RequestMetrics, RequestTimings {
    private final MetricsTable table;
    private final int slot;

    /** Counts into slot {@code slot} of {@code table}, which the master gave this worker. */
    public WorkerMetrics(MetricsTable table, int slot) {
        this.table = table;
        this.slot = slot;
    }

    @Override
    public void begun() {
        table.add(slot, MetricsTable.Field.IN_FLIGHT, 1);
    }

    @Override
    public void ended() {
        table.add(slot, MetricsTable.Field.IN_FLIGHT, -1);
    }

    @Override
    public void completed(String method, int status, long nanos) {
        table.count(slot, RequestKey.of(RequestKey.Kind.ANSWERED, method, status));
        table.observe(slot, MetricsTable.Histogram.DURATION, nanos);
    }

    @Override
    public void refused(int status) {
        table.count(slot, RequestKey.of(RequestKey.Kind.REFUSED, null, status));
    }

    @Override
    public void started(long queueNanos, long gilNanos) {
        table.observe(slot, MetricsTable.Histogram.QUEUE_WAIT, queueNanos);
        table.observe(slot, MetricsTable.Histogram.GIL_WAIT, gilNanos);
    }

    @Override
    public void overloaded() {
        refused(503);
    }

    @Override
    public void timedOut() {
        table.add(slot, MetricsTable.Field.TIMEOUTS, 1);
    }

    /** A connection was accepted (and is open until {@link #connectionClosed}). */
    public void connectionOpened() {
        table.add(slot, MetricsTable.Field.CONNECTIONS_ACCEPTED, 1);
        table.add(slot, MetricsTable.Field.CONNECTIONS_OPEN, 1);
    }

    public void connectionClosed() {
        table.add(slot, MetricsTable.Field.CONNECTIONS_OPEN, -1);
    }
}
