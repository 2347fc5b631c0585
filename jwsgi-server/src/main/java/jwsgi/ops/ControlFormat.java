package jwsgi.ops;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * How {@code jwsgi ctl} prints an answer: the tables gunicornc prints (gunicorn/ctl/cli.py)
 * for the commands it formats, JSON for the others.
 *
 * <p>Threads: any.
 */
final class ControlFormat {
    private ControlFormat() {}

    static String render(String command, Object data) {
        if (!(data instanceof Map<?, ?> map)) return String.valueOf(data);
        return switch (command.strip().toLowerCase().replaceAll("\\s+", " ")) {
            case "show workers" -> workers(map);
            case "show stats" -> stats(map);
            case "show listeners" -> listeners(map);
            case "help" -> help(map);
            default -> map.isEmpty() ? "OK" : ControlProtocol.toJson(map);
        };
    }

    private static String workers(Map<?, ?> data) {
        if (!(data.get("workers") instanceof List<?> workers) || workers.isEmpty()) return "No workers running";
        StringBuilder s = new StringBuilder(String.format("%-10s %-6s %-8s %-10s %s%n", "PID", "AGE", "BOOTED", "STATE", "LAST_BEAT"));
        s.append("-".repeat(50)).append('\n');
        for (Object o : workers) {
            Map<?, ?> w = (Map<?, ?>) o;
            Object beat = w.get("last_heartbeat");
            s.append(String.format("%-10s %-6s %-8s %-10s %s%n", w.get("pid"), w.get("age"), Boolean.TRUE.equals(w.get("booted")) ? "yes" : "no",
                    w.get("state"), beat == null ? "n/a" : beat + "s ago"));
        }
        return s.append('\n').append("Total: ").append(data.get("count")).append(" workers").toString();
    }

    private static String stats(Map<?, ?> data) {
        Object uptime = data.get("uptime");
        long seconds = uptime instanceof Number n ? n.longValue() : 0;
        String up = seconds >= 3600 ? seconds / 3600 + "h " + seconds % 3600 / 60 + "m " + seconds % 60 + "s"
                : seconds >= 60 ? seconds / 60 + "m " + seconds % 60 + "s" : seconds + "s";
        return String.join("\n",
                "Uptime:           " + (uptime == null ? "unknown" : up),
                "PID:              " + data.get("pid"),
                "Workers current:  " + data.get("workers_current"),
                "Workers target:   " + data.get("workers_target"),
                "Workers spawned:  " + data.get("workers_spawned"),
                "Workers killed:   " + data.get("workers_killed"),
                "Reloads:          " + data.get("reloads"));
    }

    private static String listeners(Map<?, ?> data) {
        if (!(data.get("listeners") instanceof List<?> listeners) || listeners.isEmpty()) return "No listeners bound";
        StringBuilder s = new StringBuilder(String.format("%-40s %s%n", "ADDRESS", "TYPE")).append("-".repeat(48)).append('\n');
        for (Object o : listeners) {
            Map<?, ?> l = (Map<?, ?>) o;
            s.append(String.format("%-40s %s%n", l.get("address"), l.get("type")));
        }
        return s.append('\n').append("Total: ").append(data.get("count")).append(" listeners").toString();
    }

    private static String help(Map<?, ?> data) {
        if (!(data.get("commands") instanceof Map<?, ?> commands)) return "";
        int width = commands.keySet().stream().mapToInt(k -> k.toString().length()).max().orElse(0);
        StringBuilder s = new StringBuilder("Available commands:\n\n");
        new TreeMap<>(commands).forEach((k, v) -> s.append(String.format("  %-" + (width + 2) + "s %s%n", k, v)));
        return s.toString().stripTrailing();
    }
}
