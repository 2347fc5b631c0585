package jwsgi.server;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import jwsgi.http.AcceptGate;
import jwsgi.posix.Libc;
import jwsgi.posix.Sockets;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's {@link AcceptGate}: it publishes its open connections in the master's
 * {@link ConnectionTable}, and while it holds clearly more than the least loaded other worker
 * its acceptor stays out of {@code accept()}, so the kernel hands new connections to the
 * acceptors still in it. It never lets a connection wait on its account: when one has been
 * waiting in the queue for {@link #UNCLAIMED_NANOS} (the others are busy, stuck, or gone
 * without the master noticing yet), it takes it.
 */
final class BalancedAccept implements AcceptGate {
    private static final Logger LOG = LoggerFactory.getLogger(BalancedAccept.class);
    /** How long a connection may wait in the queue for another worker before this one takes it. */
    static final long UNCLAIMED_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    /** How long one wait for a connection lasts before the balance is looked at again. */
    private static final int IDLE_POLL_MILLIS = 50;
    /**
     * How often a worker that stepped aside looks again while a connection waits. Counts change
     * by the millisecond when clients close after each request, and a worker that is no longer
     * crowded must be back in accept() at once: a coarser step left both acceptors out of it
     * together (docs/benchmarks.md, "Measurements behind design choices").
     */
    private static final long RECHECK_NANOS = TimeUnit.MICROSECONDS.toNanos(100);

    private final ConnectionTable table;
    private final int pid;
    private final int listenerFd;
    private final AtomicInteger connections = new AtomicInteger();
    /** This worker's entry in the table; -1 until it joins, once it withdraws, or when the table was full. */
    private volatile int entry = -1;

    /** A worker's gate for the listener at {@code listenerFd}, which takes part once it {@link #join}s. */
    BalancedAccept(ConnectionTable table, int pid, int listenerFd) {
        this.table = table;
        this.pid = pid;
        this.listenerFd = listenerFd;
    }

    /**
     * Takes part in the balance, just before accepting: a worker that is still importing its
     * app must not look idle to the others, who would leave connections to it.
     */
    void join() {
        entry = table.claim(pid, connections.get());
        if (entry < 0) LOG.warn("More than {} workers accept at once: this one accepts without regard to the others' load",
                ConnectionTable.ENTRIES);
    }

    @Override
    public void awaitTurn(BooleanSupplier accepting) {
        long waitingSince = 0;
        while (accepting.getAsBoolean() && crowded()) {
            boolean waiting;
            try {
                waiting = Sockets.awaitReadable(listenerFd, waitingSince == 0 ? IDLE_POLL_MILLIS : 0);
            } catch (Libc.Failure e) {
                return;
            }
            if (!waiting) {
                waitingSince = 0;
                continue;
            }
            long now = System.nanoTime();
            if (waitingSince == 0) {
                waitingSince = now;
            } else if (now - waitingSince >= UNCLAIMED_NANOS) {
                return;
            }
            LockSupport.parkNanos(RECHECK_NANOS);
        }
    }

    /**
     * Whether this worker holds clearly more connections than another: more than one over, and
     * an eighth over once counts are large, so a few connections opening and closing do not
     * flip the turn back and forth.
     */
    private boolean crowded() {
        int own = entry;
        if (own < 0) return false;
        int fewest = table.fewestBesides(own);
        return fewest >= 0 && connections.get() > fewest + 1 + fewest / 8;
    }

    @Override
    public void accepted() {
        connections.incrementAndGet();
        publish();
    }

    @Override
    public void closed() {
        connections.decrementAndGet();
        publish();
    }

    private void publish() {
        int own = entry;
        // A failed accept that also closes may count one close twice: never below none.
        if (own >= 0) table.publish(own, pid, () -> Math.max(0, connections.get()));
    }

    @Override
    public void withdraw() {
        entry = -1;
        table.release(pid);
    }
}
