package jwsgi.server;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import jwsgi.testing.Http;
import jwsgi.testing.Pythons;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --reload}: a worker is replaced when a source file of the app changes, or a
 * {@code --reload-extra-file}; the replacement serves the new code and data.
 */
class ReloadTest {
    private static final Duration REPLACED = Duration.ofSeconds(60);

    @Test
    void aChangedSourceFileOrExtraFileReplacesTheWorker(@TempDir Path dir) throws Exception {
        Path data = Files.writeString(dir.resolve("data.txt"), "first data\n");
        Path helper = Files.writeString(dir.resolve("helper.py"), "WORD = 'one'\n");
        Files.writeString(dir.resolve("editable.py"), """
                import helper

                with open("data.txt") as f:
                    DATA = f.readline().strip()

                def application(environ, start_response):
                    start_response("200 OK", [("Content-Type", "text/plain")])
                    return [(helper.WORD + " " + DATA).encode()]
                """);
        try (ServerProcess s = ServerProcess.startRaw(List.of("--python", Pythons.DEBIAN.toString(), "--chdir", dir.toString(),
                "-b", "127.0.0.1:0", "--reload", "--reload-extra-file", data.toString(), "editable"), Map.of())) {
            List<Long> first = s.awaitWorkers(1, List.of(), REPLACED);
            assertEquals("one first data", Http.get(s.url() + "/").body());

            // A module the app imported, not only the app's own file, is watched.
            Files.writeString(helper, "WORD = 'two'\n");
            List<Long> second = s.awaitWorkers(1, first, REPLACED);
            assertTrue(s.awaitOutput("Worker reloading: " + helper + " modified", Duration.ofSeconds(5)), s.output());
            assertEquals("two first data", Http.get(s.url() + "/").body());

            Files.writeString(data, "second data\n");
            s.awaitWorkers(1, second, REPLACED);
            assertTrue(s.awaitOutput("Worker reloading: " + data + " modified", Duration.ofSeconds(5)), s.output());
            assertEquals("two second data", Http.get(s.url() + "/").body());
        }
    }
}
