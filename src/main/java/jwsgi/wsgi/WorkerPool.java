package jwsgi.wsgi;

import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import jwsgi.python.PythonRuntime;
import jwsgi.python.PythonShutdownException;
import jwsgi.python.PythonThread;

/**
 * Runs requests on Python threads: {@code --threads N} requests at once, exactly as gunicorn's
 * {@code --threads}.
 *
 * <p>With one thread ({@link Mode#INLINE}), the HTTP thread that parsed a request runs it
 * itself, with its own kept thread state; a request that arrives while another runs is queued,
 * and whichever thread holds the single permit drains the queue before letting go. No thread
 * ever waits for, or wakes, another: with a GIL, one thread running a request from socket to
 * socket is the fastest a process can go (the design of uWSGI and bjoern), and more cores come
 * from more workers. With sub-interpreters, each has its own GIL and its own permit: an HTTP
 * thread runs a request in the first interpreter that is free, with a thread state of its own
 * in each, so N interpreters serve N HTTP threads' requests at once with no hand-off either.
 * The cost: while the app runs, the HTTP thread running it does no I/O for its other
 * connections, as with gunicorn's sync worker. That thread must never wait for the
 * network, since it is the one that would do the I/O: a request whose body is streamed while the
 * app reads it runs on a separate thread (which waits for the permit), and a response a client
 * reads slowly spills to disk rather than making the thread wait.
 *
 * <p>With more threads ({@link Mode#THREADS}), dedicated Python threads (per interpreter, with
 * sub-interpreters) take requests from a queue, so apps that wait (on a database, another
 * service) never hold up the HTTP threads.
 *
 * <p>Threads: {@link #submit} from any platform thread; HTTP threads must come from
 * {@link #threadFactory} so their thread states are released when they end.
 */
public final class WorkerPool {
    /** How requests reach Python. */
    public enum Mode { INLINE, THREADS }

    private final PythonRuntime runtime;
    private final int count;
    private final Mode mode;
    private final int interpreters;
    private final RunnerOptions runnerOptions;
    /** Every runner with its thread state, for the watchdog. */
    private final List<RequestRunner> runnersAlive = new CopyOnWriteArrayList<>();
    /** The interpreters requests run in, with their apps; set once, before any request can arrive. */
    private volatile Slot[] slots;
    private final ThreadLocal<ThreadRunners> runners = new ThreadLocal<>();
    private final Queue<Exchange> inlineQueue = new ConcurrentLinkedQueue<>();
    /**
     * The thread that may block on the network: INLINE mode runs streamed-body requests there. One
     * is enough, as they run one at a time under a permit; more would only wait for it, each
     * with its own thread state, and a burst of such requests would make a thread each.
     */
    private final ExecutorService blockingThreads;
    private final LinkedBlockingQueue<Exchange> threadQueue = new LinkedBlockingQueue<>();
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicInteger backlog = new AtomicInteger();

    /**
     * Sets the pool up; nothing runs until {@link #start}, so the HTTP layer can be built (and
     * its sockets bound) before the app is imported.
     *
     * @param hooks             gunicorn's pre_request/post_request, or null when there are none
     * @param loggedEnvironKeys the environ keys whose final values the access log shows, passed
     *                          to {@link Exchange#loggedEnviron} in this order; empty for none
     * @param timed             whether a {@link Watchdog} watches the requests ({@code --timeout})
     * @param counter           counts answered requests for {@code --max-requests}, or null
     * @param interpreters      sub-interpreters to run requests in, each with {@code count} threads
     *                          (see {@link #startInterpreters}); 0 for the main interpreter
     * @param multiplexed       whether a connection may carry several requests at once (HTTP/2):
     *                          Jetty runs a connection's streams one after the other on the thread
     *                          that reads it, so with several sub-interpreters each gets threads
     *                          of its own, or one connection's streams would never run in parallel
     */
    public WorkerPool(PythonRuntime runtime, int count, RequestHooks hooks, List<String> loggedEnvironKeys, boolean timed,
                      RequestCounter counter, int interpreters, boolean multiplexed) {
        this.runtime = runtime;
        this.count = count;
        this.interpreters = interpreters;
        this.runnerOptions = new RunnerOptions(hooks, List.copyOf(loggedEnvironKeys), timed, counter);
        this.mode = count == 1 && (interpreters <= 1 || !multiplexed) ? Mode.INLINE : Mode.THREADS;
        this.blockingThreads = mode == Mode.INLINE ? Executors.newSingleThreadExecutor(pythonThreads("py-blocking-", true)) : null;
    }

