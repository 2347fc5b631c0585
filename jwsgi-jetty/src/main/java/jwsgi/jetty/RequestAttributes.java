package jwsgi.jetty;

import java.util.List;
import java.util.Map;

import jwsgi.wsgi.LoggedEnviron;
import jwsgi.wsgi.ResponseHead;

import org.eclipse.jetty.server.Request;

/**
 * What the parts around {@link WsgiHandler} tell it, and learn from it, through request
 * attributes: the command line's customizers (a trusted front end's SCRIPT_NAME and CGI
 * variables) and its access log (the app's head and the environ values it logs).
 */
public final class RequestAttributes {
    /** SCRIPT_NAME from a trusted front end (header or CGI variable), bytes as latin-1. */
    public static final String SCRIPT_NAME = "jwsgi.script_name";
    /**
     * A {@code List<Map.Entry<String, String>>} of variables for the environ as they are: CGI
     * variables from uwsgi or FastCGI, headers with '_' a trusted front end passes (--forwarder-headers).
     */
    public static final String EXTRA_ENVIRON = "jwsgi.environ.extra";
    /** The app's {@link ResponseHead}, kept when the handler is access-logged. */
    public static final String APP_HEAD = "jwsgi.access.head";
    /** The {@link LoggedEnviron} of a request the app answered. */
    public static final String ENVIRON = "jwsgi.access.environ";
    /** Set on the synthetic requests of a worker's warm-up (--warmup): the app is not called, nor hooks or counters. */
    public static final String WARM_UP = "jwsgi.warm-up";

    private RequestAttributes() {}

    /** The variables put in {@link #EXTRA_ENVIRON} so far. */
    @SuppressWarnings("unchecked")
    public static List<Map.Entry<String, String>> extraEnviron(Request request) {
        return request.getAttribute(EXTRA_ENVIRON) instanceof List<?> list ? (List<Map.Entry<String, String>>) list : List.of();
    }
}
