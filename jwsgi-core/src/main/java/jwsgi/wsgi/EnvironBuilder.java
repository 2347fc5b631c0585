package jwsgi.wsgi;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Map;

import jwsgi.python.CPython;
import jwsgi.python.Interpreter;
import jwsgi.python.StringCodec;

/**
 * Builds the environ dict of one request through the C API: a copy of the app's template
 * (the constant items), then one value string and one {@code PyDict_SetItem} per
 * per-request item, with interned keys. No Python code runs and nothing is parsed twice.
 * The values follow the rules of {@link CgiView}, applied here straight into Python strings.
 *
 * <p>Threads: its worker thread only; GIL: must hold.
 */
final class EnvironBuilder {
    private final WsgiApplication app;
    private final WsgiApplication.Keys keys;
    private final CPython api;
    private final Interpreter py;
    private final StringCodec codec;
    private final byte[][] pathBytes = {new byte[256]};
    private final boolean[] owned = new boolean[1];
    private MemorySegment[] headerKeys = new MemorySegment[32];
    private boolean[] headerKeyOwned = new boolean[32];
    private String[] headerValues = new String[32];

    EnvironBuilder(WsgiApplication app, StringCodec codec) {
        this.app = app;
        this.keys = app.keys;
        this.py = app.interpreter();
        this.api = py.api();
        this.codec = codec;
    }

    /** Returns a new reference to the environ of {@code ex}, with {@code input} (borrowed) as wsgi.input. */
    MemorySegment build(Exchange ex, MemorySegment input) {
        MemorySegment env = py.checked(api.dictCopy(app.template));
        try {
            for (Map.Entry<String, String> extra : ex.extraEnviron()) setOwned(env, extra.getKey(), extra.getValue());
            setConstantOrOwned(env, keys.requestMethod, ex.method());
            String script = ex.scriptName();
            if (!script.isEmpty()) setOwned(env, keys.scriptName, codec.latin1(script));
            int pathLength = CgiView.pathInfo(ex.rawPath(), script, pathBytes);
            setOwned(env, keys.pathInfo, codec.latin1(pathBytes[0], pathLength));
            setConstantOrOwned(env, keys.queryString, ex.query());
            setOwned(env, keys.rawUri, codec.latin1(ex.rawTarget()));
            setConstantOrOwned(env, keys.serverProtocol, ex.protocol());
            setConstantOrOwned(env, keys.urlScheme, ex.scheme());
            setOwned(env, keys.serverName, codec.latin1(ex.serverName()));
            setOwned(env, keys.serverPort, codec.latin1(Integer.toString(ex.serverPort())));
            setOwned(env, keys.remoteAddr, codec.latin1(ex.remoteAddr()));
            setOwned(env, keys.remotePort, codec.latin1(Integer.toString(ex.remotePort())));
            py.checked(api.dictSetItem(env, keys.input, input));
            addHeaders(env, ex);
            return env;
        } catch (RuntimeException e) {
            api.decRef(env);
            throw e;
        }
    }

    /** Sets {@code env[name] = value} for a variable the front server passed. */
    private void setOwned(MemorySegment env, String name, String value) {
        MemorySegment key = codec.latin1(name);
        try {
            setOwned(env, key, codec.latin1(value));
        } finally {
            api.decRef(key);
        }
    }

    /** Adds HTTP_* (and CONTENT_TYPE/CONTENT_LENGTH), repeated headers joined ({@link CgiView#join}). */
    private void addHeaders(MemorySegment env, Exchange ex) {
        int n = ex.headerCount();
        if (headerKeys.length < n) {
            headerKeys = new MemorySegment[n];
            headerKeyOwned = new boolean[n];
            headerValues = new String[n];
        }
        int count = 0;
        try {
            for (int i = 0; i < n; i++) {
                MemorySegment key = app.headerKey(ex.headerName(i), owned);
                if (key == null) continue;
                String value = ex.headerValue(i);
                int same = indexOf(key, count);
                if (same >= 0) {
                    if (owned[0]) api.decRef(key);
                    headerValues[same] = CgiView.join(headerValues[same], value, key.address() == keys.httpCookie.address());
                    continue;
                }
                headerKeys[count] = key;
                headerKeyOwned[count] = owned[0];
                headerValues[count] = value;
                count++;
            }
            for (int i = 0; i < count; i++) {
                setOwned(env, headerKeys[i], codec.latin1(headerValues[i]));
            }
        } finally {
            for (int i = 0; i < count; i++) {
                if (headerKeyOwned[i]) api.decRef(headerKeys[i]);
            }
            Arrays.fill(headerKeys, 0, count, null);
            Arrays.fill(headerValues, 0, count, null);
        }
    }

    /** Keys are interned, so equal keys are the same object, except those made past the cache limit. */
    private int indexOf(MemorySegment key, int count) {
        for (int j = 0; j < count; j++) {
            if (headerKeys[j].address() == key.address()) return j;
        }
        if (!owned[0]) return -1;
        String name = py.toJava(key);
        for (int j = 0; j < count; j++) {
            if (headerKeyOwned[j] && py.toJava(headerKeys[j]).equals(name)) return j;
        }
        return -1;
    }

    private void setConstantOrOwned(MemorySegment env, MemorySegment key, String value) {
        MemorySegment constant = keys.constants.get(value);
        if (constant != null) {
            py.checked(api.dictSetItem(env, key, constant));
        } else {
            setOwned(env, key, codec.latin1(value));
        }
    }

    /** Sets {@code env[key] = value} and releases {@code value} (a new reference) on every path. */
    private void setOwned(MemorySegment env, MemorySegment key, MemorySegment value) {
        try {
            py.checked(api.dictSetItem(env, key, value));
        } finally {
            api.decRef(value);
        }
    }
}
