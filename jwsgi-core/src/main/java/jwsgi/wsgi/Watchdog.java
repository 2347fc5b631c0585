package jwsgi.wsgi;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import jwsgi.python.CPython;
import jwsgi.python.Interpreter;
import jwsgi.python.PythonRuntime;
import jwsgi.python.PythonShutdownException;
import jwsgi.python.PythonThread;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;
import org.slf4j.MarkerFactory;

/**
 * {@code --timeout}: finds requests that have run too long, says which and where, and stops them.
 *
 * <p>A thread of its own looks at every runner's {@link RequestClock} a few times per timeout.
 * A request past the timeout is logged with its method, path, worker and thread, and the
 * Python stack of that thread; then {@code _jwsgi.RequestTimeout} is raised in the thread (an
 * asynchronous exception, which Python delivers between two bytecodes), so the app unwinds, its
 * {@code finally} blocks run, and the runner answers 504. Both need the GIL of the request's
 * interpreter, which a helper thread takes with a bounded wait: a thread stuck in C code may
 * hold it, and then the log says so.
 *
 * <p>A request that has still not stopped after the grace period (blocked in a system call,
 * such as {@code time.sleep}, that an asynchronous exception cannot interrupt) is answered 504
 * in its runner's place, and the worker is told to give up: it asks to be replaced, and the
 * rest of the server goes on serving. With one Python thread per worker (the default), that
 * thread is also the worker's network thread, so the worker serves nothing else until then.
 *
 * <p>Threads: its own, and one helper per interpreter.
 */
