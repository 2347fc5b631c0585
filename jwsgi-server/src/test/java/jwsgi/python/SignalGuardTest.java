package jwsgi.python;

import java.time.Duration;

import jwsgi.testing.Http;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Signals stay the server's even when the app grabs them: an app that installs SIGTERM/SIGINT
 * handlers and enables faulthandler at import is still stopped by SIGTERM, and the JVM (which
 * uses SIGSEGV for its own null checks) keeps running under load.
 */
class SignalGuardTest {
    @Test
    void anAppThatTakesSignalsAndFaulthandlerCannotKeepThem() throws Exception {
        try (ServerProcess server = ServerProcess.start("hostile_signals", "--threads", "2")) {
            String warning = server.output().lines().filter(l -> l.contains("The app changed the handlers of")).findFirst()
                    .orElseThrow(() -> new AssertionError("no warning about the changed handlers:\n" + server.output()));
            for (String signal : new String[] {"SIGINT", "SIGTERM", "SIGSEGV"}) assertTrue(warning.contains(signal), warning);
            for (int i = 0; i < 300; i++) {
                // Enough requests for the JIT to compile code paths that rely on implicit null checks.
                assertEquals("still here", Http.get(server.url() + "/").body());
            }
            server.signal("TERM");
            assertEquals(0, server.waitFor(Duration.ofSeconds(20)), server.output());
            assertTrue(server.output().contains("Handling signal: term"), server.output());
        }
    }
}
