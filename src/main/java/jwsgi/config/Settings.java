package jwsgi.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import jwsgi.http.Bind;

/**
 * The effective settings of one server run, with gunicorn's names and meanings.
 *
 * @param app             the WSGI app spec ({@code module:callable}), or null for the bundled demo
 * @param binds           where to listen
 * @param threads         Python threads running requests
 * @param python          the interpreter or virtualenv to embed, or null to choose as documented
 * @param chdir           directory to change to (and put first on sys.path) before loading the app
 * @param pythonpath      directories to put first on sys.path
 * @param env             environment variables to set before loading the app
 * @param logLevel        error log level
 * @param accessLog       "-" for stdout, a file, or null for none
 * @param gracefulTimeout how long a stop waits for in-flight requests
 * @param keepAlive       how long an idle keep-alive connection is kept
 * @param argv            the command line, for {@code sys.argv}
 */
public record Settings(
        String app,
        List<Bind> binds,
        int threads,
        String python,
        String chdir,
        List<String> pythonpath,
        List<Map.Entry<String, String>> env,
        String logLevel,
        String accessLog,
        Duration gracefulTimeout,
        Duration keepAlive,
        List<String> argv) {
}
