package jwsgi.wsgi;

import java.nio.channels.FileChannel;

/**
 * What a runner does with a response once the app is done and the GIL released: exactly one
 * of the ends {@link Exchange} allows, or nothing when the watchdog answered instead.
 *
 * <p>Threads: made and used on one runner's thread. GIL: not needed (no Python objects).
 */
sealed interface Outcome {
    /** The body is staged: send it as the last part. */
    record Last() implements Outcome {}

    /** Send {@code length} bytes of the file from {@code position} (wsgi.file_wrapper); the channel passes to the exchange. */
    record File(FileChannel channel, long position, long length) implements Outcome {}

    /** Nothing was sent yet: answer with the server's own error response. */
    record Error(Failure failure) implements Outcome {}

    /** Bytes were sent: close the connection, leaving the response incomplete. */
    record Abort(Throwable cause) implements Outcome {}

    /** The watchdog answered the request in the runner's place: nothing more to send. */
    record Discarded() implements Outcome {}

    Outcome LAST = new Last();
    Outcome DISCARDED = new Discarded();
    Outcome INTERNAL_ERROR = new Error(Failure.INTERNAL);
    Outcome TIMED_OUT = new Error(Failure.TIMEOUT);

    /** The responses the server writes itself when the app cannot answer. */
    enum Failure {
        INTERNAL(500, "Internal Server Error", "Internal Server Error"),
        TIMEOUT(504, "Gateway Timeout", "Gateway Timeout: the app ran longer than the server's --timeout"),
        SHUTTING_DOWN(503, "Service Unavailable", "Service Unavailable: the server is shutting down");

        final int status;
        /** The reason phrase, as on a status line. */
        final String reason;
        /** The body of the error response: what happened. */
        final String message;

        Failure(int status, String reason, String message) {
            this.status = status;
            this.reason = reason;
            this.message = message;
        }

        /** "504 Gateway Timeout", as post_request is told. */
        String statusLine() {
            return status + " " + reason;
        }

        /** Ends {@code ex} with this error. */
        void send(Exchange ex) {
            ex.sendError(status, message);
        }
    }
}
