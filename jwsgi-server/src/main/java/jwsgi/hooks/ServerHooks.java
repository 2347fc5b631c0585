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
import jwsgi.python.PythonException;
import jwsgi.python.PythonFunction;
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
    private final Set<Hook> defined;
    /** The glue's per-request functions, null when the hook is not defined. */
    private final PythonFunction preRequest;
    private final PythonFunction postRequest;

    private ServerHooks(PythonRuntime runtime, Set<Hook> defined, PythonFunction preRequest, PythonFunction postRequest) {
        this.runtime = runtime;
        this.defined = defined;
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
                py.callGlue(ConfigFile.GLUE, "setup_hooks", PythonLiteral.of(effective), workerAge);
                Set<Hook> defined = EnumSet.noneOf(Hook.class);
                for (Object name : (List<?>) py.callGlue(ConfigFile.GLUE, "check_hooks")) defined.add(Hook.of((String) name));
                return new ServerHooks(runtime, defined,
                        defined.contains(Hook.PRE_REQUEST) ? py.glueFunction(ConfigFile.GLUE, "pre_request") : null,
                        defined.contains(Hook.POST_REQUEST) ? py.glueFunction(ConfigFile.GLUE, "post_request") : null);
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
        Object[] args = new Object[1 + values.length];
        args[0] = hook.pythonName;
        for (int i = 0; i < values.length; i++) args[1 + i] = values[i];
        try {
            callGlue("run_hook", args);
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

    private void callGlue(String function, Object... args) {
        runtime.onMainThread(main -> main.callGlue(ConfigFile.GLUE, function, args));
    }

    /** The per-request hooks, or null when the config file defines neither. */
    public RequestHooks requestHooks() {
        return hasPreRequest() || hasPostRequest() ? this : null;
    }

    @Override
    public boolean hasPreRequest() {
        return preRequest != null;
    }

    @Override
    public boolean hasPostRequest() {
        return postRequest != null;
    }

    @Override
    public MemorySegment preRequest(MemorySegment environ) {
        return preRequest.invoke(environ);
    }

    @Override
    public boolean postRequest(MemorySegment req, MemorySegment environ, String status, ResponseHead head, long sent) {
        List<String> flat = new ArrayList<>();
        if (head != null) {
            for (ResponseHead.Header h : head.headers()) {
                flat.add(h.name());
                flat.add(h.value());
            }
        }
        // A NULL req (pre_request not defined) reaches the glue as None, which makes one.
        return postRequest.run(req, environ, List.of(status, flat, sent));
    }

    /** Releases the glue's functions, while Python still runs. */
    public void close() {
        try {
            runtime.onMainThread(main -> {
                if (preRequest != null) preRequest.close();
                if (postRequest != null) postRequest.close();
                return null;
            });
        } catch (RuntimeException e) {
            // Python is already finalised: its objects went with it.
        }
    }
}
