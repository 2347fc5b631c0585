package jwsgi.wsgi;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

import jwsgi.python.PythonRuntime;
import jwsgi.python.PythonShutdownException;
import jwsgi.python.PythonThread;

/**
 * The {@link RequestRunner}s of a pool: every thread that runs requests has its own in each
 * interpreter, made on its first request there and released when the thread ends; all of
 * them are listed for the {@link Watchdog}.
 *
 * <p>Threads: any; each thread's runners are used by that thread only. GIL: not needed; a
 * runner takes it for each request and when it is made or released.
 */
final class Runners {
    /**
     * What one thread keeps: its runner in each interpreter, made on first use, and whether the
     * thread may block on the network (only threads made for that).
     */
    static final class ThreadRunners {
        final RequestRunner[] bySlot;
        final boolean mayWait;

        ThreadRunners(int interpreters, boolean mayWait) {
            this.bySlot = new RequestRunner[interpreters];
            this.mayWait = mayWait;
        }
    }

    private final PythonRuntime runtime;
    private final Interpreters interpreters;
    private final RunnerOptions options;
    private final ThreadLocal<ThreadRunners> byThread = new ThreadLocal<>();
    private final List<RequestRunner> alive = new CopyOnWriteArrayList<>();

    Runners(PythonRuntime runtime, Interpreters interpreters, RunnerOptions options) {
        this.runtime = runtime;
        this.interpreters = interpreters;
        this.options = options;
    }

    /** The calling thread's runners; an HTTP thread's are made on its first request. */
    ThreadRunners mine() {
        ThreadRunners mine = byThread.get();
        if (mine == null) {
            mine = new ThreadRunners(interpreters.size(), false);
            byThread.set(mine);
        }
        return mine;
    }

    /** The calling thread's runner in {@code slot}'s interpreter, made on first use; null once the runtime is shutting down. */
    RequestRunner runner(ThreadRunners mine, Interpreters.Slot slot) {
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

    /** Runs {@code exchange} on {@code runner}, or answers 503 when there is none (the runtime is shutting down). */
    static void run(RequestRunner runner, Exchange exchange) {
        run(runner, exchange, 0);
    }

    /** {@link #run(RequestRunner, Exchange)} for a request that waited {@code queueNanos} in a queue. */
    static void run(RequestRunner runner, Exchange exchange, long queueNanos) {
        if (runner == null) {
            Outcome.Failure.SHUTTING_DOWN.send(exchange);
        } else {
            runner.run(exchange, queueNanos);
        }
    }

    /**
     * A runner for {@code thread}'s state, watched from now on. When it cannot be made (Python
     * out of memory), the thread state is deleted, not left behind.
     */
    RequestRunner newRunner(PythonThread thread, WsgiApplication app, boolean mayWait) {
        RequestRunner runner;
        try {
            runner = new RequestRunner(runtime, thread, app, mayWait, options);
        } catch (RuntimeException e) {
            runtime.detach(thread);
            throw e;
        }
        alive.add(runner);
        return runner;
    }

    void retire(RequestRunner runner) {
        alive.remove(runner);
        runner.close();
    }

    /** The runners that exist now, each on its own thread. */
    List<RequestRunner> alive() {
        return alive;
    }

    /**
     * Makes platform threads with a stack big enough for CPython, which release their runners
     * when they end. They start once the app is loaded.
     *
     * @param mayWait whether the threads may block on the network
     */
    ThreadFactory threads(String prefix, boolean mayWait) {
        AtomicInteger n = new AtomicInteger();
        return body -> PythonRuntime.newThread(prefix + n.incrementAndGet(), () -> {
            if (mayWait) byThread.set(new ThreadRunners(interpreters.size(), true));
            try {
                body.run();
            } finally {
                ThreadRunners mine = byThread.get();
                if (mine != null) {
                    byThread.remove();
                    for (RequestRunner runner : mine.bySlot) {
                        if (runner != null) retire(runner);
                    }
                }
            }
        });
    }
}
