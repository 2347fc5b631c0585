package jwsgi.config;

import java.util.ArrayList;
import java.util.List;

import jwsgi.http.Bind;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/** Where to listen (gunicorn's "Server Socket"). */
public final class SocketOptions {
    /** @param binds where to listen */
    public record Settings(List<Bind> binds) {}

    @Option(names = {"-b", "--bind"}, paramLabel = "ADDRESS",
            description = "Listen on HOST:PORT, [IPv6]:PORT or :PORT; repeatable. Default: 127.0.0.1:8000.")
    List<String> binds = new ArrayList<>();

    Settings settings(CommandLine cmd) {
        List<Bind> parsed = new ArrayList<>();
        for (String b : binds.isEmpty() ? List.of("127.0.0.1:" + Bind.DEFAULT_PORT) : binds) {
            try {
                parsed.add(Bind.parse(b));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cmd, e.getMessage());
            }
        }
        return new Settings(List.copyOf(parsed));
    }
}
