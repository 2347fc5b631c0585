package jwsgi.python;

/** Python can no longer be entered: the runtime is shutting down. */
public final class PythonShutdownException extends RuntimeException {
    public PythonShutdownException() {
        super("the Python runtime is shutting down", null, false, false);
    }
}
