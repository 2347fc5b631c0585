package jwsgi.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real jwsgi server in its own process, started through its command line ({@code jwsgi.server.Main})
 * with the test class path, listening on a port the system chose. Its standard output and error
 * are captured for assertions.
 */
public final class ServerProcess implements AutoCloseable {
    /** The test apps ({@link Pythons#APPS}), put on sys.path with --chdir. */
    public static final Path APPS = Pythons.APPS;
    private static final Pattern LISTENING = Pattern.compile("Listening at: (?:(https?)://(\\[[^\\]]+\\]|[^:]+):(\\d+)|unix:\\S+) ");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private final Process process;
    private final StringBuffer output = new StringBuffer();
    private final StringBuffer stdout = new StringBuffer();
    private final List<Thread> pumps = new ArrayList<>();
    private volatile int port = -1;
    private volatile boolean listening;
    private volatile String host;
    private volatile String scheme = "http";

    private ServerProcess(Process process) {
        this.process = process;
    }

    /** JVM options for the worker processes (jwsgi.server.WorkerCommand). */
    static final String WORKER_JAVA_OPTS = "JWSGI_WORKER_JAVA_OPTS";

    /** The java command that runs jwsgi's Main with this JVM's class path. */
    public static List<String> command(List<String> args) {
        return command(List.of(), args);
    }

    private static List<String> command(List<String> masterOptions, List<String> args) {
        List<String> cmd = javaCommand();
        cmd.addAll(AotCaches.masterOptions());
        cmd.addAll(masterOptions);
        cmd.add("jwsgi.server.Main");
        // Test servers answer at once, without --warmup, unless a test asks for it.
        if (!args.contains("--warmup")) cmd.addAll(List.of("--warmup", "0"));
        cmd.addAll(args);
        return cmd;
    }

