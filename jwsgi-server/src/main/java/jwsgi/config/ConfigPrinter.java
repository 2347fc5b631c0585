package jwsgi.config;

import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;

/** {@code --print-config}: every setting as gunicorn prints them, {@code name = value}, sorted, aligned. */
public final class ConfigPrinter {
    private ConfigPrinter() {}

    /**
     * @param effective the settings by name
     * @param hooks     the names of the hooks the config file defines
     */
    public static String render(Map<String, Object> effective, Collection<String> hooks) {
        Map<String, String> lines = new TreeMap<>();
        effective.forEach((name, value) -> lines.put(name, PythonLiteral.str(value)));
        for (String hook : hooks) lines.put(hook, "<" + hook + "()>");
        int width = lines.keySet().stream().mapToInt(String::length).max().orElse(0);
        StringBuilder out = new StringBuilder();
        lines.forEach((name, value) -> out.append(name).append(" ".repeat(width - name.length())).append(" = ").append(value).append('\n'));
        return out.toString();
    }
}
