package jwsgi.servlet;

import java.io.IOException;
import java.time.Duration;

import jakarta.servlet.ServletConfig;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import jwsgi.embed.PythonApp;
import jwsgi.embed.PythonAppOptions;

/**
 * A Jakarta Servlet 6 servlet that serves a WSGI app ({@link PythonApp}) in any servlet
 * container: Jetty ee10, Tomcat 11, Spring Boot's embedded servers. Map it to a path such as
 * {@code /py/*}: the app sees SCRIPT_NAME {@code /py} (with the context path before it) and
 * PATH_INFO the rest; REMOTE_USER is the container's authenticated user (Spring Security's,
 * a realm's); {@code wsgi.url_scheme} the container's scheme.
 *
 * <p>Three ways to give it its app:
 * <ul>
 *   <li>{@link #WsgiServlet(PythonAppOptions)}: the servlet starts the app in {@link #init} and
 *       closes it in {@link #destroy} (the last app to close finalises Python);</li>
 *   <li>{@link #WsgiServlet(PythonApp)}: an app its caller started and closes;</li>
 *   <li>the no-argument constructor (web.xml): init parameters {@code app} (module:callable,
 *       required), {@code python}, {@code chdir}, {@code pythonpath} (comma-separated),
 *       {@code threads}, {@code sub-interpreters}, {@code timeout} (seconds), {@code max-queued};
 *       started and closed as with options.</li>
 * </ul>
 *
 * <p>Threads: the container's, platform or virtual. The container's thread never runs Python:
 * it queues the request for the app's own Python threads and waits until they have written the
 * response (a virtual thread waits for free). Past the app's bound on waiting requests the
 * answer is 503 at once.
 */
public class WsgiServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    /** The options to start the app with, or null when the app was given (or comes from init parameters). */
    private final transient PythonAppOptions options;
    /** The app, once started (or as given). */
    private transient PythonApp app;
    /** Whether this servlet started the app, and so closes it. */
    private boolean owned;

    /** Configured by init parameters (web.xml). */
    public WsgiServlet() {
        this.options = null;
    }

    /** Starts an app of {@code options} in {@link #init}, and closes it in {@link #destroy}. */
    public WsgiServlet(PythonAppOptions options) {
        this.options = options;
    }

    /** Serves {@code app}, which its caller started and closes. */
    public WsgiServlet(PythonApp app) {
        this.options = null;
        this.app = app;
    }

    @Override
    public void init(ServletConfig config) throws ServletException {
        super.init(config);
        if (app != null) return;
        PythonAppOptions wanted = options != null ? options : fromInitParameters(config);
        try {
            app = PythonApp.start(wanted);
        } catch (RuntimeException e) {
            throw new ServletException("cannot start the WSGI app " + wanted.app().app() + ": " + e.getMessage(), e);
        }
        owned = true;
    }

    private static PythonAppOptions fromInitParameters(ServletConfig config) throws ServletException {
        String spec = config.getInitParameter("app");
        if (spec == null || spec.isBlank()) {
            throw new ServletException("the servlet " + config.getServletName() + " has no init parameter 'app': give the WSGI app"
                    + " as module:callable");
        }
        try {
            PythonAppOptions.Builder b = PythonAppOptions.builder(spec.strip());
            String python = config.getInitParameter("python");
            if (python != null) b.python(python.strip());
            String chdir = config.getInitParameter("chdir");
            if (chdir != null) b.chdir(chdir.strip());
            String path = config.getInitParameter("pythonpath");
            if (path != null) {
                for (String dir : path.split(",")) if (!dir.isBlank()) b.pythonpath(dir.strip());
            }
            b.threads(number(config, "threads", 1));
            b.subInterpreters(number(config, "sub-interpreters", 0));
            b.timeout(Duration.ofSeconds(number(config, "timeout", 0)));
            b.maxQueued(number(config, "max-queued", PythonAppOptions.DEFAULT_MAX_QUEUED));
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new ServletException("the servlet " + config.getServletName() + ": " + e.getMessage(), e);
        }
    }

    private static int number(ServletConfig config, String name, int fallback) {
        String value = config.getInitParameter(name);
        if (value == null || value.isBlank()) return fallback;
        try {
            return Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("init parameter " + name + "=" + value + " is not a whole number");
        }
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        ServletExchange exchange = new ServletExchange(request, response);
        app.submit(exchange);
        exchange.await();
    }

    /** Closes the app when this servlet started it: queued requests get 503, and Python is finalised when it was the last. */
    @Override
    public void destroy() {
        // The closed app stays: a request that still arrives gets its 503 rather than a null.
        if (owned && app != null) app.close();
        super.destroy();
    }
}
