package jwsgi.testing;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A test's view of a server's --metrics-bind listener: where it is, and its samples read from the text format. */
public final class Metrics {
    private static final Pattern ADDRESS = Pattern.compile("Metrics at http://([^/ ]+)/metrics");
    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})? (\\S+)$");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    /** One sample of a scrape. */
    public record Sample(String name, Map<String, String> labels, double value) {}

    private Metrics() {}

    /** The base URL of the server's metrics listener, as its log says (e.g. http://127.0.0.1:41234). */
    public static String url(ServerProcess server) {
        if (!server.awaitOutput("Metrics at http://", Duration.ofSeconds(30))) throw new AssertionError("no metrics listener:\n" + server.output());
        Matcher m = ADDRESS.matcher(server.output());
        if (!m.find()) throw new AssertionError("no metrics address in:\n" + server.output());
        return "http://" + m.group(1);
    }

    /** Every sample /metrics shows now. */
    public static List<Sample> scrape(String url) {
        HttpResponse<String> r = Http.get(url + "/metrics");
        if (r.statusCode() != 200) throw new AssertionError("/metrics answered " + r.statusCode() + ": " + r.body());
        return parse(r.body());
    }

    public static List<Sample> parse(String text) {
        List<Sample> samples = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) continue;
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches()) throw new AssertionError("not a sample line: " + line);
            Map<String, String> labels = new LinkedHashMap<>();
            if (m.group(2) != null) {
                Matcher l = LABEL.matcher(m.group(2));
                while (l.find()) labels.put(l.group(1), l.group(2));
            }
            samples.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(3))));
        }
        return samples;
    }

    /** The sum of the samples named {@code name} whose labels match. */
    public static double sum(List<Sample> samples, String name, Predicate<Map<String, String>> labels) {
        return samples.stream().filter(s -> s.name().equals(name) && labels.test(s.labels())).mapToDouble(Sample::value).sum();
    }

    public static double sum(List<Sample> samples, String name) {
        return sum(samples, name, l -> true);
    }

    /** The samples named {@code name}. */
    public static List<Sample> named(List<Sample> samples, String name) {
        return samples.stream().filter(s -> s.name().equals(name)).toList();
    }
}
