package jwsgi.python;

/**
 * The embedded Python could not be found, loaded or initialised. The message is meant for the
 * operator: it says what was wrong and what to do.
 */
public class PythonStartupException extends RuntimeException {
    public PythonStartupException(String message) {
        super(message);
    }

    public PythonStartupException(String message, Throwable cause) {
        super(message, cause);
    }
}
