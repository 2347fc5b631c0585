package jwsgi.server;

import jwsgi.config.Settings;
import jwsgi.config.WorkerOptions;
import jwsgi.embed.PythonApp;
import jwsgi.embed.PythonAppOptions;
import jwsgi.hooks.ServerHooks;
import jwsgi.python.PythonRuntime;
import jwsgi.python.PythonStartupException;
import jwsgi.python.PythonVersion;
import jwsgi.wsgi.AppLoadException;
import jwsgi.wsgi.WorkerPool;
import jwsgi.wsgi.WsgiApplication;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's app as the embedding API ({@link PythonApp}) runs it: which one (the APP argument,
 * or the bundled demo), with which {@code --chdir}, {@code --pythonpath} and {@code -e}, in the
 * main interpreter or in each sub-interpreter. {@link PythonApp#load} imports it and, when it
 * cannot, logs the traceback and a one-line reason.
 *
 * <p>Threads: the worker's main thread.
 */
final class AppLoader {
    private static final Logger LOG = LoggerFactory.getLogger(AppLoader.class);
    private static final String DEMO_MODULE = "jwsgi_demo";

    private final Settings settings;
    /** The first worker the master started (not a replacement): it alone gives start-up advice. */
    private final boolean firstWorker;

    AppLoader(Settings settings, boolean firstWorker) {
        this.settings = settings;
        this.firstWorker = firstWorker;
    }

    /** Why this Python or config cannot have interpreter workers, or null when it can. */
    String interpreterWorkersRefused(PythonRuntime runtime, ServerHooks hooks) {
        if (settings.app() == null) return "they need an app to import (MODULE:CALLABLE): the bundled demo runs in the main interpreter only";
        String refused = PythonApp.subInterpretersRefused(runtime.installation().version());
        if (refused != null) return refused + "; use process workers (-k sync) or Python 3.13";
        if (hooks.requestHooks() != null) {
            return "the config file's pre_request/post_request hooks live in the main interpreter, and each request runs in a "
                    + "sub-interpreter that cannot call them; remove them or use process workers (-k sync)";
        }
        return null;
    }

    /** The worker's app, run by a pool of {@code pool}: --timeout, and --backlog as the bound on waiting requests. */
    PythonAppOptions options(WorkerPool.Options pool) {
        return new PythonAppOptions(settings.python().python(), settings.argv(), spec(), pool,
                new WsgiApplication.Facts(settings.worker().threads() > 1, settings.worker().workers() > 1, PythonApp.serverSoftware()),
                settings.worker().timeout(), settings.socket().backlog());
    }

    /** Imports the app (or the demo) and starts it; null when it cannot be loaded, after the log said why. */
    WsgiApplication load(PythonApp app) {
        try {
            if (settings.app() == null) {
                app.runtime().onMainThread(py -> {
                    py.runBundledModule(DEMO_MODULE);
                    return null;
                });
                LOG.info("No app given: serving the bundled demo app");
            }
            WsgiApplication loaded = app.load();
            recommendInterpreters(app.runtime().installation().version());
            return loaded;
        } catch (AppLoadException | PythonStartupException e) {
            return null;
        }
    }

    /**
     * Process workers on Python 3.13+: the first worker says that sub-interpreters serve the same
     * cores in one process, for far less memory (docs/benchmarks.md, "Memory": a further worker is
     * a sub-interpreter of about 25 MB instead of a JVM of about 80), if the app's extension
     * modules allow it.
     */
    private void recommendInterpreters(PythonVersion version) {
        int n = settings.worker().workers();
        if (!firstWorker || n < 2 || settings.worker().kind() != WorkerOptions.Kind.PROCESS || !version.atLeast(3, 13)) return;
        LOG.info("Python {} can run the {} workers as sub-interpreters in one process: -k interpreter -w {} serves the same "
                + "cores with a sub-interpreter instead of a JVM per worker, for far less memory, if every C extension the app "
                + "imports supports sub-interpreters (the start names one that does not)", version, n, n);
    }

    private WsgiApplication.Spec spec() {
        String app = settings.app() == null ? DEMO_MODULE + ":application" : settings.app();
        return new WsgiApplication.Spec(app, settings.python().chdir(), settings.python().pythonpath(), settings.python().env());
    }
}
