package jwsgi.wsgi;

import jwsgi.python.PythonException;

/**
 * The app could not be loaded. The message is the one-line reason; the cause, when present,
 * is the Python exception whose traceback the operator needs to see.
 */
public final class AppLoadException extends RuntimeException {
    public AppLoadException(String reason, PythonException cause) {
        super(reason, cause);
    }

    /** The Python traceback, or null when the reason says everything. */
    public String traceback() {
        return getCause() instanceof PythonException p ? p.traceback() : null;
    }
}
