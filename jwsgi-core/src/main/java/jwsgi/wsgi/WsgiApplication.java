package jwsgi.wsgi;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import jwsgi.python.CPython;
import jwsgi.python.Interpreter;
import jwsgi.python.PythonException;
import jwsgi.python.PythonRuntime;
import jwsgi.python.PythonThread;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A loaded WSGI application and the objects every request needs, cached once in its
 * interpreter: the callable, the environ template (the keys and values that never change),
 * interned environ keys, and jwsgi's glue objects ({@code wsgi.errors},
 * {@code wsgi.file_wrapper}, the streamed {@code wsgi.input} factory).
 *
 * <p>Threads: any; the Python objects may only be used with the GIL held.
 */
public final class WsgiApplication {
    private static final Logger ERRORS = LoggerFactory.getLogger("wsgi.errors");
    /** Distinct unusual header names whose environ keys are cached; past it keys are made per request. */
    private static final int HEADER_KEY_CACHE_LIMIT = 1024;

    /** Where and how the app is loaded (gunicorn's wsgi_app, chdir, pythonpath, raw_env). */
    public record Spec(String app, String chdir, List<String> pythonpath, List<Map.Entry<String, String>> env) {}

    /** Constant environ facts. */
    public record Facts(boolean multithread, boolean multiprocess, String serverSoftware) {}

    private final Interpreter interpreter;
    private final CPython api;
    final MemorySegment callable;
    /** jwsgi's warm-up app ({@link Exchange#warmUp}), never the user's. */
    final MemorySegment warmUp;
    final MemorySegment template;
    final MemorySegment bytesIO;
    final MemorySegment streamedInput;
    final MemorySegment fileWrapper;
    /** The exception the watchdog raises in a request past --timeout, and the function that formats a thread's stack. */
    final MemorySegment requestTimeout;
    final MemorySegment threadStack;
    final Keys keys;
    private final Map<String, MemorySegment> headerKeys = new ConcurrentHashMap<>();

    private WsgiApplication(Interpreter interpreter, MemorySegment callable, MemorySegment warmUp, MemorySegment template,
                            MemorySegment bytesIO,
                            MemorySegment streamedInput, MemorySegment fileWrapper, MemorySegment requestTimeout,
                            MemorySegment threadStack, Keys keys) {
        this.interpreter = interpreter;
        this.api = interpreter.api();
        this.callable = callable;
        this.warmUp = warmUp;
        this.template = template;
        this.bytesIO = bytesIO;
        this.streamedInput = streamedInput;
        this.fileWrapper = fileWrapper;
        this.requestTimeout = requestTimeout;
        this.threadStack = threadStack;
        this.keys = keys;
    }

    /**
     * Prepares the interpreter (--chdir, --pythonpath, -e) and imports the app, on Python's
     * main thread.
     *
     * @throws AppLoadException when the app cannot be imported or is not a WSGI callable
     */
    public static WsgiApplication load(PythonRuntime runtime, Spec spec, Facts facts) {
        return runtime.onMainThread(py -> loadIn(py, spec, facts));
    }

    /**
     * The same, in the interpreter of {@code thread}, on the calling thread (which owns it): how
     * each sub-interpreter imports its own app.
     *
     * @throws AppLoadException when the app cannot be imported or is not a WSGI callable
     */
    public static WsgiApplication loadHere(PythonThread thread, Spec spec, Facts facts) {
        thread.enter();
        try {
            return loadIn(thread.interpreter(), spec, facts);
        } finally {
            thread.exit();
        }
    }

