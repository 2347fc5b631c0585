package jwsgi.metrics;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import jwsgi.posix.Libc;
import jwsgi.posix.SharedMemory;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Every worker's request counts, in memory the master shares with its workers
 * ({@link SharedMemory}): each worker adds to its own slot with plain atomic adds (no lock,
 * no message, nothing the master must do per request), and the master reads every slot when
 * it is scraped. Counts are exact: each is one 64-bit word changed only by atomic instructions.
 *
 * <p>The master gives each worker a free slot when it starts it and takes it back when the
 * worker ends. A slot's counters are never reset: the next worker given the slot adds to them,
 * so the series of a slot (label {@code worker="N"}) only ever grow, whichever processes served
 * them, and a worker's counts survive it (nothing is lost between the last scrape and its exit;
 * nothing is counted twice). Its gauges (requests in flight, connections open) are the current
 * worker's and are zeroed when a slot changes hands.
 *
 * <p>A slot, in 64-bit words: the {@link Field}s; three histograms ({@link Histogram}), each
 * a count per bucket and the sum in nanoseconds; then a small open-addressed table of counts
 * by {@link RequestKey} (method and status), whose keys are claimed with compare-and-set.
 *
 * <p>Threads: any, in any of the processes.
 */
public final class MetricsTable {
    /** Workers that can count at once: more than any server runs, twice over during a reload. */
    public static final int SLOTS = 256;
    /** One page per slot: a slot nobody uses costs no memory (the pages of a memfd are made when first touched). */
    static final long SLOT_BYTES = 4096;
    /** Counts by method and status a slot keeps; more distinct ones are counted as {@link Field#OVERFLOW}. */
    static final int KEYS = 128;

    private static final VarHandle WORD = JAVA_LONG.varHandle();
    /** Words reserved for {@link Field}s, so that adding one moves no other offset. */
    private static final int FIELDS = 8;
    /** Upper bounds (inclusive) of the histograms' buckets, in nanoseconds; one more bucket holds the rest. */
    private static final long[] BOUNDS_NANOS = bounds(Buckets.SECONDS);
    private static final int HISTOGRAM_WORDS = BOUNDS_NANOS.length + 2;
    private static final int KEYS_AT = FIELDS + Histogram.values().length * HISTOGRAM_WORDS;

    static {
        if ((KEYS_AT + 2L * KEYS) * Long.BYTES > SLOT_BYTES) throw new ExceptionInInitializerError("a metrics slot overflows its page");
        if (Field.values().length > FIELDS) throw new ExceptionInInitializerError("more metrics fields than FIELDS reserves");
    }

    /** The single-word values of a slot. */
    public enum Field {
        /** Requests begun and not yet answered (a gauge). */
        IN_FLIGHT,
        /** Connections open now (a gauge). */
        CONNECTIONS_OPEN,
        /** Connections ever opened. */
        CONNECTIONS_ACCEPTED,
        /** Requests that ran past --timeout and were interrupted. */
        TIMEOUTS,
        /** Requests counted when the keyed counts of the slot were all taken. */
        OVERFLOW;

        boolean gauge() {
            return this == IN_FLIGHT || this == CONNECTIONS_OPEN;
        }
    }

    /** The distributions a slot keeps. */
    public enum Histogram {
        /** From a request's first byte to its response's last. */
        DURATION,
        /** From a request's arrival (its body read) until a Python thread took it. */
        QUEUE_WAIT,
        /** The taking of the GIL (or the sub-interpreter's own) before a request runs. */
        GIL_WAIT
    }

    private final SharedMemory memory;
    private final MemorySegment words;

    private MetricsTable(SharedMemory memory) {
        this.memory = memory;
        this.words = memory.segment();
    }

    /** The master's new, empty table. */
    public static MetricsTable create() throws Libc.Failure {
        return new MetricsTable(SharedMemory.create("jwsgi-metrics", SLOTS * SLOT_BYTES));
    }

