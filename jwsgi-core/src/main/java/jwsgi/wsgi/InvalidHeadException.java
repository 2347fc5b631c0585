package jwsgi.wsgi;

/** A response head from the app breaks PEP 3333 or RFC 9110; the message says how. */
public final class InvalidHeadException extends RuntimeException {
    public InvalidHeadException(String message) {
        super(message);
    }
}
