package jwsgi.http;

import jwsgi.config.LimitOptions;

import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;

/**
 * gunicorn's limits on a request head: the request line (414), the number of header fields
 * and the size of each (431); and a request target that is not UTF-8 (400). Sizes are counted as gunicorn counts them, on the wire form:
 * {@code METHOD SP target SP version} and {@code Name: value CRLF}.
 *
 * <p>HTTP/1.1 requests are checked while Jetty parses them ({@link GuardedHttpConnectionFactory}),
 * so a violation is a bad message: answered and the connection closed. Requests of the other
 * protocols (HTTP/2, uwsgi, FastCGI) are checked whole by {@link #check(Request)}.
 */
final class HeadLimits {
    private final LimitOptions.Settings limits;

    HeadLimits(LimitOptions.Settings limits) {
        this.limits = limits;
    }

    /**
     * Checks a request line. Jetty decodes the target as UTF-8, so a byte that is not
     * (RFC 3986 wants non-ASCII bytes percent-encoded) would reach the app as U+FFFD: another
     * target than was sent. Refused instead.
     */
    void checkLine(String method, String target, String version) {
        if (target.indexOf('\uFFFD') >= 0) {
            throw new HttpException.RuntimeException(HttpStatus.BAD_REQUEST_400,
                    "the request target has bytes that are not UTF-8; percent-encode them (RFC 3986)");
        }
        if (limits.requestLine() == 0) return;
        int length = method.length() + 1 + target.length() + (version == null ? 0 : 1 + version.length());
        if (length > limits.requestLine()) {
            throw new HttpException.RuntimeException(HttpStatus.URI_TOO_LONG_414, "the request line is " + length
                    + " bytes, more than --limit-request-line " + limits.requestLine());
        }
    }

    /** Checks the {@code count}th (1-based) header field of a request. */
    void checkField(int count, HttpField field) {
        if (count > limits.fields()) {
            throw new HttpException.RuntimeException(HttpStatus.REQUEST_HEADER_FIELDS_TOO_LARGE_431,
                    "more than --limit-request-fields " + limits.fields() + " header fields");
        }
        if (limits.fieldSize() == 0) return;
        String value = field.getValue();
        int size = field.getName().length() + 2 + (value == null ? 0 : value.length()) + 2;
        if (size > limits.fieldSize()) {
            throw new HttpException.RuntimeException(HttpStatus.REQUEST_HEADER_FIELDS_TOO_LARGE_431, "header field "
                    + field.getName() + " is " + size + " bytes, more than --limit-request-field_size " + limits.fieldSize());
        }
    }

    /**
     * Checks a whole request head.
     *
     * @throws HttpException.RuntimeException 414 or 431, with the reason
     */
    void check(Request request) {
        String target = request.getHttpURI().getPathQuery();
        checkLine(request.getMethod(), target == null ? "" : target, request.getConnectionMetaData().getProtocol());
        int count = 0;
        for (HttpField field : request.getHeaders()) checkField(++count, field);
    }
}
