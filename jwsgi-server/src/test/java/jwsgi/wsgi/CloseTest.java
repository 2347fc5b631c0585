package jwsgi.wsgi;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import jwsgi.testing.Http;
import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The response iterable's close() is called exactly once on every path PEP 3333 names. */
class CloseTest {
    private static ServerProcess server;

    @BeforeAll
    static void start() {
        server = ServerProcess.start("corpus");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static List<String> events(String tag) {
        JsonNode all = Http.getJson(server.url() + "/events");
        List<String> mine = new ArrayList<>();
        all.forEach(e -> {
            if (e.asText().startsWith(tag + ":")) mine.add(e.asText().substring(tag.length() + 1));
        });
        return mine;
    }

    @Test
    void afterANormalResponse() throws IOException {
        assertEquals("one;two;", Http.get(server.url() + "/close?tag=normal").body());
        assertEquals(List.of("close"), events("normal"));
    }

    @Test
    void afterTheIterationRaises() throws IOException {
        Http.get(server.url() + "/close?tag=iter&how=raise-in-iter");
        assertEquals(List.of("close"), events("iter"));
    }

    @Test
    void notCalledWhenTheAppRaisedBeforeReturningAnIterable() {
        assertEquals(500, Http.get(server.url() + "/close?tag=early&how=raise-before-start").statusCode());
        assertEquals(List.of("called"), events("early"), "there was no iterable to close");
    }

    @Test
    void afterTheClientDisconnectsMidStream() throws Exception {
        try (RawHttp c = RawHttp.to(server)) {
            c.send("GET /stream?tag=gone&n=200&delay=0.02&size=20000 HTTP/1.1\r\nHost: h\r\n\r\n");
            c.read(true);  // the head; then hang up with the body still coming
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        List<String> seen = new ArrayList<>();
        while (System.nanoTime() < deadline && !seen.contains("close")) {
            seen.addAll(events("gone"));
            Thread.sleep(100);
        }
        assertTrue(seen.contains("close"), "close() after the client left: " + seen);
        Thread.sleep(300);
        seen.addAll(events("gone"));
        assertEquals(1, seen.stream().filter("close"::equals).count(), "close() exactly once: " + seen);
        assertTrue(seen.contains("generator-finally"), "closing the generator ran its finally block: " + seen);
    }

    @Test
    void anExceptionInCloseIsLoggedAndTheResponseStillDelivered() {
        assertEquals("body", Http.get(server.url() + "/close-raises").body());
        assertEquals(List.of("close"), events("close-raises"));
        assertTrue(server.awaitOutput("close() failed on purpose", Duration.ofSeconds(5)));
    }
}
