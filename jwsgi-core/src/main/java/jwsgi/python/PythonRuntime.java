package jwsgi.python;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The embedded CPython runtime: the one process-wide native resource, and its single owner.
 *
 * <p>Lifecycle, and the traps each step avoids (each was measured to crash or hang a JVM that
 * hosts CPython; docs/ARCHITECTURE.md, "Why it is built this way", says how):
 * <ol>
 *   <li>{@link #start}: dlopen libpython with {@code RTLD_GLOBAL} (C extension modules expect
 *       the {@code Py*} symbols to be global), save the JVM's signal dispositions, then
 *       initialise Python on a dedicated platform thread, {@code py-main}, which becomes
 *       Python's main thread and later finalises it (finalising from another thread hangs on
 *       3.11/3.12).</li>
 *   <li>{@link #onMainThread} runs set-up work there with the GIL (importing the app).</li>
 *   <li>{@link #attach} gives a platform thread its own, permanent thread state.</li>
 *   <li>{@link #shutdown} closes the gate (no thread may enter Python once finalisation can
 *       start: CPython would end that OS thread and the JVM could never exit), waits for the
 *       threads inside Python, and finalises on {@code py-main}.</li>
 * </ol>
 *
 * <p>One per process, shared: {@link #acquire} starts it for its first user and hands the same
 * runtime to every later user that asks for the same Python (the command-line worker, and each
 * app a Java application embeds); {@link #release} by the last one stops it. A different
 * Python is refused, naming both: CPython can be loaded and initialised once per process.
 *
 * <p>Threads: any, except where a method says otherwise.
 */
public final class PythonRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(PythonRuntime.class);
    /** CPython can be loaded and initialised once per process. */
    private static final AtomicBoolean LOADED = new AtomicBoolean();
    /** The runtime of this process once {@link #acquire} started it, and how many users hold it; guarded by the class. */
    private static PythonRuntime shared;
    private static int users;
    private static final int RTLD_NOW = 0x2;
    private static final int RTLD_GLOBAL = 0x100;
    /** CPython sizes its C recursion guards for the usual 8 MiB stack; Java's 1 MiB default can SIGSEGV. */
    public static final long PYTHON_STACK_BYTES = 16L << 20;

    private final PythonInstallation installation;
    private final CPython api;
    private final ThreadStates threadStates;
    private final PyInit init;
    private final PendingException pending;
    private final SignalGuard signals;
    private final BlockingQueue<Runnable> mainQueue = new LinkedBlockingQueue<>();
    private final Set<PythonThread> threads = ConcurrentHashMap.newKeySet();
    /** The sub-interpreters made by {@link #newInterpreter}. */
    private final Set<Interpreter> subInterpreters = ConcurrentHashMap.newKeySet();
    private final Thread mainThread;
    private volatile boolean closing;
    /** Set by the finalise task on py-main: after it, py-main must not touch Python again. */
    private boolean finalized;
    private Interpreter main;
    private MemorySegment mainThreadState;

    private PythonRuntime(PythonInstallation installation, CPython api, SignalGuard signals) {
        this.installation = installation;
        this.api = api;
        this.threadStates = new ThreadStates(api);
        this.init = new PyInit(api);
        this.pending = new PendingException(api);
        this.signals = signals;
        this.mainThread = Thread.ofPlatform().name("py-main").daemon(true).stackSize(PYTHON_STACK_BYTES)
                .unstarted(this::mainLoop);
    }

    /**
     * The runtime of this process for one more user, who gives it back with {@link #release}:
     * started now (loaded and initialised, the GIL released) when none runs yet, else the running
     * one, when it embeds the same Python.
     *
     * @param argv the value for {@code sys.argv}; the first user's stays
     * @throws PythonStartupException when the library cannot be loaded or initialised, when the
     *         running runtime embeds another Python, or once it has stopped (CPython cannot start
     *         twice in one process)
     */
    public static PythonRuntime acquire(PythonInstallation installation, List<String> argv) {
        synchronized (PythonRuntime.class) {
            if (shared == null) {
                shared = start(installation, argv);
            } else if (shared.closing) {
                throw new PythonStartupException("Python (" + shared.installation.describe() + ") was stopped in this process"
                        + " and cannot be started again: CPython starts once per process. Keep one user of it (an app, a"
                        + " servlet) for the life of the process, or start a new process.");
            } else if (!shared.installation.sameRuntime(installation)) {
                throw new PythonStartupException("this process already embeds " + shared.installation.describe()
                        + ", and cannot also embed " + installation.describe() + ": CPython can be loaded once per process."
                        + " Give every jwsgi app in this process the same Python, or run the other one in a process of its own.");
            }
            users++;
            return shared;
        }
    }

    /**
     * Gives back the runtime one user {@link #acquire acquired}; the last user's release stops
     * Python as {@link #shutdown} does.
     *
     * @return true when this release finalised Python
     */
    public boolean release(Duration timeout) {
        synchronized (PythonRuntime.class) {
            if (users == 0) throw new IllegalStateException("the Python runtime was released more often than acquired");
            if (--users > 0) return false;
        }
        return shutdown(timeout);
    }

    /** Loads and initialises the interpreter, then returns with the GIL released. */
    private static PythonRuntime start(PythonInstallation installation, List<String> argv) {
        if (!LOADED.compareAndSet(false, true)) {
            throw new PythonStartupException("an earlier start of Python failed in this process (its error was reported"
                    + " then), and CPython cannot be loaded twice: fix that error and start a new process");
        }
        dlopenGlobal(installation);
        SignalGuard signals = SignalGuard.save();
        CPython api = new CPython(installation.library());
        PythonRuntime runtime = new PythonRuntime(installation, api, signals);
        CompletableFuture<Void> ready = new CompletableFuture<>();
        runtime.mainQueue.add(() -> {
            try {
                if (runtime.init.isInitialized()) {
                    // dlopen returned the library another copy of these classes (another class loader) started.
                    throw new PythonStartupException("CPython is already running in this process, started by code other than"
                            + " this copy of jwsgi (another class loader, such as a second web application with jwsgi of its"
                            + " own): share one jwsgi (the container's class path) or run the apps in separate processes");
                }
                runtime.init.initialize(installation);
                runtime.mainThreadState = runtime.threadStates.current();
                runtime.main = runtime.newInterpreterObject(runtime.mainThreadState);
                MemorySegment list = runtime.main.stringList(argv);
                try {
                    runtime.main.setSys("argv", list);
                } finally {
                    api.decRef(list);
                }
                ready.complete(null);
            } catch (Throwable t) {
                ready.completeExceptionally(t);
            }
        });
        runtime.mainThread.start();
        try {
            ready.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new PythonStartupException("Python init failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PythonStartupException("interrupted while starting Python", e);
        }
        List<String> changed = signals.restore();
        if (!changed.isEmpty()) LOG.warn("Python initialisation changed signal handlers {}; restored the JVM's", changed);
        return runtime;
    }

    private static void dlopenGlobal(PythonInstallation installation) {
        Linker linker = Linker.nativeLinker();
        MethodHandle dlopen = linker.downcallHandle(linker.defaultLookup().find("dlopen").orElseThrow(),
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
        MethodHandle dlerror = linker.downcallHandle(linker.defaultLookup().find("dlerror").orElseThrow(),
                FunctionDescriptor.of(ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = (MemorySegment) dlopen.invokeExact(
                    arena.allocateFrom(installation.library().toString()), RTLD_NOW | RTLD_GLOBAL);
            if (handle.address() == 0) {
                MemorySegment err = (MemorySegment) dlerror.invokeExact();
                String why = err.address() == 0 ? "unknown error" : err.reinterpret(4096).getString(0);
                throw new PythonStartupException("cannot load " + installation.library() + ": " + why);
            }
        } catch (PythonStartupException e) {
            throw e;
        } catch (Throwable t) {
            throw new PythonStartupException("cannot load " + installation.library() + ": " + t, t);
        }
    }

    private void mainLoop() {
        boolean holding = true;  // the first task initialises Python and leaves the GIL held
        while (true) {
            Runnable task;
            try {
                task = mainQueue.take();
            } catch (InterruptedException e) {
                return;
            }
            if (!holding && main != null) threadStates.restore(mainThreadState);
            try {
                task.run();
            } catch (Throwable t) {
                LOG.error("unexpected failure on py-main", t);
            }
            if (finalized) return;
            if (main != null) {
                threadStates.save();
                holding = false;
            }
        }
    }

    public PythonInstallation installation() {
        return installation;
    }

    public CPython api() {
        return api;
    }

    /** The main interpreter. Its objects may only be used with the GIL held. */
    public Interpreter main() {
        return main;
    }

    /**
     * Runs {@code task} on Python's main thread with the GIL held and returns its result.
     * Use it for work that Python expects on its main thread (importing the app, whose
     * module may call {@code signal.signal}).
     */
    public <T> T onMainThread(Function<Interpreter, T> task) {
        CompletableFuture<T> result = new CompletableFuture<>();
        mainQueue.add(() -> {
            try {
                result.complete(task.apply(main));
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        try {
            return result.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for py-main", e);
        }
    }

    /**
     * Puts back any signal disposition Python code changed since start-up.
     *
     * @return the names of the signals that had been changed
     */
    public List<String> restoreSignals() {
        return signals.restore();
    }

    /**
     * Creates a thread state for the calling platform thread in the main interpreter. The
     * thread keeps it for life and must {@link #detach} it before ending.
     */
    public PythonThread attach() {
        return attach(main);
    }

    /**
     * Creates a thread state for the calling platform thread in {@code interpreter} (the main one
     * or a sub-interpreter). The thread keeps it for life and must {@link #detach} it before ending.
     */
    public PythonThread attach(Interpreter interpreter) {
        if (Thread.currentThread().isVirtual()) {
            throw new IllegalStateException("Python must not run on a virtual thread: it may move between OS threads");
        }
        if (closing) throw new PythonShutdownException();
        MemorySegment tstate = threadStates.create(interpreter.state());
        if (CPython.isNull(tstate)) throw new IllegalStateException("PyThreadState_New failed");
        PythonThread thread = new PythonThread(this, interpreter, tstate);
        threads.add(thread);
        return thread;
    }

    /**
     * Creates a sub-interpreter with its own GIL (Python 3.12+; jwsgi offers it on 3.13+), and
     * gives the calling platform thread its first thread state, for life (see {@link #attach}).
     * Its objects are its own: nothing may be shared with another interpreter but immortal
     * statics such as {@code None}.
     *
     * @throws PythonStartupException when the interpreter cannot be created
     */
    public PythonThread newInterpreter() {
        if (Thread.currentThread().isVirtual()) {
            throw new IllegalStateException("Python must not run on a virtual thread: it may move between OS threads");
        }
        if (closing) throw new PythonShutdownException();
        // Creating one needs the main GIL, through a thread state of this thread in the main interpreter.
        MemorySegment helper = threadStates.create(main.state());
        if (CPython.isNull(helper)) throw new IllegalStateException("PyThreadState_New failed");
        threadStates.restore(helper);
        MemorySegment tstate;
        try {
            tstate = threadStates.newIsolatedInterpreter();
        } catch (RuntimeException e) {
            threadStates.clear(helper);
            threadStates.deleteCurrent();
            throw e;
        }
        threadStates.save();
        threadStates.restore(helper);
        threadStates.clear(helper);
        threadStates.deleteCurrent();
        Interpreter interpreter = newInterpreterObject(tstate);
        subInterpreters.add(interpreter);
        PythonThread thread = new PythonThread(this, interpreter, tstate);
        threads.add(thread);
        return thread;
    }

    /**
     * Deletes the calling thread's state (unless finalisation already did), in the main
     * interpreter or a sub-interpreter alike: an HTTP thread that ran requests in several
     * interpreters and ends (Jetty retires idle pool threads) must not leave a state in each.
     */
    public void detach(PythonThread thread) {
        threads.remove(thread);
        thread.close();
    }

    /**
     * A platform thread with a stack big enough for CPython. Every thread that runs Python
     * code must be made here.
     */
    public static Thread newThread(String name, Runnable body) {
        return Thread.ofPlatform().name(name).daemon(true).stackSize(PYTHON_STACK_BYTES).unstarted(body);
    }

    boolean isClosing() {
        return closing;
    }

    ThreadStates threadStates() {
        return threadStates;
    }

    /** The {@link Interpreter} of the interpreter {@code tstate} belongs to. */
    private Interpreter newInterpreterObject(MemorySegment tstate) {
        return new Interpreter(api, pending, threadStates.interpreterOf(tstate));
    }

    /**
     * Stops Python: no thread may enter it any more; waits up to {@code timeout} for the
     * threads inside it, then finalises it on py-main (running {@code atexit} handlers).
     * When a thread is still inside Python (a hung request), finalisation is skipped:
     * exiting the process without it is safe, finalising under a running thread is not.
     *
     * @return true when Python was finalised
     */
    private boolean shutdown(Duration timeout) {
        closing = true;
        if (!subInterpreters.isEmpty()) {
            // Ending an isolated interpreter that served requests crashed CPython 3.13.0 (in free(), from
            // Py_EndInterpreter), and finalising the runtime ends them all. The process exits: it frees them.
            LOG.debug("not finalising Python: {} sub-interpreters are running", subInterpreters.size());
            return false;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        for (PythonThread t : threads) {
            while (t.isInside() && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            if (t.isInside()) {
                LOG.warn("{} is still running Python code; not finalising Python (atexit handlers will not run)",
                        t.owner().getName());
                return false;
            }
        }
        CompletableFuture<Integer> done = new CompletableFuture<>();
        mainQueue.add(() -> {
            finalized = true;
            done.complete(init.finalizeEx());
        });
        try {
            long left = Math.max(1, deadline - System.nanoTime());
            int rc = done.get(Math.max(left, TimeUnit.SECONDS.toNanos(1)), TimeUnit.NANOSECONDS);
            if (rc != 0) LOG.warn("Py_FinalizeEx reported an error ({}), e.g. while flushing sys.stdout", rc);
            return true;
        } catch (TimeoutException e) {
            LOG.warn("Python finalisation did not finish in time (non-daemon Python threads still running?); exiting without it");
            return false;
        } catch (ExecutionException e) {
            LOG.warn("Python finalisation failed", e.getCause());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
