package jwsgi.ops;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import jwsgi.posix.Signal;

/**
 * The answers of gunicorn's control commands (gunicorn/ctl/handlers.py), with the same names
 * and fields, so {@code gunicornc}'s formatting shows them; what only jwsgi has (a worker's
 * state and metrics label) is added beside them. The {@code dirty} commands answer as gunicorn
 * does without a dirty arbiter.
 *
 * <p>Threads: the control socket's connection threads.
 */
final class ControlHandlers {
    private final Supplier<ServerStatus> status;
    private final Supplier<Map<String, Object>> config;
    private final ControlCommands commands;

    ControlHandlers(Supplier<ServerStatus> status, Supplier<Map<String, Object>> config, ControlCommands commands) {
        this.status = status;
        this.config = config;
        this.commands = commands;
    }

    /**
     * Runs one command, its words already split.
     *
     * @throws IllegalArgumentException for an unknown command or a bad argument; the message is the error
     */
    Map<String, Object> run(List<String> words) {
        if (words.isEmpty()) throw new IllegalArgumentException("Empty command");
        String verb = words.get(0).toLowerCase();
        List<String> rest = words.subList(1, words.size());
        return switch (verb) {
            case "show" -> show(rest);
            case "worker" -> worker(rest);
            case "dirty" -> map("success", false, "error", "Dirty arbiter not running");
            case "reload" -> signal(Signal.HUP, "status", "reloading");
            case "reopen" -> signal(Signal.USR1, "status", "reopening");
            case "shutdown" -> shutdown(rest.isEmpty() ? "graceful" : rest.get(0));
            case "help" -> map("commands", help());
            default -> throw new IllegalArgumentException("Unknown command: " + verb);
        };
    }

    private Map<String, Object> show(List<String> args) {
        if (args.isEmpty()) throw new IllegalArgumentException("Missing show target (all|workers|dirty|config|stats|listeners)");
        ServerStatus now = status.get();
        return switch (args.get(0).toLowerCase()) {
            case "workers" -> {
                List<Map<String, Object>> workers = workers(now);
                yield map("workers", workers, "count", workers.size());
            }
            case "stats" -> stats(now);
            case "all" -> {
                List<Map<String, Object>> workers = workers(now);
                yield map("arbiter", map("pid", now.pid(), "type", "arbiter", "role", "master"), "web_workers", workers,
                        "web_worker_count", workers.size(), "dirty_arbiter", null, "dirty_workers", List.of(), "dirty_worker_count", 0);
            }
            case "config" -> config.get();
            case "listeners" -> {
                List<Map<String, Object>> listeners = new ArrayList<>();
                for (String url : now.listeners()) listeners.add(map("address", url, "type", url.startsWith("unix:") ? "unix" : "tcp"));
                yield map("listeners", listeners, "count", listeners.size());
            }
            case "dirty" -> map("enabled", false, "pid", null, "workers", List.of(), "apps", List.of());
            default -> throw new IllegalArgumentException("Unknown show target: " + args.get(0));
        };
    }

    private static List<Map<String, Object>> workers(ServerStatus now) {
        long nanos = System.nanoTime();
        List<Map<String, Object>> workers = new ArrayList<>();
        for (ServerStatus.Worker w : now.workers()) {
            double heartbeat = Math.round((nanos - w.lastHeardNanos()) / 1e7) / 100.0;
            workers.add(map("pid", w.pid(), "age", w.age(), "booted", !w.state().equals("booting"),
                    "aborted", w.state().equals("killing"), "last_heartbeat", heartbeat, "state", w.state(),
                    "worker", w.slot() < 0 ? null : w.slot() + 1));
        }
        return workers;
    }

    private static Map<String, Object> stats(ServerStatus now) {
        long restarts = now.restarts().values().stream().mapToLong(Long::longValue).sum();
        return map("uptime", Math.round((System.currentTimeMillis() - now.startedMillis()) / 10.0) / 100.0, "pid", now.pid(),
                "workers_current", now.workers().size(), "workers_target", now.target(), "workers_spawned", now.spawned(),
                "workers_killed", restarts, "reloads", now.reloads(), "dirty_arbiter_pid", null, "restarts", now.restarts());
    }

    private Map<String, Object> worker(List<String> args) {
        if (args.isEmpty()) throw new IllegalArgumentException("Missing worker action (add|remove|kill)");
        String action = args.get(0).toLowerCase();
        return switch (action) {
            case "add" -> commands.addWorkers(Math.max(1, count(args)));
            case "remove" -> commands.removeWorkers(Math.max(1, count(args)));
            case "kill" -> {
                if (args.size() < 2) throw new IllegalArgumentException("Missing PID for worker kill");
                yield commands.killWorker(integer(args.get(1)));
            }
            default -> throw new IllegalArgumentException("Unknown worker action: " + action);
        };
    }

    private Map<String, Object> shutdown(String mode) {
        if (!mode.equals("graceful") && !mode.equals("quick")) {
            throw new IllegalArgumentException("shutdown takes graceful (TERM) or quick (INT), not " + mode);
        }
        commands.signal(mode.equals("quick") ? Signal.INT : Signal.TERM);
        return map("status", "shutting_down", "mode", mode);
    }

    private Map<String, Object> signal(Signal signal, String key, String value) {
        commands.signal(signal);
        return map(key, value);
    }

    private static int count(List<String> args) {
        return args.size() < 2 ? 1 : integer(args.get(1));
    }

    private static int integer(String text) {
        try {
            return Integer.parseInt(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(text + " is not a whole number");
        }
    }

    private static Map<String, String> help() {
        Map<String, String> commands = new LinkedHashMap<>();
        commands.put("show all", "Show all processes (master and workers)");
        commands.put("show workers", "List workers with their status");
        commands.put("show config", "Show current effective configuration");
        commands.put("show stats", "Show server statistics");
        commands.put("show listeners", "Show bound sockets");
        commands.put("worker add [N]", "Spawn N workers (default 1)");
        commands.put("worker remove [N]", "Remove N workers (default 1)");
        commands.put("worker kill <PID>", "Gracefully terminate specific worker");
        commands.put("reload", "Graceful reload (HUP)");
        commands.put("reopen", "Reopen log files (USR1)");
        commands.put("shutdown [graceful|quick]", "Shutdown server (TERM/INT)");
        commands.put("help", "Show this help message");
        return commands;
    }

    /** A map of keys and values, in order; null values kept (JSON null). */
    static Map<String, Object> map(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        return m;
    }
}
