package jwsgi.server;

import jwsgi.config.Cli;
import jwsgi.config.Settings;
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
 * A worker's import of the app: which one (the APP argument, or the bundled demo), with which
 * {@code --chdir}, {@code --pythonpath} and {@code -e}, in the main interpreter or in each
 * sub-interpreter; and, when it cannot be loaded, the traceback and a one-line reason.
 *
 * <p>Threads: the worker's main thread.
 */
final class AppLoader {
    private static final Logger LOG = LoggerFactory.getLogger(AppLoader.class);
    private static final String DEMO_MODULE = "jwsgi_demo";

    private final Settings settings;

    AppLoader(Settings settings) {
        this.settings = settings;
    }

    /** Why this Python or config cannot have interpreter workers, or null when it can. */
    String interpreterWorkersRefused(PythonRuntime runtime, ServerHooks hooks) {
        if (settings.app() == null) return "they need an app to import (MODULE:CALLABLE): the bundled demo runs in the main interpreter only";
        PythonVersion v = runtime.installation().version();
        if (v.major() == 3 && v.minor() < 13) {
            return "they need Python 3.13 or later, and this is " + v + " (CPython 3.12 aborts creating a second isolated "
                    + "interpreter once datetime was imported); use process workers (-k sync) or Python 3.13";
        }
        if (hooks.requestHooks() != null) {
            return "the config file's pre_request/post_request hooks live in the main interpreter, and each request runs in a "
                    + "sub-interpreter that cannot call them; remove them or use process workers (-k sync)";
        }
        return null;
    }

    /** Creates the sub-interpreters, each importing the app; one of the apps, or null after saying why it cannot load. */
    WsgiApplication startInterpreters(WorkerPool pool) {
        try {
            return pool.startInterpreters(spec(), facts());
        } catch (AppLoadException e) {
            logLoadFailure(e);
            return null;
        } catch (PythonStartupException e) {
            LOG.error("Cannot create a sub-interpreter: {}", e.getMessage());
            return null;
        }
    }

    /** Imports the app (or the demo); null when it cannot be loaded, after saying why. */
    WsgiApplication load(PythonRuntime runtime) {
        try {
            if (settings.app() == null) {
                runtime.onMainThread(py -> {
                    py.runBundledModule(DEMO_MODULE);
                    return null;
                });
                LOG.info("No app given: serving the bundled demo app");
            }
            return WsgiApplication.load(runtime, spec(), facts());
        } catch (AppLoadException e) {
            logLoadFailure(e);
            return null;
        }
    }

    private String appSpec() {
        return settings.app() == null ? DEMO_MODULE + ":application" : settings.app();
    }

    private WsgiApplication.Spec spec() {
        return new WsgiApplication.Spec(appSpec(), settings.python().chdir(), settings.python().pythonpath(), settings.python().env());
    }

    private WsgiApplication.Facts facts() {
        return new WsgiApplication.Facts(settings.worker().threads() > 1, settings.worker().workers() > 1, "jwsgi/" + Cli.jwsgiVersion());
    }

    private void logLoadFailure(AppLoadException e) {
        if (e.traceback() != null) LOG.error("Failed to load the application '{}':\n{}", appSpec(), e.traceback().stripTrailing());
        String message = e.getMessage();
        if (message.contains("does not support loading in subinterpreters")) {
            LOG.error("Reason: {}. That extension module cannot be loaded in a sub-interpreter (it uses single-phase "
                    + "initialisation); run the app with process workers (-k sync)", message);
        } else {
            LOG.error("Reason: {}", message);
        }
    }
}