    /** The JVM and class path every test server runs with, up to the main class. */
    static List<String> javaCommand() {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        // As ./jwsgi starts the master: it only supervises, and these start it with less work.
        cmd.addAll(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:+UnlockDiagnosticVMOptions", "-XX:ArchiveRelocationMode=0"));
        cmd.add("-cp");
        cmd.add(AotCaches.serverClassPath());
        return cmd;
    }

    /**
     * The environment of a test server, made from this JVM's: no settings or virtualenv of its
     * own leak in (a VIRTUAL_ENV a test gives is put back after), and the workers start as fast
     * as the master (C1 only, the AOT caches).
     */
    public static void prepare(Map<String, String> environment) {
        environment.remove(jwsgi.config.SettingsSources.ENV_ARGS);
        environment.remove(jwsgi.config.SettingsSources.GUNICORN_ENV_ARGS);
        environment.remove("PORT");
        environment.remove("VIRTUAL_ENV");
        List<String> workerOptions = new ArrayList<>(List.of("-XX:TieredStopAtLevel=1"));
        workerOptions.addAll(AotCaches.workerOptions());
        environment.put(WORKER_JAVA_OPTS, String.join(" ", workerOptions));
    }

    /** Starts jwsgi with {@link #args}{@code (args)}; waits until it serves. */
    public static ServerProcess start(String... args) {
        return startRaw(args(args), Map.of());
    }

    /** Debian's python3, the test apps directory and (unless -b is given) a free loopback port, then {@code more}. */
    public static List<String> args(String... more) {
        List<String> all = new ArrayList<>(List.of("--python", Pythons.DEBIAN.toString(), "--chdir", APPS.toString()));
        if (!Arrays.asList(more).contains("-b")) all.addAll(List.of("-b", "127.0.0.1:0"));
        all.addAll(Arrays.asList(more));
        return all;
    }

    /** Starts jwsgi with exactly {@code args} and extra environment variables; waits until it serves. */
    public static ServerProcess startRaw(List<String> args, Map<String, String> env) {
        return startIn(null, args, env);
    }

    /** Starts jwsgi in directory {@code cwd} with exactly {@code args} and extra environment variables; waits until it serves. */
    public static ServerProcess startIn(Path cwd, List<String> args, Map<String, String> env) {
        ServerProcess server = launch(args, env, cwd);
        server.awaitListening();
        return server;
    }

    /** Starts jwsgi whose master JVM, not its workers, also gets {@code masterOptions}; waits until it serves. */
    public static ServerProcess startWithMasterOptions(List<String> masterOptions, List<String> args) {
        ServerProcess server = launch(List.of(), masterOptions, args, Map.of(), null);
        server.awaitListening();
        return server;
    }

    /**
     * Starts jwsgi with {@link #args}{@code (args)} as a process that inherited {@code signals}
     * (e.g. "INT") ignored, as a background job of a script does, whatever this JVM inherited;
     * waits until it serves.
     */
    public static ServerProcess startIgnoring(List<String> signals, String... args) {
        List<String> shell = List.of("/bin/sh", "-c", "trap '' " + String.join(" ", signals) + "; exec \"$@\"", "sh");
        ServerProcess server = launch(shell, List.of(), args(args), Map.of(), null);
        server.awaitListening();
        return server;
    }

    /**
     * Starts jwsgi with {@link #args}{@code (args)} through {@code launcher}, a command that execs
     * the rest of its arguments (e.g. one that hands it a socket, as systemd does); waits until it serves.
     */
    public static ServerProcess startVia(List<String> launcher, Map<String, String> env, String... args) {
        ServerProcess server = launch(launcher, List.of(), args(args), env, null);
        server.awaitListening();
        return server;
    }

    /** Starts jwsgi without waiting for it to listen (for start-up failures). */
    public static ServerProcess launch(List<String> args, Map<String, String> env) {
        return launch(args, env, null);
    }

    /** Starts jwsgi in directory {@code cwd} (null: this JVM's), without waiting for it to listen. */
    public static ServerProcess launch(List<String> args, Map<String, String> env, Path cwd) {
        return launch(List.of(), List.of(), args, env, cwd);
    }

    /** @param launcher a command that execs the rest of its arguments (the JVM's command) */
    private static ServerProcess launch(List<String> launcher, List<String> masterOptions, List<String> args, Map<String, String> env, Path cwd) {
        List<String> cmd = new ArrayList<>(launcher);
        cmd.addAll(command(masterOptions, args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        if (cwd != null) pb.directory(cwd.toFile());
        prepare(pb.environment());
        pb.environment().putAll(env);
        try {
            ServerProcess server = new ServerProcess(pb.start());
            server.pump(server.process.getErrorStream(), null);
            server.pump(server.process.getInputStream(), server.stdout);
            return server;
        } catch (IOException e) {
            throw new IllegalStateException("cannot start jwsgi", e);
        }
    }

    private void pump(java.io.InputStream in, StringBuffer alsoTo) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (output) {
                        output.append(line).append('\n');
                        if (alsoTo != null) alsoTo.append(line).append('\n');
                        Matcher m = LISTENING.matcher(line);
                        // The server names every listener, then its workers: all listeners are open by then.
                        if (line.contains("Using worker:")) listening = true;
                        if (m.find()) {
                            if (port < 0 && m.group(1) != null) {
                                scheme = m.group(1);
                                host = m.group(2);
                                port = Integer.parseInt(m.group(3));
                            }
                        }
                        output.notifyAll();
                    }
                }
            } catch (IOException ignored) {
                // the process ended
            }
        }, "server-output");
        t.setDaemon(true);
        pumps.add(t);
        t.start();
    }

    private void awaitListening() {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        synchronized (output) {
            while (!listening) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("jwsgi exited with " + process.exitValue() + " before listening:\n" + output);
                }
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    process.destroyForcibly();
                    throw new IllegalStateException("jwsgi did not listen within " + START_TIMEOUT + ":\n" + output);
                }
                try {
                    output.wait(Math.min(left, 200));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
        }
    }

    /** Waits until {@code errorLog} (its --error-logfile) says where the server listens and that it serves. */
    public ServerProcess awaitListening(Path errorLog) {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) throw new IllegalStateException("jwsgi exited with " + process.exitValue() + ":\n" + output);
            try {
                if (java.nio.file.Files.exists(errorLog)) {
                    String log = java.nio.file.Files.readString(errorLog);
                    Matcher m = LISTENING.matcher(log);
                    if (m.find() && m.group(1) != null && log.contains("Using worker:")) {
                        scheme = m.group(1);
                        host = m.group(2);
                        port = Integer.parseInt(m.group(3));
                        listening = true;
                        return this;
                    }
                }
                Thread.sleep(50);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        process.destroyForcibly();
        throw new IllegalStateException("jwsgi did not listen within " + START_TIMEOUT + ":\n" + output);
    }

    public int port() {
        return port;
    }

    public String host() {
        return host;
    }

    /** The base URL of the first TCP listener, e.g. http://127.0.0.1:41234 or https://... */
    public String url() {
        return scheme + "://" + host + ":" + port;
    }

    /** The master's pid: signals go there. */
    public long pid() {
        return process.pid();
    }

    /** The pids of the master's worker processes now, oldest first. */
    public List<Long> workerPids() {
        return process.toHandle().children().sorted(java.util.Comparator.comparing(
                h -> h.info().startInstant().orElse(java.time.Instant.MAX))).map(ProcessHandle::pid).toList();
    }

    /** The pid of the master's one worker process (where the app runs), once it has exactly one. */
    public long workerPid() {
        return awaitWorkers(1, List.of(), Duration.ofSeconds(30)).get(0);
    }

    /** Waits until the master has exactly {@code n} workers, none of them in {@code gone}; returns their pids. */
    public List<Long> awaitWorkers(int n, java.util.Collection<Long> gone, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<Long> now = workerPids();
            if (now.size() == n && now.stream().noneMatch(gone::contains)) return now;
            if (System.nanoTime() > deadline) {
                throw new AssertionError("expected " + n + " workers other than " + gone + ", found " + now + ":\n" + output());
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /** Everything the server wrote to stdout and stderr so far. */
    public String output() {
        return output.toString();
    }

    /** What the server wrote to stdout (the access log when it goes to '-'). */
    public String stdout() {
        return stdout.toString();
    }

    /** Waits until the output contains {@code text}, up to {@code timeout}. */
    public boolean awaitOutput(String text, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (output) {
            while (output.indexOf(text) < 0) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) return false;
                try {
                    output.wait(Math.min(left, 100));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        }
    }

    /** Sends a signal (e.g. "TERM", "INT", "KILL") to the server. */
    public void signal(String name) {
        try {
            new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start().waitFor();
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Waits for the process to exit and returns its exit code. */
    public int waitFor(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("jwsgi did not exit within " + timeout + ":\n" + output);
            }
            for (Thread pump : pumps) pump.join(2000);  // all output read
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** SIGTERM, then SIGKILL if it does not stop within 20 s. */
    @Override
    public void close() {
        if (!process.isAlive()) return;
        signal("TERM");
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
