package jwsgi.metrics;

import java.util.ArrayList;
import java.util.List;

import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.Unit;

/**
 * The per-worker series of one scrape, read from the {@link MetricsTable} into the Prometheus
 * client's snapshots: every slot ever used, labelled {@code worker="N"} (the slot, from 1), so
 * each series only grows across the processes that served it.
 *
 * <p>Threads: any (the metrics listener's); it only reads the table.
 */
public final class WorkerSeries {
    private WorkerSeries() {}

    /** The series of slots 0 to {@code slots - 1}. */
    public static List<MetricSnapshot> read(MetricsTable table, int slots) {
        CounterSnapshot.Builder answered = CounterSnapshot.builder().name("jwsgi_requests")
                .help("Requests answered, by worker, method and status (the server's own refusals included)");
        CounterSnapshot.Builder refused = CounterSnapshot.builder().name("jwsgi_requests_refused")
                .help("Requests the server answered with an error it wrote itself (400, 408, 413, 431, 503...), by status");
        CounterSnapshot.Builder timeouts = CounterSnapshot.builder().name("jwsgi_request_timeouts")
                .help("Requests that ran past --timeout and were interrupted (answered 504)");
        CounterSnapshot.Builder accepted = CounterSnapshot.builder().name("jwsgi_connections_accepted")
                .help("Connections taken from the shared listener");
        GaugeSnapshot.Builder open = GaugeSnapshot.builder().name("jwsgi_connections_open")
                .help("Connections from the shared listener open now");
        GaugeSnapshot.Builder inFlight = GaugeSnapshot.builder().name("jwsgi_requests_in_flight")
                .help("Requests begun and not yet answered");
        List<HistogramSnapshot.Builder> histograms = List.of(
                histogram("jwsgi_request_duration_seconds", "From a request's first byte to the end of its response"),
                histogram("jwsgi_queue_wait_seconds", "How long a request waited for a Python thread after it was read"),
                histogram("jwsgi_gil_wait_seconds", "How long a request's thread then waited for the GIL (or its sub-interpreter)"));
        for (int slot = 0; slot < slots; slot++) {
            String worker = Integer.toString(slot + 1);
            Labels labels = Labels.of("worker", worker);
            table.keyedCounts(slot, (key, count) -> {
                switch (RequestKey.kind(key)) {
                    case ANSWERED -> answered.dataPoint(counter(Labels.of("worker", worker, "method", RequestKey.method(key),
                            "status", RequestKey.status(key)), count));
                    case REFUSED -> refused.dataPoint(counter(Labels.of("worker", worker, "status", RequestKey.status(key)), count));
                }
            });
            long overflow = table.get(slot, MetricsTable.Field.OVERFLOW);
            if (overflow > 0) {
                answered.dataPoint(counter(Labels.of("worker", worker, "method", "OTHER", "status", "overflow"), overflow));
            }
            timeouts.dataPoint(counter(labels, table.get(slot, MetricsTable.Field.TIMEOUTS)));
            accepted.dataPoint(counter(labels, table.get(slot, MetricsTable.Field.CONNECTIONS_ACCEPTED)));
            open.dataPoint(gauge(labels, table.get(slot, MetricsTable.Field.CONNECTIONS_OPEN)));
            inFlight.dataPoint(gauge(labels, table.get(slot, MetricsTable.Field.IN_FLIGHT)));
            for (MetricsTable.Histogram h : MetricsTable.Histogram.values()) {
                histograms.get(h.ordinal()).dataPoint(histogramPoint(labels, table.histogram(slot, h)));
            }
        }
        List<MetricSnapshot> all = new ArrayList<>(List.of(answered.build(), refused.build(), timeouts.build(), accepted.build(),
                open.build(), inFlight.build()));
        for (HistogramSnapshot.Builder h : histograms) all.add(h.build());
        return all;
    }

    private static HistogramSnapshot.Builder histogram(String name, String help) {
        return HistogramSnapshot.builder().name(name).help(help).unit(Unit.SECONDS);
    }

    private static CounterSnapshot.CounterDataPointSnapshot counter(Labels labels, long value) {
        return CounterSnapshot.CounterDataPointSnapshot.builder().labels(labels).value(value).build();
    }

    /** A gauge the workers move up and down; never below 0 (a connection's close can be told twice when its accept failed). */
    private static GaugeSnapshot.GaugeDataPointSnapshot gauge(Labels labels, long value) {
        return GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(labels).value(Math.max(0, value)).build();
    }

    /** @param values each bucket's count, the last past every bound, then the sum in nanoseconds */
    private static HistogramSnapshot.HistogramDataPointSnapshot histogramPoint(Labels labels, long[] values) {
        int buckets = values.length - 1;
        double[] bounds = new double[buckets];
        long[] counts = new long[buckets];
        for (int i = 0; i < buckets; i++) {
            bounds[i] = i < Buckets.SECONDS.length ? Buckets.SECONDS[i] : Double.POSITIVE_INFINITY;
            counts[i] = values[i];
        }
        return HistogramSnapshot.HistogramDataPointSnapshot.builder().labels(labels)
                .classicHistogramBuckets(ClassicHistogramBuckets.of(bounds, counts)).sum(values[buckets] / 1e9).build();
    }
}
