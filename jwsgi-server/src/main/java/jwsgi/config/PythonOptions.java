package jwsgi.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/** Which Python to embed and how to prepare it before the app is imported (gunicorn's "Server Mechanics"). */
public final class PythonOptions {
    /**
     * @param python     the interpreter or virtualenv to embed, or null to choose as documented
     * @param chdir      directory to change to (and put first on sys.path) before loading the app
     * @param pythonpath directories to put first on sys.path
     * @param env        environment variables to set before loading the app
     */
    public record Settings(String python, String chdir, List<String> pythonpath, List<Map.Entry<String, String>> env) {}

    @Option(names = "--python", paramLabel = "PATH",
            description = "Python interpreter or virtualenv to embed. Default: $VIRTUAL_ENV, else python3 on PATH.")
    String python;

    @Option(names = "--chdir", paramLabel = "DIR",
            description = "Change to DIR before loading the app; it is put first on sys.path. Default: the current directory.")
    String chdir;

    @Option(names = "--pythonpath", paramLabel = "DIRS",
            description = "Comma-separated directories to put first on sys.path.")
    String pythonpath;

    @Option(names = {"-e", "--env"}, paramLabel = "KEY=VALUE",
            description = "Set an environment variable for the app; repeatable.")
    List<String> env = new ArrayList<>();

    Settings settings(CommandLine cmd) {
        if (chdir != null && !Files.isDirectory(Path.of(chdir))) {
            throw new CommandLine.ParameterException(cmd, "--chdir " + chdir + ": no such directory");
        }
        // Resolved now: the JVM keeps its own idea of the working directory when Python changes it.
        Path base = Path.of(chdir == null ? "" : chdir).toAbsolutePath().normalize();
        List<Map.Entry<String, String>> pairs = new ArrayList<>();
        for (String e : env) {
            int eq = e.indexOf('=');
            if (eq <= 0) throw new CommandLine.ParameterException(cmd, "-e " + e + ": expected KEY=VALUE");
            pairs.add(Map.entry(e.substring(0, eq), e.substring(eq + 1)));
        }
        // gunicorn changes directory first, so relative --pythonpath entries are relative to --chdir.
        List<String> path = new ArrayList<>();
        if (pythonpath != null) {
            for (String p : pythonpath.split(",")) {
                if (!p.isBlank()) path.add(base.resolve(p.strip()).normalize().toString());
            }
        }
        return new Settings(python, base.toString(), List.copyOf(path), List.copyOf(pairs));
    }
}
