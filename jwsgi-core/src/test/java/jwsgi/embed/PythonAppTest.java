package jwsgi.embed;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import jwsgi.python.PythonLocator;
import jwsgi.python.PythonRuntime;
import jwsgi.python.PythonStartupException;
import jwsgi.testing.EmbeddedApps;
import jwsgi.testing.EmbeddedPython;
import jwsgi.testing.LogCapture;
import jwsgi.testing.MemoryExchange;
import jwsgi.testing.Pythons;
import jwsgi.wsgi.AppLoadException;
import jwsgi.wsgi.WorkerPool;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The embedding API in the test JVM's own Python: one runtime per process, shared by the apps
 * of the same Python and refused to another; what an app's start and stop do with requests.
 */
@Tag("fast")
class PythonAppTest {
    @Test
    void appsOfTheSamePythonShareItsRuntime() {
        PythonRuntime held = EmbeddedPython.runtime();
        try (PythonApp app = EmbeddedApps.options(1).start()) {
            assertSame(held, app.runtime());
            MemoryExchange ex = MemoryExchange.get("/x/environ");
            app.submit(ex);
            awaitEnd(ex);
            assertTrue(ex.text().contains("\"PATH_INFO\": \"/x/environ\""), ex.text());
        }
        // Closing the app gave its share back; the runtime still serves the others.
        assertTrue(EmbeddedPython.app("corpus:application") != null);
    }

    @Test
    void anotherPythonIsRefusedNamingBoth() {
        EmbeddedPython.runtime();
        Path other = Pythons.supported().stream().filter(p -> !p.equals(Pythons.DEBIAN)).findFirst().orElse(null);
        assumeTrue(other != null, "needs a second Python (pyenv) on this machine");
        PythonStartupException e = assertThrows(PythonStartupException.class,
                () -> PythonAppOptions.builder("embedded:application").python(other.toString()).start());
        String running = new PythonLocator(Map.of()).locate(Pythons.DEBIAN.toString()).describe();
        String wanted = new PythonLocator(Map.of()).locate(other.toString()).describe();
        assertEquals("this process already embeds " + running + ", and cannot also embed " + wanted + ": CPython can be loaded"
                + " once per process. Give every jwsgi app in this process the same Python, or run the other one in a process"
                + " of its own.", e.getMessage());
    }

    @Test
    void subInterpretersNeedPython313() {
        EmbeddedPython.runtime();
        PythonStartupException e = assertThrows(PythonStartupException.class,
                () -> EmbeddedApps.options(1).subInterpreters(2).start());
        assertTrue(e.getMessage().startsWith("cannot run the app in sub-interpreters: they need Python 3.13 or later, and this is 3.11"),
                e.getMessage());
    }

    @Test
    void anAppThatCannotBeImportedSaysWhy() {
        EmbeddedPython.runtime();
        try (LogCapture log = LogCapture.of(PythonApp.class.getName())) {
            AppLoadException e = assertThrows(AppLoadException.class,
                    () -> PythonAppOptions.builder("no_such_module_here:app").python(Pythons.DEBIAN.toString()).start());
            assertTrue(e.getMessage().contains("no_such_module_here"), e.getMessage());
            assertTrue(log.contains("Reason: "), log.toString());
        }
    }

    /** Options made by hand may run requests inline, on the submitting thread: never a virtual one. */
    @Test
    void aVirtualThreadNeverRunsPython() throws Exception {
        PythonAppOptions built = EmbeddedApps.options(1).build();
        PythonAppOptions inline = new PythonAppOptions(built.python(), built.argv(), built.app(), WorkerPool.Options.threads(1),
                built.facts(), Duration.ZERO, 0);
        try (PythonApp app = PythonApp.start(inline)) {
            MemoryExchange ex = MemoryExchange.get("/environ");
            AtomicReference<Throwable> refused = new AtomicReference<>();
            Thread virtual = Thread.ofVirtual().start(() -> {
                try {
                    app.submit(ex);
                } catch (IllegalStateException e) {
                    refused.set(e);
                }
            });
            virtual.join();
            assertTrue(refused.get() != null && refused.get().getMessage().contains("Python must never run on a virtual thread"),
                    String.valueOf(refused.get()));
            assertTrue(ex.ends().isEmpty(), "nothing ran");
            // A thread of the pool's own (as the command line's HTTP threads are) runs it itself.
            Thread own = app.pool().threadFactory().newThread(() -> app.submit(ex));
            own.start();
            own.join();
            assertEquals(200, ex.head().status());
        }
    }

    /** The options say what is wrong with them, before anything starts. */
    @Test
    void badOptionsAreRefusedAtOnce() {
        assertEquals("threads 0: at least 1 Python thread is needed",
                assertThrows(IllegalArgumentException.class, () -> PythonAppOptions.builder("a:b").threads(0).build()).getMessage());
        assertEquals("chdir /no/such/dir: no such directory",
                assertThrows(IllegalArgumentException.class, () -> PythonAppOptions.builder("a:b").chdir("/no/such/dir")).getMessage());
        assertEquals("no app given: name it as module:callable",
                assertThrows(IllegalArgumentException.class, () -> PythonAppOptions.builder(" ").build()).getMessage());
    }

    /** A container may wait for each request it submitted: closing the app must end the ones still queued. */
    @Test
    void closingAnswersTheQueuedRequests503(@TempDir Path dir) throws Exception {
        Path marker = dir.resolve("hold");
        PythonApp app = EmbeddedApps.options(1).start();
        MemoryExchange running = MemoryExchange.get("/wait?" + marker);
        MemoryExchange queued = MemoryExchange.get("/environ");
        try {
            app.submit(running);
            EmbeddedApps.awaitStarted(marker);
            app.submit(queued);
            app.close(Duration.ofMillis(50));
            MemoryExchange.End end = awaitEnd(queued);
            assertEquals(503, assertInstanceOf(MemoryExchange.End.Error.class, end).status(), "queued, then the app closed");
            MemoryExchange late = MemoryExchange.get("/environ");
            app.submit(late);
            assertEquals(503, assertInstanceOf(MemoryExchange.End.Error.class, late.end()).status(), "submitted after the close");
        } finally {
            Files.createFile(marker);
            app.close();
        }
        awaitEnd(running);
        assertTrue(running.text().contains("waited"), "the running request finishes: " + running.text());
    }

    private static MemoryExchange.End awaitEnd(MemoryExchange ex) {
        long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (ex.ends().isEmpty()) {
            if (System.nanoTime() > until) throw new AssertionError("the request did not end: " + ex.text());
            Thread.onSpinWait();
        }
        return ex.end();
    }
}
