package jwsgi.jetty;

import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import example.HelloJetty;
import jwsgi.testing.EmbeddedPython;
import jwsgi.testing.Http;

import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docs/embedding.md's example of Jetty alone ({@link HelloJetty}) serves its Flask app, in this
 * JVM over real HTTP on loopback; and the page shows that very code.
 */
class HelloJettyTest {
    private static final Path SOURCE = Path.of("jwsgi-jetty/src/test/java/example/HelloJetty.java");
    private static final Path DOC = Path.of("docs/embedding.md");

    @Test
    void theExampleServesItsFlaskApp() throws Exception {
        EmbeddedPython.runtime();  // the test JVM's Python: stopping the example must not finalise it for the others
        Server server = HelloJetty.serve(new InetSocketAddress("127.0.0.1", 0));
        try {
            String base = "http://127.0.0.1:" + ((ServerConnector) server.getConnectors()[0]).getLocalPort();
            HttpResponse<String> index = Http.get(base + "/");
            assertEquals(200, index.statusCode(), index.body());
            assertEquals("Hello from Flask, served by Jetty\n", index.body());
            HttpResponse<String> echo = Http.post(base + "/echo", new byte[100_000], "application/octet-stream");
            assertEquals(200, echo.statusCode(), echo.body());
            assertEquals(100_000, Http.json(echo.body()).get("length").asInt());
            assertEquals("", Http.json(echo.body()).get("script_name").asText());
        } finally {
            server.stop();
        }
    }

    @Test
    void theDocumentationShowsThisExample() throws Exception {
        String source = Files.readString(SOURCE, StandardCharsets.UTF_8);
        String doc = Files.readString(DOC, StandardCharsets.UTF_8);
        assertTrue(doc.contains("```java\n" + source + "```\n"), "docs/embedding.md shows " + SOURCE + " as it is");
    }
}
