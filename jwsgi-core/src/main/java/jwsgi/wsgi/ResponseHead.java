package jwsgi.wsgi;

import java.util.List;

/**
 * The status and headers an app passed to {@code start_response}, already validated.
 *
 * @param status        the status code, 200 to 999
 * @param reason        the reason phrase as given by the app (may be empty)
 * @param headers       name/value pairs in the app's order; hop-by-hop headers removed
 * @param contentLength the app's Content-Length, or -1 when it gave none
 * @param close         true when the app asked for {@code Connection: close}
 */
public record ResponseHead(int status, String reason, List<Header> headers, long contentLength, boolean close) {
    /** One response header. */
    public record Header(String name, String value) {}

    /** The status as on a status line: "200 OK", or "299" when the app gave no reason. */
    public String statusLine() {
        return reason.isEmpty() ? Integer.toString(status) : status + " " + reason;
    }

    /** True for statuses that never carry a body (RFC 9110 6.4.1). */
    public boolean forbidsBody() {
        return status == 204 || status == 304;
    }
}
