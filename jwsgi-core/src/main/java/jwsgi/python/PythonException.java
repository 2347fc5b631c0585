package jwsgi.python;

/**
 * A Python exception that reached Java, with its type name and the fully formatted
 * traceback (chained causes included) as {@code traceback.format_exception} prints it.
 */
public class PythonException extends RuntimeException {
    private final String typeName;
    private final String traceback;
    private final boolean exit;

    public PythonException(String typeName, String message, String traceback, boolean exit) {
        super(message.isEmpty() ? typeName : typeName + ": " + message);
        this.typeName = typeName;
        this.traceback = traceback;
        this.exit = exit;
    }

    /** The qualified name of the exception's type, e.g. {@code ModuleNotFoundError}. */
    public String typeName() {
        return typeName;
    }

    /** The traceback text, ending with the exception line. */
    public String traceback() {
        return traceback;
    }

    /** True for SystemExit and KeyboardInterrupt, which an app may raise to ask for a stop. */
    public boolean isExit() {
        return exit;
    }
}
