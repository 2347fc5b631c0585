package jwsgi.metrics;

import java.util.List;

/**
 * What a keyed count in the {@link MetricsTable} counts: a request answered (by method and
 * status) or a request the server refused itself (by status). Label values stay few: a method
 * outside {@link #METHODS} counts as {@code OTHER}, a status outside 100-999 as 0
 * ({@code status="other"}).
 *
 * <p>A key is {@code kind << 24 | method << 12 | status}, never 0.
 */
final class RequestKey {
    static final List<String> METHODS = List.of("OTHER", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE");

    /** What was counted. */
    enum Kind { ANSWERED, REFUSED }

    private RequestKey() {}

    static long of(Kind kind, String method, int status) {
        return (long) (kind.ordinal() + 1) << 24 | (long) method(method) << 12 | (status >= 100 && status <= 999 ? status : 0);
    }

    static Kind kind(long key) {
        return Kind.values()[(int) (key >>> 24) - 1];
    }

    static String method(long key) {
        return METHODS.get((int) (key >>> 12) & 0xfff);
    }

    static String status(long key) {
        int status = (int) key & 0xfff;
        return status == 0 ? "other" : Integer.toString(status);
    }

    /** The index of {@code method} in {@link #METHODS}; Jetty's constants make this a switch on a cached hash. */
    private static int method(String method) {
        return switch (method) {
            case "GET" -> 1;
            case "HEAD" -> 2;
            case "POST" -> 3;
            case "PUT" -> 4;
            case "DELETE" -> 5;
            case "PATCH" -> 6;
            case "OPTIONS" -> 7;
            case "CONNECT" -> 8;
            case "TRACE" -> 9;
            case null, default -> 0;
        };
    }
}