    private static WsgiApplication loadIn(Interpreter py, Spec spec, Facts facts) {
        CPython api = py.api();
        MemorySegment glue = py.loadBundledModule("_jwsgi");
        try {
            prepare(py, glue, spec);
            MemorySegment callable = loadCallable(py, glue, spec.app());
            MemorySegment bytesIO = MemorySegment.NULL;
            MemorySegment streamedInput = MemorySegment.NULL;
            MemorySegment fileWrapper = MemorySegment.NULL;
            MemorySegment requestTimeout = MemorySegment.NULL;
            MemorySegment threadStack = MemorySegment.NULL;
            MemorySegment warmUp = MemorySegment.NULL;
            try {
                MemorySegment io = py.checked(py.importModule("io"));
                try {
                    bytesIO = py.checked(py.getAttr(io, "BytesIO"));
                } finally {
                    api.decRef(io);
                }
                streamedInput = py.checked(py.getAttr(glue, "streamed_input"));
                fileWrapper = py.checked(py.getAttr(glue, "FileWrapper"));
                requestTimeout = py.checked(py.getAttr(glue, "RequestTimeout"));
                threadStack = py.checked(py.getAttr(glue, "thread_stack"));
                warmUp = py.checked(py.getAttr(glue, "warmup_app"));
                Keys keys = new Keys(py);
                MemorySegment template = buildTemplate(py, glue, keys, fileWrapper, facts);
                return new WsgiApplication(py, callable, warmUp, template, bytesIO, streamedInput, fileWrapper, requestTimeout,
                        threadStack, keys);
            } catch (RuntimeException e) {
                // Nothing owns them yet: a failed load must not leave them behind (a sub-interpreter may load again).
                for (MemorySegment o : List.of(callable, warmUp, bytesIO, streamedInput, fileWrapper, requestTimeout, threadStack)) {
                    api.decRef(o);
                }
                throw e;
            }
        } finally {
            api.decRef(glue);
        }
    }

    private static void prepare(Interpreter py, MemorySegment glue, Spec spec) {
        CPython api = py.api();
        MemorySegment prepare = py.checked(py.getAttr(glue, "prepare"));
        MemorySegment chdir = spec.chdir() == null ? MemorySegment.NULL : py.string(spec.chdir());
        MemorySegment path = py.stringList(spec.pythonpath());
        MemorySegment env = py.checked(api.listNew(0));
        try {
            for (Map.Entry<String, String> e : spec.env()) {
                MemorySegment pair = py.stringList(List.of(e.getKey(), e.getValue()));
                try {
                    py.checked(api.listAppend(env, pair));
                } finally {
                    api.decRef(pair);
                }
            }
            MemorySegment dir = CPython.isNull(chdir) ? api.none : chdir;
            MemorySegment result = api.call(prepare, dir, path, env);
            if (CPython.isNull(result)) {
                throw new AppLoadException("cannot prepare the interpreter (--chdir, --pythonpath, -e)", py.fetchError());
            }
            api.decRef(result);
        } finally {
            api.decRef(prepare);
            api.decRef(chdir);
            api.decRef(path);
            api.decRef(env);
        }
    }

    private static MemorySegment loadCallable(Interpreter py, MemorySegment glue, String app) {
        CPython api = py.api();
        MemorySegment loadApp = py.checked(py.getAttr(glue, "load_app"));
        MemorySegment spec = py.string(app);
        try {
            MemorySegment callable = api.call(loadApp, spec);
            if (CPython.isNull(callable)) {
                PythonException error = py.fetchError();
                if (error.typeName().equals("AppLoadError")) {
                    throw new AppLoadException(error.getMessage().substring("AppLoadError: ".length()), error);
                }
                throw new AppLoadException("importing '" + app + "' raised " + error.getMessage(), error);
            }
            return callable;
        } finally {
            api.decRef(loadApp);
            api.decRef(spec);
        }
    }

    private static MemorySegment buildTemplate(Interpreter py, MemorySegment glue, Keys keys,
                                               MemorySegment fileWrapper, Facts facts) {
        CPython api = py.api();
        MemorySegment env = py.checked(api.dictNew());
        try {
            MemorySegment version = py.checked(api.tupleNew(2));
            try {
                api.tupleSetItem(version, 0, api.longFrom(1));
                api.tupleSetItem(version, 1, api.longFrom(0));
                set(py, env, "wsgi.version", version);
            } finally {
                api.decRef(version);
            }
            set(py, env, "wsgi.multithread", facts.multithread() ? api.pyTrue : api.pyFalse);
            set(py, env, "wsgi.multiprocess", facts.multiprocess() ? api.pyTrue : api.pyFalse);
            set(py, env, "wsgi.run_once", api.pyFalse);
            // Every body jwsgi hands over ends at the request's real end (Content-Length or the last
            // chunk), so frameworks that honour this flag (Werkzeug) may read chunked bodies.
            set(py, env, "wsgi.input_terminated", api.pyTrue);
            set(py, env, "wsgi.file_wrapper", fileWrapper);
            MemorySegment errorStreamType = py.checked(py.getAttr(glue, "ErrorStream"));
            MemorySegment log = py.function("log_error", args -> logError(py, args));
            try {
                MemorySegment errors = py.checked(api.call(errorStreamType, log));
                try {
                    set(py, env, "wsgi.errors", errors);
                } finally {
                    api.decRef(errors);
                }
            } finally {
                api.decRef(errorStreamType);
                api.decRef(log);
            }
            MemorySegment empty = py.string("");
            MemorySegment software = py.string(facts.serverSoftware());
            try {
                py.checked(api.dictSetItem(env, keys.scriptName, empty));
                set(py, env, "SERVER_SOFTWARE", software);
            } finally {
                api.decRef(empty);
                api.decRef(software);
            }
            return env;
        } catch (RuntimeException e) {
            api.decRef(env);
            throw e;
        }
    }

