package jwsgi.server;

/** Process exit codes, with gunicorn's values where it has one. */
public enum ExitCode {
    /** A clean stop (SIGTERM or SIGINT after in-flight requests finished). */
    OK(0),
    /** The server could not start: a listener could not be opened, or an internal error. */
    FAILURE(1),
    /** Bad command-line flags or values. */
    USAGE(2),
    /** The embedded Python could not be found, loaded or initialised (gunicorn's WORKER_BOOT_ERROR). */
    PYTHON_BOOT_ERROR(3),
    /** The app could not be imported or is not a WSGI callable (gunicorn's APP_LOAD_ERROR). */
    APP_LOAD_ERROR(4);

    public final int code;

    ExitCode(int code) {
        this.code = code;
    }

    /** The exit code with this number; FAILURE for a number jwsgi does not use. */
    static ExitCode of(int code) {
        for (ExitCode c : values()) {
            if (c.code == code) return c;
        }
        return FAILURE;
    }
}
