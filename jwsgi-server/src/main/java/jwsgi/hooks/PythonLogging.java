package jwsgi.hooks;

import java.lang.foreign.MemorySegment;

import jwsgi.config.ConfigException;
import jwsgi.config.ConfigFile;
import jwsgi.config.LoggingOptions;
import jwsgi.log.ErrorLog;
import jwsgi.python.Interpreter;
import jwsgi.python.JavaFunction;
import jwsgi.python.PythonException;
import jwsgi.python.PythonRuntime;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The app's Python logging, set up as gunicorn sets it up: the {@code gunicorn.error} logger
 * (which hooks see as {@code server.log}, and which apps often borrow with
 * {@code logging.getLogger("gunicorn.error")}) writes to jwsgi's error log at
 * {@code --log-level}; {@code logconfig_dict}, {@code --log-config-json} and
 * {@code --log-config} are applied over gunicorn's defaults. The root logger is left alone,
 * so the app's other logging goes where it goes under gunicorn (Python's last-resort handler
 * on stderr, unless the app configures it).
 *
 * <p>Threads: any; the set-up runs on Python's main thread.
 */
public final class PythonLogging {
    private static final Logger GUNICORN_ERROR = LoggerFactory.getLogger("gunicorn.error");

    private PythonLogging() {}

    /** @throws ConfigException when the logging configuration is unusable */
    public static void setup(PythonRuntime runtime, LoggingOptions.Settings logging) throws ConfigException {
        try {
            runtime.onMainThread(py -> py.callGlue(ConfigFile.GLUE, "setup_logging",
                    new JavaFunction.Named("emit", args -> emit(py, args)),
                    logging.logLevel(), logging.logConfig(), logging.logConfigJson()));
        } catch (PythonException e) {
            if (e.typeName().equals("ConfigError")) throw new ConfigException(e.getMessage().substring("ConfigError: ".length()));
            throw new ConfigException("cannot set up the app's Python logging: " + e.getMessage(), e.traceback());
        }
    }

    /** {@code emit(levelno, text)}: one record of a Python logger, already formatted. */
    private static MemorySegment emit(Interpreter py, JavaFunction.Arguments args) {
        long level = (Long) py.fromPython(args.get(0));
        String text = py.toJava(args.get(1));
        if (level >= 50) GUNICORN_ERROR.error(ErrorLog.CRITICAL, text);
        else if (level >= 40) GUNICORN_ERROR.error(text);
        else if (level >= 30) GUNICORN_ERROR.warn(text);
        else if (level >= 20) GUNICORN_ERROR.info(text);
        else GUNICORN_ERROR.debug(text);
        return py.toPython(null);
    }
}
