package jwsgi.config;

import java.util.ArrayList;
import java.util.List;


import picocli.CommandLine;
import picocli.CommandLine.Option;

/** Where to listen (gunicorn's "Server Socket", plus reuse_port from "Server Mechanics"). */
public final class SocketOptions {
    /**
     * @param binds     where to listen
     * @param backlog   the listen queue length of each socket, and the most requests waiting for a Python thread
     * @param reusePort set SO_REUSEPORT on the listening sockets
     */
    public record Settings(List<Bind> binds, int backlog, boolean reusePort) {}

    @Option(names = {"-b", "--bind"}, paramLabel = "ADDRESS",
            description = "Listen on HOST:PORT, [IPv6]:PORT or :PORT; repeatable. Default: 0.0.0.0:$PORT when PORT is set, "
                    + "else 127.0.0.1:8000.")
    List<String> binds = new ArrayList<>();

    @Option(names = "--backlog", paramLabel = "INT", defaultValue = "2048",
            description = "The most connections waiting to be accepted on each socket, and the most requests waiting for"
                    + " a Python thread (past it, 503 with Retry-After). Default: ${DEFAULT-VALUE}.")
    int backlog;

    @Option(names = "--reuse-port", description = "Set SO_REUSEPORT on the listening sockets.")
    boolean reusePort;

    Settings settings(CommandLine cmd) {
        List<Bind> parsed = new ArrayList<>();
        for (String b : binds.isEmpty() ? List.of(defaultBind()) : binds) {
            try {
                parsed.add(Bind.parse(b));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cmd, e.getMessage());
            }
        }
        if (backlog < 1) throw new CommandLine.ParameterException(cmd, "--backlog " + backlog + ": must be at least 1");
        return new Settings(List.copyOf(parsed), backlog, reusePort);
    }

    /** gunicorn's default: platforms such as Heroku say where to listen in PORT. */
    private static String defaultBind() {
        String port = System.getenv("PORT");
        return port != null && !port.isBlank() ? "0.0.0.0:" + port.strip() : "127.0.0.1:" + Bind.DEFAULT_PORT;
    }
}
