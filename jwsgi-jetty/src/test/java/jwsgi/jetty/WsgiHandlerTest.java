package jwsgi.jetty;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;

import com.fasterxml.jackson.databind.JsonNode;

import jwsgi.embed.PythonApp;
import jwsgi.testing.EmbeddedApps;
import jwsgi.testing.Http;

import org.eclipse.jetty.security.Constraint;
import org.eclipse.jetty.security.HashLoginService;
import org.eclipse.jetty.security.SecurityHandler;
import org.eclipse.jetty.security.UserStore;
import org.eclipse.jetty.security.authentication.BasicAuthenticator;
import org.eclipse.jetty.server.ForwardedRequestCustomizer;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;
import org.eclipse.jetty.util.security.Credential;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link WsgiHandler} embedded in a Java service's own Jetty, as a user would put it: in a
 * context ({@code /ctx}), behind Jetty's security handler (HTTP Basic on {@code /secure/*}), on a
 * server whose requests run on virtual threads. Real HTTP on loopback, the test JVM's Python.
 */
class WsgiHandlerTest {
    private static Server server;
    private static PythonApp app;
    /** One Python thread and room for one waiting request: the bound is reached at the third. */
    private static PythonApp small;
    private static String base;

    @BeforeAll
    static void start() throws Exception {
        app = EmbeddedApps.options(2).timeout(Duration.ofSeconds(1)).start();
        small = EmbeddedApps.options(1).maxQueued(1).start();
        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server = new Server(threads);
        HttpConfiguration config = new HttpConfiguration();
        config.addCustomizer(new ForwardedRequestCustomizer());
        ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(config));
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        server.setHandler(new ContextHandlerCollection(
                new ContextHandler(secured(new WsgiHandler(app)), "/ctx"),
                new ContextHandler(new WsgiHandler(small), "/small")));
        server.start();
        base = "http://127.0.0.1:" + connector.getLocalPort();
    }

    /** Jetty's own HTTP Basic on {@code /secure/*}, user demo, password demo. */
    private static SecurityHandler secured(WsgiHandler handler) {
        UserStore users = new UserStore();
        users.addUser("demo", Credential.getCredential("demo"), new String[] {"user"});
        HashLoginService login = new HashLoginService("test");
        login.setUserStore(users);
        SecurityHandler.PathMapped security = new SecurityHandler.PathMapped();
        security.put("/secure/*", Constraint.ANY_USER);
        security.setAuthenticator(new BasicAuthenticator());
        security.setLoginService(login);
        security.setHandler(handler);
        return security;
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) server.stop();
        if (small != null) small.close();
        if (app != null) app.close();
    }

    @Test
    void theMountIsScriptNameAndTheRestPathInfo() {
        JsonNode env = EmbeddedApps.environ(base + "/ctx/open", null);
        assertEquals("/ctx", env.get("SCRIPT_NAME").asText());
        assertEquals("/open/environ", env.get("PATH_INFO").asText());
        assertEquals("x=1", env.get("QUERY_STRING").asText());
        assertTrue(env.get("REMOTE_USER").isNull(), env.toString());
        assertEquals("http", env.get("wsgi.url_scheme").asText());
        assertTrue(env.get("wsgi.multithread").asBoolean(), "two Python threads: " + env);
    }

    @Test
    void remoteUserIsJettysAuthenticatedUser() {
        HttpResponse<String> refused = Http.get(base + "/ctx/secure/environ");
        assertEquals(401, refused.statusCode(), "Jetty's security handler answers first");
        JsonNode env = EmbeddedApps.environ(base + "/ctx/secure", EmbeddedApps.basic("demo", "demo"));
        assertEquals("demo", env.get("REMOTE_USER").asText());
        assertEquals("/secure/environ", env.get("PATH_INFO").asText());
    }

    @Test
    void theSchemeIsJettys() {
        HttpRequest r = HttpRequest.newBuilder(URI.create(base + "/ctx/open/environ")).header("X-Forwarded-Proto", "https").build();
        assertEquals("https", Http.json(Http.send(r).body()).get("wsgi.url_scheme").asText(), "as Jetty's forwarded customizer says");
    }

    @Test
    void responsesStreamAsTheAppYields(@TempDir Path dir) throws Exception {
        EmbeddedApps.streams(base + "/ctx/open", dir);
    }

    @Test
    void uploadsArriveWhole() throws Exception {
        EmbeddedApps.uploads(base + "/ctx/open");
    }

    @Test
    void aRequestPastTheTimeoutIsAnswered504() {
        EmbeddedApps.timesOut(base + "/ctx/open");
    }

    @Test
    void pastTheBoundOnWaitingRequestsThe503IsAtOnce(@TempDir Path dir) throws Exception {
        Path marker = dir.resolve("hold");
        CompletableFuture<HttpResponse<String>> running = Http.client().sendAsync(
                HttpRequest.newBuilder(URI.create(base + "/small/wait?" + marker)).build(), HttpResponse.BodyHandlers.ofString());
        EmbeddedApps.awaitStarted(marker);
        CompletableFuture<HttpResponse<String>> queued = Http.client().sendAsync(
                HttpRequest.newBuilder(URI.create(base + "/small/environ")).build(), HttpResponse.BodyHandlers.ofString());
        long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (small.pool().backlog() < 1 && System.nanoTime() < until) Thread.onSpinWait();
        assertEquals(1, small.pool().backlog(), "the second request waits for the one Python thread");
        HttpResponse<String> refused = Http.get(base + "/small/environ");
        assertEquals(503, refused.statusCode(), refused.body());
        assertEquals("1", refused.headers().firstValue("Retry-After").orElse(null));
        Files.createFile(marker);
        assertEquals(200, running.get().statusCode());
        assertEquals(200, queued.get().statusCode());
    }
}
