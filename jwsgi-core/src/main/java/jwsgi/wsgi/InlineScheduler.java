package jwsgi.wsgi;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code --threads 1}: the HTTP thread that parsed a request runs it itself, with its own kept
 * thread state. A request that arrives while another runs is queued, and whichever thread holds
 * the interpreter's permit drains the queue before letting go, so no thread ever waits for, or
 * wakes, another: with a GIL, one thread running a request from socket to socket is the fastest
 * a process can go (the design of uWSGI and bjoern); more cores come from more workers. With
 * sub-interpreters each has its own permit, and a request runs in the first that is free.
 *
 * <p>The cost: while the app runs, the HTTP thread running it does no I/O for its other
 * connections, as with gunicorn's sync worker. That thread must never wait for the network,
 * since it is the one that would do the I/O: a request whose body is streamed while the app
 * reads it runs on a thread of its own, which waits for a permit ({@link #submitWaiting}), and
 * a response a client reads slowly spills to disk rather than making the thread wait.
 *
 * <p>Threads: {@link #submit} from the HTTP threads. GIL: not held here; the runners take it.
 */
final class InlineScheduler implements Scheduler {
    private final Interpreters interpreters;
    private final Runners runners;
    private final Queue<Queued> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger backlog = new AtomicInteger();
    /**
     * The thread that may block on the network, for streamed bodies. One is enough, as they run one
     * at a time under a permit; more would only wait for it, each with its own thread state, and a
     * burst of such requests would make a thread each.
     */
    private final ExecutorService waiting;

    InlineScheduler(Interpreters interpreters, Runners runners) {
        this.interpreters = interpreters;
        this.runners = runners;
        this.waiting = Executors.newSingleThreadExecutor(runners.threads("py-blocking-", true));
    }

    @Override
    public void submit(Exchange exchange) {
        if (exchange.body() instanceof Exchange.Body.Streamed streamed && streamed.waitsForClient()) {
            submitWaiting(exchange);
            return;
        }
        Runners.ThreadRunners mine = runners.mine();
        // Nothing waits and an interpreter is free: run it now, without the queue.
        Interpreters.Slot slot = queue.isEmpty() ? interpreters.takeFree() : null;
        if (slot != null) {
            runHolding(mine, slot, exchange, 0);
        } else {
            backlog.incrementAndGet();
            queue.add(new Queued(exchange));
            drain(mine);
        }
    }

    /** A request that will wait for its client: on the thread that may, once it has a permit. */
    private void submitWaiting(Exchange exchange) {
        backlog.incrementAndGet();
        Queued queued = new Queued(exchange);
        waiting.execute(() -> {
            Runners.ThreadRunners mine = runners.mine();
            Interpreters.Slot slot = interpreters.takeFree();
            if (slot == null) {
                slot = interpreters.first();
                slot.permit().acquireUninterruptibly();
            }
            backlog.decrementAndGet();
            runHolding(mine, slot, queued.exchange(), queued.waited());
        });
    }

    /**
     * Runs {@code first} (which waited {@code queueNanos}), then the queued requests, with
     * {@code slot}'s permit held; lets it go and drains again.
     */
    private void runHolding(Runners.ThreadRunners mine, Interpreters.Slot slot, Exchange first, long queueNanos) {
        try {
            Runners.run(runners.runner(mine, slot), first, queueNanos);
            drainHoldingPermit(mine, slot);
        } finally {
            slot.permit().release();
        }
        drain(mine);
    }

    /** Runs queued requests on this thread while it can take a permit. */
    private void drain(Runners.ThreadRunners mine) {
        Interpreters.Slot slot;
        // Re-check after letting go of the permit: a request queued just before would be stranded.
        while (!queue.isEmpty() && (slot = interpreters.takeFree()) != null) {
            try {
                drainHoldingPermit(mine, slot);
            } finally {
                slot.permit().release();
            }
        }
    }

    private void drainHoldingPermit(Runners.ThreadRunners mine, Interpreters.Slot slot) {
        RequestRunner runner = runners.runner(mine, slot);
        Queued next;
        while ((next = queue.poll()) != null) {
            backlog.decrementAndGet();
            Runners.run(runner, next.exchange(), next.waited());
        }
    }

    @Override
    public int backlog() {
        return backlog.get();
    }

    @Override
    public void stop(long millis) {
        waiting.shutdownNow();
    }
}
