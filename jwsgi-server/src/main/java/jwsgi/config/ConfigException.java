package jwsgi.config;

/**
 * Settings that cannot be used: a bad flag or value, a config file that fails, a bad hook.
 * The message says what is wrong, where it came from and what to do; the server exits with
 * its usage code.
 */
public final class ConfigException extends Exception {
    private final String detail;

    public ConfigException(String message) {
        this(message, null);
    }

    /** @param detail more to print after the message, such as a Python traceback, or null */
    public ConfigException(String message, String detail) {
        super(message);
        this.detail = detail;
    }

    /** A traceback or other detail, or null. */
    public String detail() {
        return detail;
    }
}
