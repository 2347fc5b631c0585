package jwsgi.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * Static files served by the HTTP layer without entering Python, as uWSGI's {@code --static-map}
 * (its name and form): each mount maps a URL path prefix to a directory. A prefix is compared with
 * the path the client sent, SCRIPT_NAME (--root-path) included: a site mounted at /app whose
 * STATIC_URL is /app/static/ maps /app/static.
 */
public final class StaticOptions {
    /** Seconds a browser or CDN may keep a file whose name does not say its content; WhiteNoise's default. */
    public static final int DEFAULT_MAX_AGE = 60;

    /**
     * The characters a prefix may have: RFC 3986 path characters that need no percent-encoding,
     * without ';' (path parameters), so a prefix is compared with the raw request path as it is.
     */
    private static final Pattern PREFIX = Pattern.compile("(/[A-Za-z0-9\\-._~!$&'()*+,:@]+)+");

    /**
     * One mapped directory.
     *
     * @param prefix    the URL path prefix: starts with '/', no trailing '/'
     * @param directory the directory, its real path (symbolic links resolved at start)
     * @param maxAge    Cache-Control max-age, seconds, of files whose names carry no content hash
     */
    public record Mount(String prefix, Path directory, int maxAge) {}

    /**
     * @param mounts         the mapped directories, none when static files are not served
     * @param followSymlinks serve files that symbolic links lead to outside their mount's directory
     */
    public record Settings(List<Mount> mounts, boolean followSymlinks) {}

    @Option(names = "--static-map", paramLabel = "PREFIX=DIR",
            description = "Serve the files under DIR at URL path PREFIX without entering Python (uWSGI's flag), e.g."
                    + " /static=/srv/site/staticfiles after Django's collectstatic; repeatable. PREFIX is compared with"
                    + " the path as the client sent it, --root-path included; every path under it is a file or 404,"
                    + " never the app's. A relative DIR is relative to --chdir.")
    List<String> staticMap = new ArrayList<>();

    @Option(names = "--static-max-age", paramLabel = "[PREFIX=]SECONDS",
            description = "Cache-Control max-age of the files of every --static-map, or of the one at PREFIX;"
                    + " repeatable. 0 sends no-cache (browsers revalidate each time). Names with a content hash"
                    + " (Django's ManifestStaticFilesStorage: name.0123456789ab.css) are public, immutable, for a"
                    + " year. Default: " + DEFAULT_MAX_AGE + ".")
    List<String> staticMaxAge = new ArrayList<>();

    @Option(names = "--static-follow-symlinks",
            description = "Serve files that symbolic links under a --static-map directory lead to outside it;"
                    + " without it they are 404.")
    boolean staticFollowSymlinks;

    /** @param base the directory relative DIRs are read from (--chdir) */
    Settings settings(CommandLine cmd, Path base) {
        Map<String, Path> dirs = new LinkedHashMap<>();
        for (String map : staticMap) {
            int eq = map.indexOf('=');
            if (eq < 0) {
                throw new CommandLine.ParameterException(cmd, "--static-map " + map
                        + ": expected PREFIX=DIR, e.g. /static=/srv/site/staticfiles");
            }
            String prefix = prefix(cmd, map, map.substring(0, eq));
            if (dirs.containsKey(prefix)) {
                throw new CommandLine.ParameterException(cmd, "--static-map " + map + ": " + prefix
                        + " is mapped twice; give each prefix once");
            }
            dirs.put(prefix, directory(cmd, map, base, map.substring(eq + 1)));
        }
        Map<String, Integer> maxAges = maxAges(cmd, dirs);
        List<Mount> mounts = new ArrayList<>();
        dirs.forEach((prefix, dir) -> mounts.add(new Mount(prefix, dir, maxAges.getOrDefault(prefix,
                maxAges.getOrDefault("", DEFAULT_MAX_AGE)))));
        return new Settings(List.copyOf(mounts), staticFollowSymlinks);
    }

    /** "/static/" and "/static" are the same prefix. */
    private static String prefix(CommandLine cmd, String map, String given) {
        String p = given.strip();
        while (p.length() > 1 && p.endsWith("/")) p = p.substring(0, p.length() - 1);
        if (!p.startsWith("/")) {
            throw new CommandLine.ParameterException(cmd, "--static-map " + map
                    + ": the URL prefix must start with '/', e.g. /static=/srv/site/staticfiles");
        }
        if (p.equals("/")) {
            throw new CommandLine.ParameterException(cmd, "--static-map " + map
                    + ": the prefix / would leave no path to the app; map a prefix such as /static");
        }
        if (!PREFIX.matcher(p).matches() || p.contains("/./") || p.contains("/../") || p.endsWith("/.") || p.endsWith("/..")) {
            throw new CommandLine.ParameterException(cmd, "--static-map " + map + ": the prefix " + p
                    + " must be plain path segments (letters, digits and -._~!$&'()*+,:@, no '.' or '..' segments),"
                    + " e.g. /static");
        }
        return p;
    }

    private static Path directory(CommandLine cmd, String map, Path base, String given) {
        if (given.isBlank()) {
            throw new CommandLine.ParameterException(cmd, "--static-map " + map
                    + ": no directory after '='; e.g. /static=/srv/site/staticfiles");
        }
        Path dir = base.resolve(given.strip()).normalize();
        if (!Files.isDirectory(dir)) {
            throw new CommandLine.ParameterException(cmd, "--static-map " + map + ": " + dir + (Files.exists(dir)
                    ? " is not a directory; map the directory the files are in" : " does not exist; create it (Django:"
                    + " set STATIC_ROOT and run manage.py collectstatic) or correct the path"));
        }
        try {
            return dir.toRealPath();
        } catch (IOException e) {
            throw new CommandLine.ParameterException(cmd, "--static-map " + map + ": cannot read " + dir + ": " + e.getMessage());
        }
    }

    /** Max-age by prefix; "" for the value given without a prefix. */
    private Map<String, Integer> maxAges(CommandLine cmd, Map<String, Path> dirs) {
        Map<String, Integer> ages = new LinkedHashMap<>();
        for (String value : staticMaxAge) {
            int eq = value.indexOf('=');
            String prefix = eq < 0 ? "" : value.substring(0, eq).strip();
            while (prefix.length() > 1 && prefix.endsWith("/")) prefix = prefix.substring(0, prefix.length() - 1);
            if (!prefix.isEmpty() && !dirs.containsKey(prefix)) {
                throw new CommandLine.ParameterException(cmd, "--static-max-age " + value + ": no --static-map has the prefix "
                        + prefix + (dirs.isEmpty() ? "" : "; mapped: " + String.join(", ", dirs.keySet())));
            }
            String seconds = value.substring(eq + 1).strip();
            int age;
            try {
                age = Integer.parseInt(seconds);
            } catch (NumberFormatException e) {
                age = -1;
            }
            if (age < 0) {
                throw new CommandLine.ParameterException(cmd, "--static-max-age " + value
                        + ": expected [PREFIX=]SECONDS, seconds a whole number from 0, e.g. 3600 or /static=3600");
            }
            ages.put(prefix, age);
        }
        return ages;
    }
}
