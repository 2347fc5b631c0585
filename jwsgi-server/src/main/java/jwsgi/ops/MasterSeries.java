package jwsgi.ops;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

/**
 * The series only the master knows, from its published {@link ServerStatus}: its workers by
 * state, the restarts by cause, and which process serves each {@code worker} label now.
 *
 * <p>Threads: any.
 */
final class MasterSeries {
    /** Every state a worker can be in, so each series exists (at 0) before it is first needed. */
    private static final List<String> STATES = List.of("booting", "ready", "retiring", "stopping", "killing");

    private MasterSeries() {}

    static List<MetricSnapshot> read(ServerStatus status) {
        Map<String, Integer> byState = new TreeMap<>();
        for (String s : STATES) byState.put(s, 0);
        for (ServerStatus.Worker w : status.workers()) byState.merge(w.state(), 1, Integer::sum);
        GaugeSnapshot.Builder workers = GaugeSnapshot.builder().name("jwsgi_workers").help("Worker processes, by state");
        byState.forEach((state, n) -> workers.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
                .labels(Labels.of("state", state)).value(n).build()));
        CounterSnapshot.Builder restarts = CounterSnapshot.builder().name("jwsgi_worker_restarts")
                .help("Worker processes replaced, by cause");
        new TreeMap<>(status.restarts()).forEach((cause, n) -> restarts.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder()
                .labels(Labels.of("cause", cause)).value(n).build()));
        InfoSnapshot.Builder info = InfoSnapshot.builder().name("jwsgi_worker")
                .help("The process behind each worker label now: its pid and gunicorn's age");
        for (ServerStatus.Worker w : status.workers()) {
            if (w.slot() < 0) continue;
            info.dataPoint(InfoSnapshot.InfoDataPointSnapshot.builder().labels(Labels.of("worker", Integer.toString(w.slot() + 1),
                    "pid", Integer.toString(w.pid()), "age", Integer.toString(w.age()), "state", w.state())).build());
        }
        GaugeSnapshot ready = GaugeSnapshot.builder().name("jwsgi_ready").help("1 when the server is ready for traffic (/readyz)")
                .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(status.ready() ? 1 : 0).build()).build();
        return List.of(workers.build(), restarts.build(), info.build(), ready);
    }
}
