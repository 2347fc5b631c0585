package jwsgi.wsgi;

import java.util.List;

/**
 * The environ values an access-log format shows, as the app left them (middleware changes
 * included, as gunicorn logs them): read by the runner once the app has run, handed to the
 * exchange, and logged when the exchange completes.
 *
 * <p>Threads: made on the runner's thread, then only read; the exchange hands it to the thread
 * that logs. GIL: not needed (Java strings only).
 */
public final class LoggedEnviron {
    private final List<String> keys;
    private final String[] values;

    /** @param values the value of each of {@code keys} (the pool's, in the same order), null where absent */
    LoggedEnviron(List<String> keys, String[] values) {
        this.keys = keys;
        this.values = values;
    }

    /** Whether {@code key} was read: only the keys the format shows are. */
    public boolean has(String key) {
        return keys.contains(key);
    }

    /** The value of {@code key}, or null when the environ had none or it cannot be printed (lone surrogates). */
    public String get(String key) {
        int i = keys.indexOf(key);
        return i < 0 ? null : values[i];
    }
}
