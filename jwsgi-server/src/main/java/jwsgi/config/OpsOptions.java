package jwsgi.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * What operators and their tools reach besides the app: the metrics, health and readiness
 * listener ({@code --metrics-bind}, jwsgi's own) and gunicorn 25.1's control socket
 * ({@code gunicornc}, {@code jwsgi ctl}).
 */
public final class OpsOptions {
    /** gunicorn's default file name for the control socket. */
    static final String CONTROL_SOCKET_NAME = "gunicorn.ctl";
    private static final int MAX_DRAIN_SECONDS = 3600;

    /**
     * @param metricsBind       where the master serves /metrics, /healthz and /readyz; null for nowhere
     * @param controlSocket     the control socket's path; null without one
     * @param controlSocketMode its file mode
     * @param drainDelay        how long a graceful stop keeps serving, unready, before its listener closes
     */
    public record Settings(Bind metricsBind, Path controlSocket, int controlSocketMode, Duration drainDelay) {}

    @Option(names = "--metrics-bind", paramLabel = "ADDRESS",
            description = "Serve /metrics (Prometheus text format: every worker's requests, latencies and waits for the GIL, "
                    + "in one scrape), /healthz and /readyz (503 from the moment a stop begins) on HOST:PORT, from the master. "
                    + "Default: none.")
    String metricsBind;

    @Option(names = "--drain-delay", paramLabel = "SECONDS", defaultValue = "0",
            description = "With --metrics-bind, a graceful stop (TERM) first answers /readyz 503 and goes on serving for SECONDS, "
                    + "so load balancers stop sending before the listener closes; then the workers finish what they have "
                    + "(--graceful-timeout). Give it the time your health checks take to notice (interval x failures). "
                    + "Default: ${DEFAULT-VALUE}.")
    double drainDelay;

    @Option(names = "--control-socket", paramLabel = "PATH",
            description = "The Unix socket of gunicorn's control commands (gunicornc, jwsgi ctl): show workers and stats, "
                    + "worker add and remove, reload. Default: $XDG_RUNTIME_DIR/gunicorn.ctl, else ~/.gunicorn/gunicorn.ctl.")
    String controlSocket;

    @Option(names = "--control-socket-mode", paramLabel = "INT", defaultValue = "0600",
            description = "The file mode of the control socket (who may connect), octal with a leading 0. "
                    + "Default: ${DEFAULT-VALUE} (its owner only).")
    String controlSocketMode;

    @Option(names = "--no-control-socket", description = "Make no control socket.")
    boolean noControlSocket;

    Settings settings(CommandLine cmd) {
        Bind metrics = null;
        if (metricsBind != null && !metricsBind.isBlank()) {
            try {
                metrics = Bind.parse(metricsBind.strip());
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cmd, e.getMessage().replace("--bind", "--metrics-bind"));
            }
            if (metrics.isUnix()) {
                throw new CommandLine.ParameterException(cmd, "--metrics-bind " + metricsBind
                        + ": give a TCP address (HOST:PORT) that Prometheus and the load balancer's health checks can reach");
            }
        }
        int mode = ListenerOptions.mode(controlSocketMode);
        if (mode < 0) {
            throw new CommandLine.ParameterException(cmd, "--control-socket-mode " + controlSocketMode
                    + ": expected a file mode from 0 to 0777 (e.g. 0600, or 0660 for its group too)");
        }
        if (drainDelay < 0 || drainDelay > MAX_DRAIN_SECONDS) {
            throw new CommandLine.ParameterException(cmd, "--drain-delay " + drainDelay + ": give seconds from 0 to " + MAX_DRAIN_SECONDS
                    + " (a few: a load balancer's health-check interval times its failure count)");
        }
        Path control = noControlSocket ? null : controlSocketPath(controlSocket, System.getenv());
        return new Settings(metrics, control, mode, Duration.ofMillis(Math.round(drainDelay * 1000)));
    }

    /** {@code given} made absolute, or gunicorn's default: in $XDG_RUNTIME_DIR when it is a directory, else ~/.gunicorn. */
    public static Path controlSocketPath(String given, Map<String, String> environment) {
        if (given != null && !given.isBlank()) return Path.of(given.strip()).toAbsolutePath().normalize();
        String runtime = environment.get("XDG_RUNTIME_DIR");
        if (runtime != null && !runtime.isBlank() && Files.isDirectory(Path.of(runtime))) return Path.of(runtime, CONTROL_SOCKET_NAME);
        return Path.of(System.getProperty("user.home"), ".gunicorn", CONTROL_SOCKET_NAME);
    }
}
