package jwsgi.servlet;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Enumeration;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import jakarta.servlet.ServletConfig;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletException;

import jwsgi.embed.PythonApp;
import jwsgi.testing.EmbeddedApps;
import jwsgi.testing.Http;
import jwsgi.testing.LogCapture;
import jwsgi.testing.Pythons;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link WsgiServlet} in Jetty ee10 and in Tomcat 11, both running requests on virtual threads:
 * the mount, the container's user and scheme, streaming, uploads and the timeout, over real
 * HTTP on loopback. One app (the test JVM's Python) serves both containers.
 */
class WsgiServletTest {
    private static PythonApp app;
    private static final Map<ServletContainers, ServletContainers.Running> RUNNING = new EnumMap<>(ServletContainers.class);

    @BeforeAll
    static void start() throws Exception {
        app = EmbeddedApps.options(2).timeout(Duration.ofSeconds(1)).start();
        for (ServletContainers c : ServletContainers.values()) RUNNING.put(c, c.start(new WsgiServlet(app), Map.of()));
    }

    @AfterAll
    static void stop() throws Exception {
        for (ServletContainers.Running r : RUNNING.values()) r.close();
        if (app != null) app.close();
    }

    private static String base(ServletContainers container) {
        return RUNNING.get(container).base();
    }

    @ParameterizedTest
    @EnumSource(ServletContainers.class)
    void scriptNameIsTheContextAndServletPath(ServletContainers container) {
        JsonNode env = EmbeddedApps.environ(base(container) + "/open", null);
        assertEquals("/ctx/py", env.get("SCRIPT_NAME").asText());
        assertEquals("/open/environ", env.get("PATH_INFO").asText());
        assertEquals("x=1", env.get("QUERY_STRING").asText());
        assertTrue(env.get("REMOTE_USER").isNull(), env.toString());
        assertEquals("http", env.get("wsgi.url_scheme").asText());
        assertEquals(Set.of(true), ServletContainers.ThreadNoter.SEEN, "the containers ran requests on virtual threads");
    }

    @ParameterizedTest
    @EnumSource(ServletContainers.class)
    void remoteUserIsTheContainersAuthenticatedUser(ServletContainers container) {
        assertEquals(401, Http.get(base(container) + "/secure/environ").statusCode(), "the container's BASIC answers first");
        JsonNode env = EmbeddedApps.environ(base(container) + "/secure", EmbeddedApps.basic("demo", "demo"));
        assertEquals("demo", env.get("REMOTE_USER").asText());
        assertEquals("BASIC", env.get("AUTH_TYPE").asText());
        assertEquals("/secure/environ", env.get("PATH_INFO").asText());
    }

    @ParameterizedTest
    @EnumSource(ServletContainers.class)
    void theSchemeIsTheContainers(ServletContainers container) {
        HttpRequest r = HttpRequest.newBuilder(URI.create(base(container) + "/open/environ")).header("X-Forwarded-Proto", "https").build();
        assertEquals("https", Http.json(Http.send(r).body()).get("wsgi.url_scheme").asText(), "as the container's forwarded handling says");
    }

    @ParameterizedTest
    @EnumSource(ServletContainers.class)
    void responsesStreamAsTheAppYields(ServletContainers container, @TempDir Path dir) throws Exception {
        EmbeddedApps.streams(base(container) + "/open", dir);
    }

    @ParameterizedTest
    @EnumSource(ServletContainers.class)
    void uploadsArriveWhole(ServletContainers container) throws Exception {
        EmbeddedApps.uploads(base(container) + "/open");
    }

    @ParameterizedTest
    @EnumSource(ServletContainers.class)
    void aRequestPastTheTimeoutIsAnswered504(ServletContainers container) {
        EmbeddedApps.timesOut(base(container) + "/open");
    }

    /** web.xml's way: the servlet starts its app from init parameters, and stops it with the container. */
    @Test
    void initParametersStartTheAppAndDestroyStopsIt() throws Exception {
        Map<String, String> params = Map.of("app", "embedded:application", "python", Pythons.DEBIAN.toString(),
                "pythonpath", Pythons.APPS.toString(), "threads", "2");
        WsgiServlet servlet = new WsgiServlet();
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(PythonApp.class);
        ch.qos.logback.classic.Level level = logger.getLevel();
        logger.setLevel(ch.qos.logback.classic.Level.DEBUG);
        try (LogCapture log = LogCapture.of(PythonApp.class.getName())) {
            try (ServletContainers.Running tomcat = ServletContainers.TOMCAT.start(servlet, params)) {
                assertTrue(EmbeddedApps.environ(tomcat.base() + "/open", null).get("wsgi.multithread").asBoolean());
                assertTrue(log.contains("Serving embedded:application"), log.toString());
                assertFalse(log.contains("Stopped embedded:application"), log.toString());
            }
            assertTrue(log.contains("Stopped embedded:application"), "destroy() closed the app:\n" + log);
        } finally {
            logger.setLevel(level);
        }
    }

    @Test
    void aMissingAppParameterSaysWhatToGive() throws Exception {
        try (ServletContainers.Running tomcat = ServletContainers.TOMCAT.start(new WsgiServlet(), Map.of("threads", "2"))) {
            assertEquals(500, Http.get(tomcat.base() + "/open/environ").statusCode(), "the servlet is unavailable");
        }
        ServletException e = assertThrows(ServletException.class, () -> new WsgiServlet().init(config(Map.of("threads", "2"))));
        assertEquals("the servlet python has no init parameter 'app': give the WSGI app as module:callable", e.getMessage());
        e = assertThrows(ServletException.class, () -> new WsgiServlet().init(config(Map.of("app", "x:y", "threads", "two"))));
        assertEquals("the servlet python: init parameter threads=two is not a whole number", e.getMessage());
    }

    /** A servlet's configuration, as web.xml would give it. */
    private static ServletConfig config(Map<String, String> parameters) {
        return new ServletConfig() {
            @Override
            public String getServletName() {
                return "python";
            }

            @Override
            public ServletContext getServletContext() {
                return null;
            }

            @Override
            public String getInitParameter(String name) {
                return parameters.get(name);
            }

            @Override
            public Enumeration<String> getInitParameterNames() {
                return Collections.enumeration(parameters.keySet());
            }
        };
    }
}
