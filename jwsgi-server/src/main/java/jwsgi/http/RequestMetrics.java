package jwsgi.http;

/**
 * What the HTTP layer reports about each connection and request, for the metrics the master
 * serves ({@code --metrics-bind}). Every call is made on the thread where it happens and must
 * be cheap and never block: a few atomic adds.
 *
 * <p>Threads: any Jetty thread, and the Python threads that finish responses.
 */
public interface RequestMetrics {
    /** Without --metrics-bind. */
    RequestMetrics NONE = new RequestMetrics() {
        @Override
        public void begun() {
            // not counted
        }

        @Override
        public void ended() {
            // not counted
        }

        @Override
        public void completed(String method, int status, long nanos) {
            // not counted
        }

        @Override
        public void refused(int status) {
            // not counted
        }
    };

    /** A request reached the handlers (it is in flight until {@link #ended}). */
    void begun();

    /** A request that {@link #begun} is done. */
    void ended();

    /**
     * Any request is done, including those refused before a handler saw them (a malformed
     * request, a head too large): its method as received, the status sent, and the time from
     * its first byte to the end of its response.
     */
    void completed(String method, int status, long nanos);

    /** The server answered a request with an error it wrote itself, before or instead of the app (400, 408, 413, 431, 503...). */
    void refused(int status);
}