    /** Runs {@code app} from now on; with more than one thread, starts them and waits until each has its thread state. */
    public void start(WsgiApplication app) {
        this.slots = new Slot[] {new Slot(0, app)};
        if (mode == Mode.THREADS) {
            CountDownLatch ready = new CountDownLatch(count);
            ThreadFactory workers = pythonThreads("py-worker-", true);
            for (int i = 0; i < count; i++) {
                Thread t = workers.newThread(() -> serve(ready));
                threads.add(t);
                t.start();
            }
            try {
                ready.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Creates the sub-interpreters the constructor was given, each with its own GIL and importing
     * the app itself on a thread of its own: the pool runs that many requests in parallel on as
     * many cores. In {@link Mode#INLINE} mode, requests run on the HTTP threads in whichever
     * interpreter is free; otherwise each interpreter starts {@code count} threads, which take
     * requests from one queue. Waits until every thread is ready.
     *
     * @return the app as the first interpreter imported it
     * @throws AppLoadException when the app cannot be imported in a sub-interpreter (an extension
     *         module that refuses them, a failing import)
     */
    public WsgiApplication startInterpreters(WsgiApplication.Spec spec, WsgiApplication.Facts facts) {
        boolean inline = mode == Mode.INLINE;
        CountDownLatch ready = new CountDownLatch(interpreters * count);
        List<CompletableFuture<WsgiApplication>> loaded = new ArrayList<>();
        for (int i = 1; i <= interpreters; i++) {
            CompletableFuture<WsgiApplication> app = new CompletableFuture<>();
            loaded.add(app);
            for (int j = 1; j <= count; j++) {
                boolean first = j == 1;
                Thread t = PythonRuntime.newThread("py-interp-" + i + "-" + j, () -> {
                    PythonThread thread = first ? createInterpreter(app, spec, facts) : joinInterpreter(app);
                    if (thread == null || inline) {
                        // Inline, the HTTP threads run the requests: this thread only imported the app.
                        if (thread != null) runtime.detach(thread);
                        ready.countDown();
                        return;
                    }
                    RequestRunner runner;
                    try {
                        runner = newRunner(thread, app.join(), true);
                    } catch (RuntimeException e) {
                        ready.countDown();  // one thread fewer, rather than a start that never ends
                        throw e;
                    }
                    try {
                        serve(ready, runner);
                    } finally {
                        retire(runner);
                    }
                });
                threads.add(t);
                t.start();
            }
        }
        for (CompletableFuture<WsgiApplication> app : loaded) {
            try {
                app.join();
            } catch (CompletionException e) {
                if (e.getCause() instanceof RuntimeException r) throw r;
                throw e;
            }
        }
        try {
            ready.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Slot[] all = new Slot[interpreters];
        for (int i = 0; i < interpreters; i++) all[i] = new Slot(i, loaded.get(i).join());
        this.slots = all;
        return all[0].app();
    }

    /**
     * A runner for {@code thread}'s state, watched from now on. When it cannot be made (Python
     * out of memory), the thread state is deleted, not left behind.
     */
    private RequestRunner newRunner(PythonThread thread, WsgiApplication app, boolean mayWait) {
        RequestRunner runner;
        try {
            runner = new RequestRunner(runtime, thread, app, mayWait, runnerOptions);
        } catch (RuntimeException e) {
            runtime.detach(thread);
            throw e;
        }
        runnersAlive.add(runner);
        return runner;
    }

    private void retire(RequestRunner runner) {
        runnersAlive.remove(runner);
        runner.close();
    }

    /** On an interpreter's first thread: the interpreter, its app, and this thread's state in it; null when it failed. */
    private PythonThread createInterpreter(CompletableFuture<WsgiApplication> app, WsgiApplication.Spec spec, WsgiApplication.Facts facts) {
        PythonThread thread;
        try {
            thread = runtime.newInterpreter();
        } catch (RuntimeException e) {
            app.completeExceptionally(e);
            return null;
        }
        WsgiApplication loaded;
        try {
            loaded = WsgiApplication.loadHere(thread, spec, facts);
        } catch (RuntimeException e) {
            app.completeExceptionally(e);
            runtime.detach(thread);
            return null;
        }
        app.complete(loaded);
        return thread;
    }

    /** On an interpreter's other threads: a thread state there once the app is imported; null when it was not. */
    private PythonThread joinInterpreter(CompletableFuture<WsgiApplication> app) {
        WsgiApplication loaded;
        try {
            loaded = app.join();
        } catch (CompletionException e) {
            return null;
        }
        return runtime.attach(loaded.interpreter());
    }

    public Mode mode() {
        return mode;
    }

    /**
     * How many requests run at once on the HTTP threads in INLINE mode: one per interpreter. The
     * HTTP layer gives each its own selector thread, so each runs its connections' requests itself.
     */
    public int inlineParallelism() {
        return Math.max(1, interpreters);
    }

    /** Queues a request, or runs it on the calling thread when it may. Never blocks to wait for another request. */
    public void submit(Exchange exchange) {
        if (mode == Mode.THREADS) {
            backlog.incrementAndGet();
            threadQueue.add(exchange);
        } else if (exchange.body() instanceof Exchange.Body.Streamed streamed && streamed.waitsForClient()) {
            backlog.incrementAndGet();
            blockingThreads.execute(() -> {
                ThreadRunners mine = threadRunners();
                Slot slot = takeFreeSlot();
                if (slot == null) {
                    slot = slots[0];
                    slot.permit().acquireUninterruptibly();
                }
                backlog.decrementAndGet();
                runHolding(mine, slot, exchange);
            });
        } else {
            ThreadRunners mine = threadRunners();
            // Nothing waits and an interpreter is free: run it now, without the queue.
            Slot slot = inlineQueue.isEmpty() ? takeFreeSlot() : null;
            if (slot != null) {
                runHolding(mine, slot, exchange);
            } else {
                backlog.incrementAndGet();
                inlineQueue.add(exchange);
                drain(mine);
            }
        }
    }

    /** Runs {@code first}, then the queued requests, with {@code slot}'s permit held; lets it go and drains again. */
    private void runHolding(ThreadRunners mine, Slot slot, Exchange first) {
        try {
            run(runner(mine, slot), first);
            drainHoldingPermit(mine, slot);
        } finally {
            slot.permit().release();
        }
        drain(mine);
    }

    /** Runs queued requests on this thread while it can take a permit. */
    private void drain(ThreadRunners mine) {
        Slot slot;
        // Re-check after letting go of the permit: a request queued just before would be stranded.
        while (!inlineQueue.isEmpty() && (slot = takeFreeSlot()) != null) {
            try {
                drainHoldingPermit(mine, slot);
            } finally {
                slot.permit().release();
            }
        }
    }

    /** The permit of an interpreter no thread is running a request in, taken; null when all are busy. */
    private Slot takeFreeSlot() {
        for (Slot slot : slots) {
            if (slot.permit().tryAcquire()) return slot;
        }
        return null;
    }

    private void drainHoldingPermit(ThreadRunners mine, Slot slot) {
        RequestRunner runner = runner(mine, slot);
        Exchange next;
        while ((next = inlineQueue.poll()) != null) {
            backlog.decrementAndGet();
            run(runner, next);
        }
    }

    private static void run(RequestRunner runner, Exchange exchange) {
        if (runner == null) {
            Outcome.Failure.SHUTTING_DOWN.send(exchange);
        } else {
            runner.run(exchange);
        }
    }

    /** The calling thread's runners; an HTTP thread's are made on its first request. */
    private ThreadRunners threadRunners() {
        ThreadRunners mine = runners.get();
        if (mine == null) {
            mine = new ThreadRunners(slots.length, false);
            runners.set(mine);
        }
        return mine;
    }

    /** The calling thread's runner in {@code slot}'s interpreter, made on first use; null once the runtime is shutting down. */
    private RequestRunner runner(ThreadRunners mine, Slot slot) {
        RequestRunner runner = mine.bySlot[slot.index()];
        if (runner == null) {
            WsgiApplication in = slot.app();
            try {
                runner = newRunner(runtime.attach(in.interpreter()), in, mine.mayWait);
            } catch (PythonShutdownException e) {
                return null;
            }
            mine.bySlot[slot.index()] = runner;
        }
        return runner;
    }

    private void serve(CountDownLatch ready) {
        serve(ready, runner(threadRunners(), slots[0]));
    }

    private void serve(CountDownLatch ready, RequestRunner runner) {
        ready.countDown();
        while (true) {
            Exchange next;
            try {
                next = threadQueue.take();
            } catch (InterruptedException e) {
                return;
            }
            backlog.decrementAndGet();
            run(runner, next);
        }
    }

    /** The runners that exist now, each on its own thread: what the watchdog checks. */
    List<RequestRunner> runners() {
        return runnersAlive;
    }

    /** Requests waiting for a Python thread. */
    public int backlog() {
        return backlog.get();
    }

    /**
     * Makes the HTTP layer's threads: platform threads with a stack big enough for CPython, which
     * release their Python thread state when they end. They never wait for the network in Python.
     */
    public ThreadFactory threadFactory() {
        return pythonThreads("http-", false);
    }

    private ThreadFactory pythonThreads(String prefix, boolean mayWait) {
        AtomicInteger n = new AtomicInteger();
        return body -> PythonRuntime.newThread(prefix + n.incrementAndGet(), () -> {
            // These threads start once the app is loaded (the pool's threads, the blocking one on first use).
            if (mayWait) runners.set(new ThreadRunners(slots.length, true));
            try {
                body.run();
            } finally {
                ThreadRunners mine = runners.get();
                if (mine != null) {
                    runners.remove();
                    for (RequestRunner runner : mine.bySlot) {
                        if (runner != null) retire(runner);
                    }
                }
            }
        });
    }

    /**
     * Stops the dedicated threads once they are idle, waiting up to {@code millis} for them to
     * release their thread states. A thread still running a request is left to the runtime's shutdown.
     */
    public void stop(long millis) {
        if (blockingThreads != null) blockingThreads.shutdownNow();
        for (Thread t : threads) t.interrupt();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        for (Thread t : threads) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) break;
            try {
                t.join(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** An interpreter INLINE mode runs requests in, and the permit of the one thread running a request there. */
    private record Slot(int index, WsgiApplication app, Semaphore permit) {
        Slot(int index, WsgiApplication app) {
            this(index, app, new Semaphore(1));
        }
    }

    /**
     * What one thread keeps: its runner in each interpreter, made on first use, and whether the
     * thread may block on the network (only threads made for that).
     */
    private static final class ThreadRunners {
        final RequestRunner[] bySlot;
        final boolean mayWait;

        ThreadRunners(int interpreters, boolean mayWait) {
            this.bySlot = new RequestRunner[interpreters];
            this.mayWait = mayWait;
        }
    }
}
