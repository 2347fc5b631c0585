package jwsgi.wsgi;

import java.lang.foreign.MemorySegment;
import java.util.List;

import jwsgi.python.CPython;
import jwsgi.python.Interpreter;
import jwsgi.python.PythonException;
import jwsgi.python.StringCodec;

/**
 * Reads, once the app has run, the environ values an access-log format shows
 * ({@link LoggedEnviron}), through keys interned once.
 *
 * <p>References: the keys are owned here and released by {@link #close}; environs are borrowed.
 *
 * <p>Threads: its runner's thread. GIL: must hold.
 */
final class LoggedEnvironReader {
    private final Interpreter py;
    private final CPython api;
    private final StringCodec codec;
    private final List<String> names;
    private final MemorySegment[] keys;

    /** @param names the keys the format shows (empty when there is no access log) */
    LoggedEnvironReader(Interpreter py, StringCodec codec, List<String> names) {
        this.py = py;
        this.api = py.api();
        this.codec = codec;
        this.names = names;
        this.keys = new MemorySegment[names.size()];
        for (int i = 0; i < keys.length; i++) keys[i] = py.internedString(names.get(i));
    }

    /** False when the access log shows no environ value (or there is none): nothing to read. */
    boolean reads() {
        return keys.length > 0;
    }

    /** The values of {@code env} (borrowed). */
    LoggedEnviron read(MemorySegment env) {
        String[] values = new String[keys.length];
        for (int i = 0; i < keys.length; i++) values[i] = value(env, keys[i]);
        return new LoggedEnviron(names, values);
    }

    /** {@code env[key]} as a str, or null when it is absent or cannot be printed (lone surrogates): the log shows "-". */
    private String value(MemorySegment env, MemorySegment key) {
        MemorySegment value = api.dictGetItem(env, key);
        if (CPython.isNull(value)) return null;
        boolean str = api.isUnicode(value);
        MemorySegment text = str ? value : api.str(value);
        try {
            return codec.toJava(py.checked(text));
        } catch (PythonException e) {
            return null;
        } finally {
            if (!str) api.decRef(text);
        }
    }

    void close() {
        for (MemorySegment key : keys) api.decRef(key);
    }
}
