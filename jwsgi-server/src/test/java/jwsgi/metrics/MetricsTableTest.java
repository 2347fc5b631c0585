package jwsgi.metrics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import jwsgi.posix.Libc;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The shared table as the master and a worker use it: the worker's view is a second mapping of
 * the master's descriptor (as a worker process maps what it inherited), so what one writes the
 * other reads.
 */
@Tag("fast")
class MetricsTableTest {
    private static Map<Long, Long> keyed(MetricsTable table, int slot) {
        Map<Long, Long> counts = new HashMap<>();
        table.keyedCounts(slot, counts::put);
        return counts;
    }

    @Test
    void aWorkersCountsAreReadByTheMaster() throws Libc.Failure {
        MetricsTable master = MetricsTable.create();
        WorkerMetrics worker = new WorkerMetrics(MetricsTable.inherit(master.fd()), 3);
        for (int i = 0; i < 5; i++) worker.completed("GET", 200, 1_000_000);
        worker.completed("POST", 404, 20_000_000);
        worker.completed("BREW", 418, 0);
        worker.refused(431);
        worker.started(0, 50_000);
        worker.timedOut();
        worker.begun();
        worker.connectionOpened();
        Map<Long, Long> counts = keyed(master, 3);
        assertEquals(5L, counts.get(RequestKey.of(RequestKey.Kind.ANSWERED, "GET", 200)));
        assertEquals(1L, counts.get(RequestKey.of(RequestKey.Kind.ANSWERED, "POST", 404)));
        assertEquals(1L, counts.get(RequestKey.of(RequestKey.Kind.ANSWERED, "OTHER", 418)), "an unknown method counts as OTHER");
        assertEquals(1L, counts.get(RequestKey.of(RequestKey.Kind.REFUSED, null, 431)));
        assertEquals(4, counts.size());
        assertEquals(1, master.get(3, MetricsTable.Field.TIMEOUTS));
        assertEquals(1, master.get(3, MetricsTable.Field.IN_FLIGHT));
        assertEquals(1, master.get(3, MetricsTable.Field.CONNECTIONS_OPEN));
        assertEquals(1, master.get(3, MetricsTable.Field.CONNECTIONS_ACCEPTED));
        assertEquals(0, keyed(master, 2).size(), "other slots are untouched");
    }

    @Test
    void histogramsCountEachObservationInItsBucketAndSumNanoseconds() throws Libc.Failure {
        MetricsTable table = MetricsTable.create();
        WorkerMetrics worker = new WorkerMetrics(table, 0);
        worker.completed("GET", 200, 100_000);       // exactly the first bound: in it
        worker.completed("GET", 200, 100_001);       // just past it
        worker.completed("GET", 200, 61_000_000_000L);  // past every bound
        long[] h = table.histogram(0, MetricsTable.Histogram.DURATION);
        long[] expected = new long[Buckets.SECONDS.length + 2];
        expected[0] = 1;
        expected[1] = 1;
        expected[Buckets.SECONDS.length] = 1;
        expected[Buckets.SECONDS.length + 1] = 100_000 + 100_001 + 61_000_000_000L;
        assertArrayEquals(expected, h);
    }

    @Test
    void threadsOfOneWorkerClaimAndCountKeysWithoutLosingAny() throws Exception {
        MetricsTable table = MetricsTable.create();
        WorkerMetrics worker = new WorkerMetrics(table, 1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 20_000; i++) worker.completed("GET", 200 + i % 50, 1000);
            }));
        }
        for (Thread t : threads) t.join();
        Map<Long, Long> counts = keyed(table, 1);
        assertEquals(50, counts.size(), "each status has one entry, whichever thread claimed it");
        assertEquals(80_000L, counts.values().stream().mapToLong(Long::longValue).sum());
        for (long c : counts.values()) assertEquals(1600L, c);
    }

    @Test
    void moreDistinctKeysThanASlotHoldsAreCountedAsOverflow() throws Libc.Failure {
        MetricsTable table = MetricsTable.create();
        WorkerMetrics worker = new WorkerMetrics(table, 0);
        for (int status = 100; status < 100 + MetricsTable.KEYS + 10; status++) worker.completed("GET", status, 1);
        assertEquals(MetricsTable.KEYS, keyed(table, 0).size());
        assertEquals(10, table.get(0, MetricsTable.Field.OVERFLOW));
    }

    @Test
    void aSlotChangingHandsKeepsItsCountersAndDropsItsGauges() throws Libc.Failure {
        MetricsTable table = MetricsTable.create();
        WorkerMetrics crashed = new WorkerMetrics(table, 0);
        crashed.begun();
        crashed.connectionOpened();
        crashed.completed("GET", 200, 1);
        table.resetGauges(0);
        WorkerMetrics next = new WorkerMetrics(table, 0);
        next.completed("GET", 200, 1);
        assertEquals(0, table.get(0, MetricsTable.Field.IN_FLIGHT));
        assertEquals(0, table.get(0, MetricsTable.Field.CONNECTIONS_OPEN));
        assertEquals(1, table.get(0, MetricsTable.Field.CONNECTIONS_ACCEPTED));
        assertEquals(2L, keyed(table, 0).get(RequestKey.of(RequestKey.Kind.ANSWERED, "GET", 200)), "the counter goes on");
    }
}
