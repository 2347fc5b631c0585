package jwsgi.wsgi;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;

import jwsgi.python.PythonRuntime;
import jwsgi.python.PythonThread;

/**
 * The interpreters a pool runs requests in, each with its app: the main interpreter, or
 * sub-interpreters with a GIL each ({@code -k interpreter}), which import the app themselves.
 * Each has a permit, held by the one HTTP thread running a request there in inline mode.
 *
 * <p>Threads: set up once, before any request arrives; then read by any thread. GIL: not
 * needed; the threads it starts take their interpreter's.
 */
final class Interpreters {
    /** An interpreter requests run in, its app, and the permit of the one inline thread running a request there. */
    record Slot(int index, WsgiApplication app, Semaphore permit) {
        Slot(int index, WsgiApplication app) {
            this(index, app, new Semaphore(1));
        }
    }

    /** What an interpreter's thread does once it has a thread state there: serves until stopped, and says when it is ready. */
    @FunctionalInterface
    interface Serving {
        void serve(PythonThread thread, WsgiApplication app, Runnable ready);
    }

    private final PythonRuntime runtime;
    private volatile Slot[] slots;

    Interpreters(PythonRuntime runtime) {
        this.runtime = runtime;
    }

    /** Requests run in the main interpreter, where {@code app} was imported. */
    void useMain(WsgiApplication app) {
        slots = new Slot[] {new Slot(0, app)};
    }

    /**
     * Creates {@code count} sub-interpreters, each importing the app itself on a thread of its
     * own, which then has {@code threadsEach} threads with a state there (the importing one
     * included). With {@code serving}, those threads serve; without, they end once the app is
     * imported (the HTTP threads run the requests). Waits until every thread is ready.
     *
     * @return the app as the first interpreter imported it
     * @throws AppLoadException when the app cannot be imported in a sub-interpreter (an extension
     *         module that refuses them, a failing import)
     */
    WsgiApplication create(WsgiApplication.Spec spec, WsgiApplication.Facts facts, int count, int threadsEach, Serving serving) {
        CountDownLatch ready = new CountDownLatch(count * threadsEach);
        List<CompletableFuture<WsgiApplication>> loaded = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            CompletableFuture<WsgiApplication> app = new CompletableFuture<>();
            loaded.add(app);
            for (int j = 1; j <= threadsEach; j++) {
                boolean first = j == 1;
                PythonRuntime.newThread("py-interp-" + i + "-" + j, () -> {
                    PythonThread thread = first ? createOne(app, spec, facts) : join(app);
                    if (thread == null || serving == null) {
                        if (thread != null) runtime.detach(thread);
                        ready.countDown();
                        return;
                    }
                    serving.serve(thread, app.join(), ready::countDown);
                }).start();
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
        Slot[] all = new Slot[count];
        for (int i = 0; i < count; i++) all[i] = new Slot(i, loaded.get(i).join());
        slots = all;
        return all[0].app();
    }

    /** On an interpreter's first thread: the interpreter, its app, and this thread's state in it; null when it failed. */
    private PythonThread createOne(CompletableFuture<WsgiApplication> app, WsgiApplication.Spec spec, WsgiApplication.Facts facts) {
        PythonThread thread;
        try {
            thread = runtime.newInterpreter();
        } catch (RuntimeException e) {
            app.completeExceptionally(e);
            return null;
        }
        try {
            app.complete(WsgiApplication.loadHere(thread, spec, facts));
            return thread;
        } catch (RuntimeException e) {
            app.completeExceptionally(e);
            runtime.detach(thread);
            return null;
        }
    }

    /** On an interpreter's other threads: a thread state there once the app is imported; null when it was not. */
    private PythonThread join(CompletableFuture<WsgiApplication> app) {
        WsgiApplication loaded;
        try {
            loaded = app.join();
        } catch (CompletionException e) {
            return null;
        }
        return runtime.attach(loaded.interpreter());
    }

    /** The permit of an interpreter no inline thread is running a request in, taken; null when all are busy. */
    Slot takeFree() {
        for (Slot slot : slots) {
            if (slot.permit().tryAcquire()) return slot;
        }
        return null;
    }

    Slot first() {
        return slots[0];
    }

    int size() {
        return slots.length;
    }
}
