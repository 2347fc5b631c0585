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

    private static final String CAUSE_MARKER = "\nThe above exception was the direct cause of the following exception:";

    /**
     * The Python traceback the operator needs: the app's own error (an import that failed, an
     * attribute that is missing) without the loader's frames; null when the reason says it all
     * (a spec that cannot be parsed, a value that is not callable).
     */
    public String traceback() {
        if (!(getCause() instanceof PythonException p)) return null;
        if (!p.typeName().equals("AppLoadError")) return p.traceback();
        int cause = p.traceback().indexOf(CAUSE_MARKER);
        return cause < 0 ? null : p.traceback().substring(0, cause);
    }
}