public final class Watchdog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Watchdog.class);
    private static final Marker CRITICAL = MarkerFactory.getMarker("CRITICAL");
    /** How long the helper may wait for the GIL of a request's interpreter. */
    private static final Duration GIL_WAIT = Duration.ofSeconds(1);
    /** How long {@link #close} waits for the watchdog thread, which an interrupt ends unless it is logging. */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(2);

    /** What the worker does when a request cannot be stopped. */
    public interface GiveUp {
        /** A hung request is about to be answered 504 in its runner's place; the worker should be replaced. Called once. */
        void hungRequest(String request);

        /** What becomes of the worker after that, for the log: the server's workers are replaced. */
        default String consequence() {
            return "this worker will be replaced";
        }
    }

    private final WorkerPool pool;
    private final PythonRuntime runtime;
    private final long timeoutNanos;
    private final long graceNanos;
    private final String workerName;
    private final GiveUp giveUp;
    private final Thread thread;
    /** The request each runner was last reported for, so each is interrupted once and answered in place once. */
    private final Map<RequestRunner, Reported> reported = new HashMap<>();
    /** Made by the watchdog thread, shut down by {@link #close} on another. */
    private final Map<Interpreter, ExecutorService> helpers = new ConcurrentHashMap<>();
    /** Each helper thread's thread state, in the interpreter it serves. */
    private final ThreadLocal<PythonThread> helperThread = new ThreadLocal<>();
    private volatile boolean closed;
    private boolean gaveUp;

    /**
     * @param workerName how the log names this worker, e.g. "worker 2"
     */
    public Watchdog(WorkerPool pool, PythonRuntime runtime, Duration timeout, String workerName, GiveUp giveUp) {
        this.pool = pool;
        this.runtime = runtime;
        this.timeoutNanos = timeout.toNanos();
        this.graceNanos = grace(timeout).toNanos();
        this.workerName = workerName;
        this.giveUp = giveUp;
        this.thread = Thread.ofPlatform().name("watchdog").daemon(true).unstarted(this::watch);
    }

    /** How long an interrupted request gets to stop before it is answered in its place: the timeout, within 1 to 5 s. */
    public static Duration grace(Duration timeout) {
        return Duration.ofMillis(Math.clamp(timeout.toMillis(), 1000, 5000));
    }

    public void start() {
        thread.start();
    }

    private void watch() {
        long tick = Math.clamp(timeoutNanos / 4, TimeUnit.MILLISECONDS.toNanos(100), TimeUnit.SECONDS.toNanos(1));
        while (!closed) {
            try {
                Thread.sleep(Duration.ofNanos(tick));
            } catch (InterruptedException e) {
                return;
            }
            check();
        }
    }

    /** A request reported past the timeout (its clock state, without the answering bit), and whether it was answered in place. */
    private record Reported(long request, boolean answered) {}

    private void check() {
        long now = System.nanoTime();
        reported.keySet().retainAll(pool.runners());
        for (RequestRunner runner : pool.runners()) {
            long state = runner.clock.state();
            long running = RequestClock.runningNanos(state, now);
            if (running <= timeoutNanos) continue;
            Reported seen = reported.get(runner);
            long request = state & ~1L;
            if (seen == null || seen.request() != request) {
                reported.put(runner, new Reported(request, false));
                interrupt(runner, state, running);
            } else if (!seen.answered() && running > timeoutNanos + graceNanos) {
                reported.put(runner, new Reported(request, true));
                answerInPlace(runner, state);
            }
        }
    }

    /** Logs the request and its stack, and raises RequestTimeout in its thread. */
    private void interrupt(RequestRunner runner, long state, long running) {
        String request = runner.describeCurrent();
        if (request == null) return;
        if (pool.timings() != null) pool.timings().timedOut();
        CompletableFuture<Void> done = new CompletableFuture<>();
        helper(runner.app().interpreter()).execute(() -> {
            stackAndInterrupt(runner, state, request, running);
            done.complete(null);
        });
        try {
            done.get(GIL_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            LOG.error(CRITICAL, "WORKER TIMEOUT ({}): {} has run {} s, longer than --timeout {} s, on thread {}; its Python stack is "
                    + "unavailable and it cannot be interrupted: the thread has held the GIL for over {} s (C code that does not "
                    + "release it). If it has not returned in {} s it is answered 504, and {}.",
                    workerName, request, seconds(running), seconds(timeoutNanos), runner.owner().getName(), GIL_WAIT.toSeconds(),
                    seconds(graceNanos), giveUp.consequence());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            LOG.error("watchdog: cannot look at {}", request, e.getCause());
        }
    }

    /**
     * On the interpreter's helper, with its GIL: logs the request with the stack of its thread,
     * then raises the exception there (so the log comes before whatever the app does about it).
     */
    private void stackAndInterrupt(RequestRunner runner, long state, String request, long running) {
        PythonThread me = helperThread.get();
        try {
            me.enter();
        } catch (PythonShutdownException e) {
            return;
        }
        try {
            if (!runner.clock.stillRunning(state)) return;  // it ended while we waited for the GIL
            WsgiApplication app = runner.app();
            Interpreter py = app.interpreter();
            CPython api = py.api();
            String stack = null;
            MemorySegment ident = api.longFrom(runner.pythonThreadId);
            MemorySegment text = MemorySegment.NULL;
            try {
                if (!CPython.isNull(ident)) text = api.call(app.threadStack, ident);
                if (CPython.isNull(text)) {
                    stack = "  (cannot format it: " + py.fetchError().getMessage() + ")";
                } else if (api.isUnicode(text)) {
                    stack = py.toJava(text);
                }
            } finally {
                if (!CPython.isNull(text)) api.decRef(text);
                if (!CPython.isNull(ident)) api.decRef(ident);
            }
            LOG.error(CRITICAL, "WORKER TIMEOUT ({}): {} has run {} s, longer than --timeout {} s, on thread {}; interrupting it "
                    + "with RequestTimeout (answered 504 if it stops within {} s). Python stack of that thread, most recent call last:\n{}",
                    workerName, request, seconds(running), seconds(timeoutNanos), runner.owner().getName(), seconds(graceNanos),
                    stack == null ? "  (no Python frames: the thread is in jwsgi's own code)" : stack.stripTrailing());
            if (api.threadStateSetAsyncExc(runner.pythonThreadId, app.requestTimeout) == 1) runner.clock.markInterrupted();
        } finally {
            me.exit();
        }
    }

    private ExecutorService helper(Interpreter interpreter) {
        return helpers.computeIfAbsent(interpreter, i -> Executors.newSingleThreadExecutor(body ->
                PythonRuntime.newThread("watchdog-python", () -> {
                    PythonThread state;
                    try {
                        state = runtime.attach(i);
                    } catch (PythonShutdownException e) {
                        return;
                    }
                    helperThread.set(state);
                    try {
                        body.run();
                    } finally {
                        runtime.detach(state);
                    }
                })));
    }

    /**
     * After the grace period: the worker gives up (first, so that it takes no new connection
     * the stuck thread would have to serve), then 504 in the runner's place if it has not begun
     * to answer.
     */
    private void answerInPlace(RequestRunner runner, long state) {
        String request = runner.describeCurrent();
        if (request == null) return;  // it has just ended
        if (!gaveUp) {
            gaveUp = true;
            giveUp.hungRequest(request);
        }
        boolean answered = runner.answerInPlace(state);
        LOG.error(CRITICAL, "WORKER TIMEOUT ({}): {} did not stop within {} s of being interrupted (it is blocked in C code or a "
                + "system call that Python cannot interrupt); {}; {}",
                workerName, request, seconds(graceNanos),
                answered ? "answered 504 in its place" : "its response had begun, so its connection will be closed",
                giveUp.consequence());
    }

    private static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.1f", nanos / 1e9);
    }

    /** Stops watching; once the watchdog thread has ended (it may be waiting for a GIL: bounded), no helper is made any more. */
    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(CLOSE_WAIT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (ExecutorService helper : helpers.values()) helper.shutdownNow();
    }
}
