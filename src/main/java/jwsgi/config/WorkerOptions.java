package jwsgi.config;

import java.time.Duration;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/** How requests are run (gunicorn's "Worker Processes"). */
public final class WorkerOptions {
    /**
     * @param threads         Python threads running requests
     * @param gracefulTimeout how long a stop waits for in-flight requests
     * @param keepAlive       how long an idle keep-alive connection is kept
     */
    public record Settings(int threads, Duration gracefulTimeout, Duration keepAlive) {}

    @Option(names = "--threads", paramLabel = "INT", defaultValue = "1",
            description = "Python threads running requests (the app's concurrency). Default: ${DEFAULT-VALUE}.")
    int threads;

    @Option(names = "--graceful-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "On SIGTERM/SIGINT, wait this long for in-flight requests. Default: ${DEFAULT-VALUE}.")
    int gracefulTimeout;

    @Option(names = "--keep-alive", paramLabel = "SECONDS", defaultValue = "2",
            description = "Close a keep-alive connection idle this long. Default: ${DEFAULT-VALUE}.")
    int keepAlive;

    Settings settings(CommandLine cmd) {
        if (threads < 1) throw new CommandLine.ParameterException(cmd, "--threads " + threads + ": must be at least 1");
        if (gracefulTimeout < 0) {
            throw new CommandLine.ParameterException(cmd, "--graceful-timeout " + gracefulTimeout + ": must be 0 or more seconds");
        }
        if (keepAlive < 0) throw new CommandLine.ParameterException(cmd, "--keep-alive " + keepAlive + ": must be 0 or more seconds");
        return new Settings(threads, Duration.ofSeconds(gracefulTimeout), Duration.ofSeconds(keepAlive));
    }
}