    /** A worker's view of its master's table, whose descriptor it inherited. */
    public static MetricsTable inherit(int fd) throws Libc.Failure {
        return new MetricsTable(SharedMemory.map(fd, SLOTS * SLOT_BYTES));
    }

    /** The descriptor a worker inherits. */
    public int fd() {
        return memory.fd();
    }

    // ---- writing (a worker, into its own slot) ----------------------------------------------

    void add(int slot, Field field, long delta) {
        WORD.getAndAdd(words, word(slot, field.ordinal()), delta);
    }

    void observe(int slot, Histogram histogram, long nanos) {
        int at = FIELDS + histogram.ordinal() * HISTOGRAM_WORDS;
        int bucket = 0;
        while (bucket < BOUNDS_NANOS.length && nanos > BOUNDS_NANOS[bucket]) bucket++;
        WORD.getAndAdd(words, word(slot, at + bucket), 1L);
        WORD.getAndAdd(words, word(slot, at + BOUNDS_NANOS.length + 1), Math.max(0L, nanos));
    }

    /**
     * Adds one to the count of {@code key} (never 0): finds its entry, or claims a free one.
     * Threads of one worker may claim at once; a lost compare-and-set looks at the same entry
     * again, which now holds a key.
     */
    void count(int slot, long key) {
        int mask = KEYS - 1;
        int start = (int) (key * 0x9E3779B97F4A7C15L >>> 57) & mask;
        for (int probe = 0; probe < KEYS; ) {
            long off = word(slot, KEYS_AT + 2 * ((start + probe) & mask));
            long found = (long) WORD.getVolatile(words, off);
            if (found == key || (found == 0 && WORD.compareAndSet(words, off, 0L, key))) {
                WORD.getAndAdd(words, off + Long.BYTES, 1L);
                return;
            }
            if (found != 0) probe++;
        }
        add(slot, Field.OVERFLOW, 1);
    }

    // ---- reading and handing over (the master) ----------------------------------------------

    public long get(int slot, Field field) {
        return (long) WORD.getVolatile(words, word(slot, field.ordinal()));
    }

    /** Each bucket's count (not cumulative; the last is past every bound) and the sum in nanoseconds, last. */
    public long[] histogram(int slot, Histogram histogram) {
        int at = FIELDS + histogram.ordinal() * HISTOGRAM_WORDS;
        long[] values = new long[HISTOGRAM_WORDS];
        for (int i = 0; i < HISTOGRAM_WORDS; i++) values[i] = (long) WORD.getVolatile(words, word(slot, at + i));
        return values;
    }

    /** Receives one keyed count. */
    public interface KeyedCount {
        void accept(long key, long count);
    }

    /** Hands every key of the slot with a count above zero to {@code sink}. */
    public void keyedCounts(int slot, KeyedCount sink) {
        for (int i = 0; i < KEYS; i++) {
            long key = (long) WORD.getVolatile(words, word(slot, KEYS_AT + 2 * i));
            if (key == 0) continue;
            long count = (long) WORD.getVolatile(words, word(slot, KEYS_AT + 2 * i + 1));
            if (count > 0) sink.accept(key, count);
        }
    }

    /**
     * The slot changes hands (its worker ended, or a new one takes it): its gauges describe no
     * process any more. A worker that crashed left its requests "in flight" and its connections
     * "open"; its counters stay.
     */
    public void resetGauges(int slot) {
        for (Field f : Field.values()) {
            if (f.gauge()) WORD.setVolatile(words, word(slot, f.ordinal()), 0L);
        }
    }

    private static long word(int slot, int index) {
        return slot * SLOT_BYTES + (long) index * Long.BYTES;
    }

    private static long[] bounds(double[] seconds) {
        long[] nanos = new long[seconds.length];
        for (int i = 0; i < seconds.length; i++) nanos[i] = Math.round(seconds[i] * 1e9);
        return nanos;
    }
}