    private static MemorySegment logError(Interpreter py, jwsgi.python.JavaFunction.Arguments args) {
        String text = py.toJava(args.get(0));
        ERRORS.error(text.endsWith("\n") ? text.substring(0, text.length() - 1) : text);
        MemorySegment none = py.api().none;
        py.api().incRef(none);
        return none;
    }

    private static void set(Interpreter py, MemorySegment dict, String key, MemorySegment value) {
        MemorySegment k = py.internedString(key);
        try {
            py.checked(py.api().dictSetItem(dict, k, value));
        } finally {
            py.api().decRef(k);
        }
    }

    public Interpreter interpreter() {
        return interpreter;
    }

    /**
     * The environ key for a request header: a borrowed, cached key, or a new reference when
     * {@code owned[0]} is set to true (the caller must release it). Returns null for headers
     * that never reach the environ this way: names with '_' (gunicorn's rule: "X-Forwarded_For"
     * must not pass for "X-Forwarded-For"); those a trusted front end may pass arrive in
     * {@link Exchange#extraEnviron} instead (--forwarder-headers).
     */
    MemorySegment headerKey(String name, boolean[] owned) {
        owned[0] = false;
        MemorySegment key = headerKeys.get(name);
        if (key != null) return key;
        String environName = CgiView.environName(name);
        if (environName == null) return null;
        MemorySegment fresh = interpreter.internedString(environName);
        if (headerKeys.size() < HEADER_KEY_CACHE_LIMIT) {
            MemorySegment raced = headerKeys.putIfAbsent(name, fresh);
            if (raced == null) return fresh;
            api.decRef(fresh);
            return raced;
        }
        owned[0] = true;
        return fresh;
    }

    /** Interned environ keys, made once per interpreter. */
    static final class Keys {
        final MemorySegment requestMethod;
        final MemorySegment scriptName;
        final MemorySegment pathInfo;
        final MemorySegment queryString;
        final MemorySegment serverName;
        final MemorySegment serverPort;
        final MemorySegment serverProtocol;
        final MemorySegment remoteAddr;
        final MemorySegment remotePort;
        final MemorySegment rawUri;
        final MemorySegment urlScheme;
        final MemorySegment input;
        final MemorySegment httpCookie;
        final Map<String, MemorySegment> constants = new ConcurrentHashMap<>();

        Keys(Interpreter py) {
            requestMethod = py.internedString("REQUEST_METHOD");
            scriptName = py.internedString("SCRIPT_NAME");
            pathInfo = py.internedString("PATH_INFO");
            queryString = py.internedString("QUERY_STRING");
            serverName = py.internedString("SERVER_NAME");
            serverPort = py.internedString("SERVER_PORT");
            serverProtocol = py.internedString("SERVER_PROTOCOL");
            remoteAddr = py.internedString("REMOTE_ADDR");
            remotePort = py.internedString("REMOTE_PORT");
            rawUri = py.internedString("RAW_URI");
            urlScheme = py.internedString("wsgi.url_scheme");
            input = py.internedString("wsgi.input");
            httpCookie = py.internedString("HTTP_COOKIE");
            for (String value : List.of("GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS",
                    "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "http", "https", "")) {
                constants.put(value, py.internedString(value));
            }
        }
    }
}
