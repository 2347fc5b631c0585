package jwsgi.http;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import jwsgi.config.LimitOptions;
import jwsgi.config.StaticOptions;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

import org.eclipse.jetty.http.HttpCompliance;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.LocalConnector;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.IO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A fuzz target over request paths against a static mount: Jetty's real HTTP/1.1 parsing (jwsgi's
 * lenient URI compliance and its head limits) in front of {@link StaticFiles}, in memory
 * (Jetty's LocalConnector). The mount's directory holds ordinary files, dotfiles and symbolic
 * links that lead out of it (to a secret file, to its parent directory); whatever the path,
 * method and headers, no response carries a byte of anything outside the directory or of a
 * dotfile; and {@link StaticPath} alone, whose every answer must be a path of plain segments.
 * Regression mode in every build (the inputs under
 * jwsgi-server/src/test/resources/jwsgi/http/StaticFilesFuzzTestInputs); scripts/fuzz.sh fuzzes.
 */
@Tag("fast")
class StaticFilesFuzzTest {
    private static final String OUTSIDE = "OUTSIDE-SECRET-4f1d";
    private static final String DOTFILE = "DOTFILE-SECRET-9c2e";
    private static final String INSIDE = "inside-file-ok";
    private static Path tree;
    private static Server server;
    private static LocalConnector connector;

    @BeforeAll
    static void start() throws Exception {
        tree = Files.createTempDirectory("jwsgi-static-fuzz");
        Path root = Files.createDirectories(tree.resolve("site/static"));
        // Each secret twice: a range that cuts the first still holds the second whole.
        Files.writeString(tree.resolve("site/settings.py"), OUTSIDE + "\n" + OUTSIDE);
        Files.writeString(tree.resolve("secret.txt"), OUTSIDE + "\n" + OUTSIDE);
        Files.createDirectories(root.resolve("css"));
        Files.writeString(root.resolve("css/app.css"), INSIDE);
        Files.writeString(root.resolve("css/app.css.gz"), INSIDE);
        Files.writeString(root.resolve("a..b.txt"), INSIDE);
        Files.writeString(root.resolve(".env"), DOTFILE + "\n" + DOTFILE);
        Files.createDirectories(root.resolve(".git"));
        Files.writeString(root.resolve(".git/config"), DOTFILE + "\n" + DOTFILE);
        Files.createSymbolicLink(root.resolve("secret.txt"), tree.resolve("secret.txt"));
        Files.createSymbolicLink(root.resolve("up"), tree.resolve("site"));
        Files.createSymbolicLink(root.resolve("css/env.css"), root.resolve(".env"));

        server = new Server();
        HttpConfiguration config = new HttpConfiguration();
        config.setHttpCompliance(HttpCompliance.STRICT);
        config.setUriCompliance(HttpServer.WSGI_URI_COMPLIANCE);
        LimitOptions.Settings limits = new LimitOptions.Settings(4094, 100, 8190, 0, 1 << 20, Duration.ZERO,
                Duration.ofSeconds(30), 0);
        HeadLimits head = new HeadLimits(limits);
        connector = new LocalConnector(server, new GuardedHttpConnectionFactory(config, head, Duration.ZERO));
        server.addConnector(connector);
        StaticOptions.Settings statics = new StaticOptions.Settings(
                List.of(new StaticOptions.Mount("/static", root.toRealPath(), 60)), false);
        server.setHandler(new StaticFiles(statics, head, server.getByteBufferPool(), new App()));
        server.setErrorHandler(new ErrorResponses());
        server.start();
    }

    @AfterAll
    static void stop() throws Exception {
        server.stop();
        IO.delete(tree.toFile());
    }

    /** Any path (under /static or not), GET or HEAD, with or without Accept-Encoding and Range: nothing from outside, nor from a dotfile. */
    @FuzzTest(maxDuration = "2m")
    void requestPaths(FuzzedDataProvider data) throws Exception {
        boolean head = data.consumeBoolean();
        boolean compressed = data.consumeBoolean();
        boolean range = data.consumeBoolean();
        String prefix = data.pickValue(new String[] {"/static/", "/static", "/", ""});
        String path = prefix + data.consumeRemainingAsString();
        String response = get(path, head, (compressed ? "Accept-Encoding: gzip, br\r\n" : "") + (range ? "Range: bytes=0-3,5-\r\n" : ""));
        for (String secret : List.of(OUTSIDE, DOTFILE)) {
            // An error page may quote the request: a secret in a refusal counts only when the request did not bring it.
            boolean served = response.startsWith("HTTP/1.1 2");
            assertFalse(response.contains(secret) && (served || !path.contains(secret)), "leaked for " + path + ":\n" + response);
        }
    }

    /**
     * Any raw path: {@link StaticPath} refuses it or gives segments that name an entry of the
     * directory they are in: none empty, none starting with '.', no '/', '\\', '%' or control character.
     */
    @FuzzTest(maxDuration = "1m")
    void pathReading(FuzzedDataProvider data) {
        String raw = data.consumeRemainingAsString();
        String file = StaticPath.file(raw);
        if (file == null) return;
        assertTrue(file.startsWith("/"), file);
        for (String segment : file.substring(1).split("/", -1)) {
            assertFalse(segment.isEmpty() || segment.startsWith("."), raw + " gave " + file);
            assertTrue(segment.chars().noneMatch(c -> c < 0x20 || c == 0x7f || c == '\\' || c == '%'), raw + " gave " + file);
        }
    }

    /** The harness itself works: a file is served, the app gets the rest, and the secrets are there to be leaked. */
    @Test
    void theTargetCanSeeAFileAndTheApp() throws Exception {
        assertTrue(get("/static/css/app.css", false, "").contains(INSIDE));
        assertTrue(get("/static/a..b.txt", false, "").contains(INSIDE));
        assertTrue(get("/elsewhere", false, "").contains("app"));
        assertTrue(Files.readString(tree.resolve("site/static/secret.txt")).contains(OUTSIDE), "the link is followable");
        for (String attempt : List.of("/static/secret.txt", "/static/up/settings.py", "/static/css/env.css", "/static/.env",
                "/static/../settings.py", "/static/%2e%2e/settings.py", "/static/css%2f..%2f..%2fsettings.py",
                "/static/..%5csettings.py", "/static/%252e%252e/settings.py", "/static/.git/config")) {
            String response = get(attempt, false, "");
            assertTrue(response.startsWith("HTTP/1.1 404 ") || response.startsWith("HTTP/1.1 400 "), attempt + ":\n" + response);
            assertFalse(response.contains(OUTSIDE) || response.contains(DOTFILE), attempt + ":\n" + response);
        }
    }

    private static String get(String target, boolean head, String headers) throws Exception {
        // Latin-1: every char of the target goes on the wire as one byte, however odd.
        byte[] request = ((head ? "HEAD " : "GET ") + target + " HTTP/1.1\r\nHost: fuzz\r\n" + headers + "Connection: close\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer response = connector.getResponse(ByteBuffer.wrap(request), head, 10, TimeUnit.SECONDS);
        assertNotNull(response, "no response to " + target);
        return StandardCharsets.ISO_8859_1.decode(response).toString();
    }

    /** The app: says so. */
    private static final class App extends Handler.Abstract.NonBlocking {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            response.write(true, ByteBuffer.wrap("app".getBytes(StandardCharsets.US_ASCII)), callback);
            return true;
        }
    }
}
