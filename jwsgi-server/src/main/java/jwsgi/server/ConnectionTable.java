package jwsgi.server;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.function.IntSupplier;

import jwsgi.posix.Libc;
import jwsgi.posix.SharedMemory;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * How many connections each accepting worker holds, in memory the master shares with its
 * workers ({@link SharedMemory}), so that a worker can leave new connections to a less
 * loaded one ({@link BalancedAccept}).
 *
 * <p>One 64-bit entry per worker: its pid in the high half, its open connections in the low
 * half, 0 when free. One word, so a worker that leaves, or the master clearing a dead
 * worker's entry, can never clear or overwrite an entry a new worker has just claimed:
 * every change is a compare-and-set on the pid and the count together. A worker without an
 * entry (more than {@link #ENTRIES} at once) accepts as if alone.
 *
 * <p>Threads: any, in any of the processes.
 */
final class ConnectionTable {
    static final int ENTRIES = 256;
    private static final long BYTES = ENTRIES * JAVA_LONG.byteSize();
    private static final VarHandle ENTRY = JAVA_LONG.varHandle();

    private final SharedMemory memory;
    private final MemorySegment entries;

    private ConnectionTable(SharedMemory memory) {
        this.memory = memory;
        this.entries = memory.segment();
    }

    /** The master's new, empty table. */
    static ConnectionTable create() throws Libc.Failure {
        return new ConnectionTable(SharedMemory.create("jwsgi-connections", BYTES));
    }

    /** A worker's view of its master's table, whose descriptor it inherited. */
    static ConnectionTable inherit(int fd) throws Libc.Failure {
        return new ConnectionTable(SharedMemory.map(fd, BYTES));
    }

    /** The descriptor a worker inherits. */
    int fd() {
        return memory.fd();
    }

    /** Claims a free entry for {@code pid} holding {@code connections}; returns its index, or -1 when all are taken. */
    int claim(int pid, int connections) {
        for (int i = 0; i < ENTRIES; i++) {
            if (ENTRY.compareAndSet(entries, offset(i), 0L, pack(pid, connections))) return i;
        }
        return -1;
    }

    /**
     * Sets the count of entry {@code index} to {@code connections}, if {@code pid} still holds
     * it. Threads of one worker may publish at once: each goes on until the count it wrote is
     * still the current one, so the last word is never a stale count.
     */
    void publish(int index, int pid, IntSupplier connections) {
        long off = offset(index);
        while (true) {
            long now = (long) ENTRY.getVolatile(entries, off);
            if (pidOf(now) != pid) return;
            int count = connections.getAsInt();
            if (ENTRY.compareAndSet(entries, off, now, pack(pid, count)) && connections.getAsInt() == count) return;
        }
    }

    /** Frees every entry {@code pid} holds: the worker stopped accepting, or the master saw it end. */
    void release(int pid) {
        for (int i = 0; i < ENTRIES; i++) {
            long off = offset(i);
            long now = (long) ENTRY.getVolatile(entries, off);
            if (now != 0 && pidOf(now) == pid) ENTRY.compareAndSet(entries, off, now, 0L);
        }
    }

    /** The fewest connections any other accepting worker holds, or -1 when there is none. */
    int fewestBesides(int index) {
        int fewest = -1;
        for (int i = 0; i < ENTRIES; i++) {
            if (i == index) continue;
            long now = (long) ENTRY.getVolatile(entries, offset(i));
            if (now == 0) continue;
            int count = (int) now;
            if (fewest < 0 || count < fewest) fewest = count;
        }
        return fewest;
    }

    private static long offset(int index) {
        return index * JAVA_LONG.byteSize();
    }

    private static long pack(int pid, int connections) {
        return ((long) pid << 32) | (connections & 0xffffffffL);
    }

    private static int pidOf(long entry) {
        return (int) (entry >>> 32);
    }
}
