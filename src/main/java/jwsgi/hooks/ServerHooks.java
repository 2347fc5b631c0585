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
 * <p>Lifecycle hooks run on Python's main thread ({@link #run}). The master calls the hooks
 * whose {@link Hook#role} is the master's, each worker process those of a worker; the
 * {@code server} and {@code worker} objects each process builds say which process it is. {@code pre_request} and
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
     * @param workerAge in a worker process, its age (gunicorn's {@code worker.age}); 0 in the master
     * @throws ConfigException naming a hook that is not callable or takes the wrong arguments
     */
    public static ServerHooks load(PythonRuntime runtime, Map<String, Object> effective, int workerAge) throws ConfigException {
        try {
            return runtime.onMainThread(py -> {
                CPython api = py.api();
                MemorySegment glue = py.bundledModuleOnce(ConfigFile.GLUE);
                try {
                    MemorySegment setup = MemorySegment.NULL;
                    MemorySegment literal = MemorySegment.NULL;
                    MemorySegment age = MemorySegment.NULL;
                    try {
                        setup = py.checked(py.getAttr(glue, "setup_hooks"));
                        literal = py.string(PythonLiteral.of(effective));
                        age = py.checked(api.longFrom(workerAge));
                        api.decRef(py.checked(api.call(setup, literal, age)));
                    } finally {
                        api.decRef(setup);
                        api.decRef(literal);
                        api.decRef(age);
                    }
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
     * Calls a lifecycle hook, if defined, on Python's main thread. In the master, {@code values}
     * are the worker's age (pre_fork) or pid (child_exit), or the new and old numbers of workers
     * (nworkers_changed, -1 for None).
     *
     * @throws HookException when it raised
     */
    public void run(Hook hook, long... values) throws HookException {
        if (!defined.contains(hook) || hook.when == null) return;
        try {
            runtime.onMainThread(main -> {
                CPython api = main.api();
                MemorySegment args = main.checked(api.tupleNew(1 + values.length));
                try {
                    api.tupleSetItem(args, 0, main.string(hook.pythonName));
                    for (int i = 0; i < values.length; i++) api.tupleSetItem(args, 1 + i, main.checked(api.longFrom(values[i])));
                    api.decRef(main.checked(api.callObject(runHook, args)));
                } finally {
                    api.decRef(args);
                }
                return null;
            });
        } catch (PythonException e) {
            throw new HookException(hook, e);
        }
    }

    /** Master: a worker process with this age is about to start (its {@code worker} for pre_fork). */
    public void workerSpawning(int age) {
        callGlue("worker_spawning", age);
    }

    /** Master: the worker process {@code age} runs as {@code pid} (it joins {@code server.WORKERS}). */
    public void workerStarted(int age, int pid) {
        callGlue("worker_started", age, pid);
    }

    /** Master: the worker process {@code pid} is gone, and child_exit has run. */
    public void workerExited(int pid) {
        callGlue("worker_exited", pid);
    }

    private void callGlue(String function, long... values) {
        runtime.onMainThread(main -> {
            CPython api = main.api();
            MemorySegment glue = main.bundledModuleOnce(ConfigFile.GLUE);
            MemorySegment fn = MemorySegment.NULL;
            MemorySegment args = MemorySegment.NULL;
            try {
                fn = main.checked(main.getAttr(glue, function));
                args = main.checked(api.tupleNew(values.length));
                for (int i = 0; i < values.length; i++) api.tupleSetItem(args, i, main.checked(api.longFrom(values[i])));
                api.decRef(main.checked(api.callObject(fn, args)));
            } finally {
                api.decRef(args);
                api.decRef(fn);
                api.decRef(glue);
            }
            return null;
        });
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
