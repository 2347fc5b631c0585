package jwsgi.hooks;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import jwsgi.config.ConfigException;
import jwsgi.config.ConfigFile;
import jwsgi.config.PythonLiteral;
import jwsgi.python.CPython;
import jwsgi.python.Interpreter;
import jwsgi.python.PythonException;
import jwsgi.python.PythonRuntime;
import jwsgi.wsgi.RequestHooks;
import jwsgi.wsgi.ResponseHead;

/**
 * The server hooks a config file defines, checked when it loads (each must take gunicorn's
 * number of arguments, as gunicorn's {@code validate_callable} demands) and called at the
 * moments {@link Hook} lists, with stand-ins for gunicorn's objects built by the Python glue
 * ({@code server}, {@code worker}, {@code req}, {@code resp}).
 *
 * <p>Lifecycle hooks run on Python's main thread ({@link #run}); in a process that runs only a
 * worker, the same class calls the worker's hooks, so a master/worker split changes who calls
 * {@link #run} with which {@link Hook}, not this class. {@code pre_request} and
 * {@code post_request} are called by the Python worker threads through {@link RequestHooks};
 * when neither is defined, {@link #requestHooks} is null and requests pay nothing.
 *
 * <p>Threads: {@link #run} from any thread (it hands the call to py-main); the
 * {@link RequestHooks} methods from Python worker threads holding the GIL.
 */
public final class ServerHooks implements RequestHooks {
    private final PythonRuntime runtime;
    private final Interpreter py;
    private final Set<Hook> defined;
    private final MemorySegment runHook;
    private final MemorySegment preRequest;
    private final MemorySegment postRequest;

    private ServerHooks(PythonRuntime runtime, Set<Hook> defined, MemorySegment runHook, MemorySegment preRequest,
                        MemorySegment postRequest) {
        this.runtime = runtime;
        this.py = runtime.main();
        this.defined = defined;
        this.runHook = runHook;
        this.preRequest = preRequest;
        this.postRequest = postRequest;
    }

    /** A hook failed; the message and traceback say how. */
    public static final class HookException extends Exception {
        private final String traceback;

        HookException(Hook hook, PythonException e) {
            super("the " + hook.pythonName + " hook raised " + e.getMessage());
            this.traceback = e.traceback();
        }

        public String traceback() {
            return traceback;
        }
    }

    /**
     * Checks the hooks of the config file already run in {@code runtime} (none when there was no
     * file) and prepares the objects they receive.
     *
     * @param effective the settings by name, for the hooks' {@code cfg}
     * @throws ConfigException naming a hook that is not callable or takes the wrong arguments
     */
    public static ServerHooks load(PythonRuntime runtime, Map<String, Object> effective) throws ConfigException {
        try {
            return runtime.onMainThread(py -> {
                CPython api = py.api();
                MemorySegment glue = py.bundledModuleOnce(ConfigFile.GLUE);
                try {
                    callGlue(py, glue, "setup_hooks", py.string(PythonLiteral.of(effective)));
                    MemorySegment check = py.checked(py.getAttr(glue, "check_hooks"));
                    Set<Hook> defined = EnumSet.noneOf(Hook.class);
                    try {
                        MemorySegment names = py.checked(api.call(check));
                        try {
                            for (long i = 0; i < api.listSize(names); i++) defined.add(Hook.of(py.toJava(api.listGetItem(names, i))));
                        } finally {
                            api.decRef(names);
                        }
                    } finally {
                        api.decRef(check);
                    }
                    return new ServerHooks(runtime, defined, py.checked(py.getAttr(glue, "run_hook")),
                            defined.contains(Hook.PRE_REQUEST) ? py.checked(py.getAttr(glue, "pre_request")) : MemorySegment.NULL,
                            defined.contains(Hook.POST_REQUEST) ? py.checked(py.getAttr(glue, "post_request")) : MemorySegment.NULL);
                } finally {
                    api.decRef(glue);
                }
            });
        } catch (PythonException e) {
            if (e.typeName().equals("ConfigError")) throw new ConfigException(e.getMessage().substring("ConfigError: ".length()));
            throw new ConfigException("cannot check the server hooks: " + e.getMessage(), e.traceback());
        }
    }

    /** Calls {@code glue.name(arg)}, releasing {@code arg}. */
    private static void callGlue(Interpreter py, MemorySegment glue, String name, MemorySegment arg) {
        CPython api = py.api();
        try {
            MemorySegment fn = py.checked(py.getAttr(glue, name));
            try {
                api.decRef(py.checked(api.call(fn, arg)));
            } finally {
                api.decRef(fn);
            }
        } finally {
            api.decRef(arg);
        }
    }

    public Set<Hook> defined() {
        return Set.copyOf(defined);
    }

    /** One line for each defined hook that jwsgi never calls, and why. */
    public List<String> neverCalled() {
        List<String> lines = new ArrayList<>();
        for (Hook h : defined) {
            if (h.when == null) lines.add("the config file defines " + h.pythonName + ", which is never called: " + h.whyNot);
        }
        return lines;
    }

    /**
     * Calls a lifecycle hook, if defined, on Python's main thread.
     *
     * @throws HookException when it raised
     */
    public void run(Hook hook) throws HookException {
        if (!defined.contains(hook) || hook.when == null) return;
        try {
            runtime.onMainThread(main -> {
                CPython api = main.api();
                MemorySegment name = main.string(hook.pythonName);
                try {
                    api.decRef(main.checked(api.call(runHook, name)));
                } finally {
                    api.decRef(name);
                }
                return null;
            });
        } catch (PythonException e) {
            throw new HookException(hook, e);
        }
    }

    /** The per-request hooks, or null when the config file defines neither. */
    public RequestHooks requestHooks() {
        return hasPreRequest() || hasPostRequest() ? this : null;
    }

    @Override
    public boolean hasPreRequest() {
        return !CPython.isNull(preRequest);
    }

    @Override
    public boolean hasPostRequest() {
        return !CPython.isNull(postRequest);
    }

    @Override
    public MemorySegment preRequest(MemorySegment environ) {
        return py.api().call(preRequest, environ);
    }

    @Override
    public boolean postRequest(MemorySegment req, MemorySegment environ, String status, ResponseHead head, long sent) {
        CPython api = py.api();
        MemorySegment response = api.tupleNew(3);
        if (CPython.isNull(response)) return false;
        try {
            List<String> flat = new ArrayList<>();
            if (head != null) {
                for (ResponseHead.Header h : head.headers()) {
                    flat.add(h.name());
                    flat.add(h.value());
                }
            }
            // PyTuple_SetItem steals each item.
            api.tupleSetItem(response, 0, py.string(status));
            api.tupleSetItem(response, 1, py.stringList(flat));
            api.tupleSetItem(response, 2, py.checked(api.longFrom(sent)));
            MemorySegment result = api.call(postRequest, CPython.isNull(req) ? api.none : req, environ, response);
            if (CPython.isNull(result)) return false;
            api.decRef(result);
            return true;
        } catch (PythonException e) {
            api.raise(CPython.Exc.RUNTIME_ERROR, "cannot build post_request's resp: " + e.getMessage());
            return false;
        } finally {
            api.decRef(response);
        }
    }

    /** Releases the glue's functions, while Python still runs. */
    public void close() {
        try {
            runtime.onMainThread(main -> {
                main.api().decRef(runHook);
                main.api().decRef(preRequest);
                main.api().decRef(postRequest);
                return null;
            });
        } catch (RuntimeException e) {
            // Python is already finalised: its objects went with it.
        }
    }
}
