package jwsgi.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A file a test app creates when something has happened (a request began to sleep), so that a
 * test orders its steps by what the server did rather than by how long it waited.
 */
public final class Marker {
    private Marker() {}

    /** Waits until {@code file} exists; fails after {@code timeout}. */
    public static void await(Path file, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!Files.exists(file)) {
            if (System.nanoTime() - deadline > 0) throw new AssertionError(file + " was not created within " + timeout);
            Thread.sleep(10);
        }
    }
}
