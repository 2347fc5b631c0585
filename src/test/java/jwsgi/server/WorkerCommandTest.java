package jwsgi.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;

class WorkerCommandTest {
    @Test
    void workersMapTheAotCacheTheLauncherNamesWhenItExists(@TempDir Path dir) throws IOException {
        Path cache = Files.writeString(dir.resolve("jwsgi-worker.aot"), "cache");
        assertEquals(List.of("-XX:AOTCache=" + cache, "-Xlog:aot*=off", "-Xlog:cds*=off"), WorkerCommand.aotCache(cache.toString()));
    }

    @Test
    void noCacheOptionsWithoutACache(@TempDir Path dir) {
        assertEquals(List.of(), WorkerCommand.aotCache(null));
        assertEquals(List.of(), WorkerCommand.aotCache(dir.resolve("missing.aot").toString()));
    }
}
