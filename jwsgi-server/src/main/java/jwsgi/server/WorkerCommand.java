package jwsgi.server;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import jwsgi.config.ConfigException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The command line and environment of a worker process: this JVM's java, with a worker's JVM
 * options (jwsgi's defaults and its AOT cache, then {@code JWSGI_JAVA_OPTS}, which also reach the master through
 * the {@code jwsgi} launcher, then {@code JWSGI_WORKER_JAVA_OPTS}: the last one given wins),
 * this class path, {@link Main} and the master's own arguments: each worker reads the same
 * settings the master read. The master's own JVM options are not passed on: a master needs far
 * less than a worker. A collector the user picks replaces the serial one; options that keep a
 * worker's JVM from starting are looked into when the first worker dies at boot
 * ({@link #startable}), so a server with sound options pays nothing for it.
 */
final class WorkerCommand {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerCommand.class);
    /** JVM options for every jwsgi JVM (the launcher gives them to the master). */
    static final String ENV_JAVA_OPTS = "JWSGI_JAVA_OPTS";
    /** JVM options for the workers only, e.g. "-Xmx512m". */
    static final String ENV_WORKER_JAVA_OPTS = "JWSGI_WORKER_JAVA_OPTS";
    /** Where the user's JVM options come from, in the order they are given (the last one given wins). */
    private static final List<String> USER_OPTION_VARIABLES = List.of(ENV_JAVA_OPTS, ENV_WORKER_JAVA_OPTS);

    /**
     * A worker's JVM, each option with its reason (the measurements: docs/benchmarks.md, "Measurements
     * behind design choices").
     * <ul>
     *   <li>the serial collector: the heap is small and a worker has a few Java threads, so the
     *       parallel collectors only add threads and footprint;</li>
     *   <li>a small young generation and a heap that starts small and keeps little free room:
     *       one sized from the machine's memory grows to many touched pages per worker, and what
     *       a request leaves behind dies young anyway;</li>
     *   <li>a bounded heap: the serial collector enlarges its old generation instead of
     *       collecting it until the heap reaches its maximum (by default a quarter of the
     *       machine's memory), so what closed connections leave would pile up there for good.
     *       Direct buffers, where request bodies and responses are staged, keep the JVM's default
     *       limit, a quarter of the memory;</li>
     *   <li>the JDK's class-data archive mapped where it was built: relocating it makes most of
     *       its pages private instead of shared by every worker;</li>
     *   <li>native memory freed by the JIT compilers handed back to the system every 2 s
     *       (malloc_trim): C2's arenas otherwise stay with the process;</li>
     *   <li>a crash report (a C extension's SIGSEGV) where the master looks for it.</li>
     * </ul>
     */
    static List<String> jvmDefaults(boolean collectorChosen) {
        List<String> options = new ArrayList<>(List.of("--enable-native-access=ALL-UNNAMED"));
        if (!collectorChosen) options.addAll(List.of("-XX:+UseSerialGC", "-Xmn4m"));
        options.addAll(List.of(
                "-Xms8m", "-Xmx" + MAX_HEAP_MB + "m", "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=30",
                "-XX:MaxDirectMemorySize=" + Math.max(MAX_HEAP_MB << 20, totalMemory() / 4),
                "-XX:+UnlockDiagnosticVMOptions", "-XX:ArchiveRelocationMode=0", "-XX:TrimNativeHeapInterval=2000",
                "-XX:ErrorFile=" + crashReport("%p")));
        return options;
    }

    /**
     * An option that picks a collector. The user's pick replaces the serial collector and its
     * young-generation size (a JVM given two collectors refuses to start, and a fixed young
     * generation would stop G1 or ZGC from sizing their own).
     */
    private static final Pattern COLLECTOR = Pattern.compile("-XX:\\+Use(Serial|Parallel|G1|Z|Shenandoah|Epsilon)GC");

    /** A worker's Java heap, at most; JWSGI_WORKER_JAVA_OPTS=-Xmx... overrides it. */
    private static final long MAX_HEAP_MB = 256;

    /** The memory the JVM sees: the machine's, or the container's limit. */
    private static long totalMemory() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
    }

    /**
     * The system property through which the {@code jwsgi} launcher names the workers' AOT cache,
     * trained once per build: workers that map it start sooner and compile their hot code from
     * its profiles instead of waiting for their own. The JVM skips a cache it cannot use.
     */
    static final String AOT_CACHE_PROPERTY = "jwsgi.workerAotCache";

    /** The options that map the workers' AOT cache, if the launcher named one that exists. */
    static List<String> aotCache(String cache) {
        if (cache == null || !Files.isRegularFile(Path.of(cache))) return List.of();
        return List.of("-XX:AOTCache=" + cache, "-Xlog:aot*=off", "-Xlog:cds*=off");
    }

    /** Where a worker JVM writes its crash report: the temp directory, named by its pid ({@code %p} for the JVM to fill in). */
    static Path crashReport(String pid) {
        return Path.of(System.getProperty("java.io.tmpdir"), "jwsgi-worker-hs_err_pid" + pid + ".log");
    }

    /** Boilerplate a JVM prints when it cannot start, which says nothing of why. */
    private static final List<String> JVM_BOILERPLATE = List.of(
            "Error: Could not create the Java Virtual Machine.", "Error: A fatal exception has occurred. Program will exit.",
            "Error occurred during initialization of VM", "unrecoverable error");
    /** How long a JVM started only to print its version may take. */
    private static final long TRIAL_SECONDS = 30;

    private final List<String> jvm;
    private final List<String> cache;
    private final List<String> userOptions;
    private final String classPath;
    private final List<String> args;
    private final Map<String, String> environment;

    private WorkerCommand(List<String> jvm, List<String> cache, List<String> userOptions, String classPath,
                          List<String> args, Map<String, String> environment) {
        this.jvm = jvm;
        this.cache = cache;
        this.userOptions = userOptions;
        this.classPath = classPath;
        this.args = args;
        this.environment = environment;
    }

    /** The command for the workers of this master, started with {@code args}. */
    static WorkerCommand of(String[] args, Map<String, String> env) {
        return of(args, env, System.getProperty(AOT_CACHE_PROPERTY), absoluteClassPath());
    }

    /** The command with the AOT cache at {@code cacheFile} (if it exists) and {@code classPath}. */
    static WorkerCommand of(String[] args, Map<String, String> env, String cacheFile, String classPath) {
        List<String> user = new ArrayList<>();
        for (String name : USER_OPTION_VARIABLES) {
            String options = env.get(name);
            if (options != null && !options.isBlank()) user.addAll(List.of(options.strip().split("\\s+")));
        }
        List<String> jvm = new ArrayList<>();
        jvm.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        jvm.addAll(jvmDefaults(user.stream().anyMatch(o -> COLLECTOR.matcher(o).matches())));
        return new WorkerCommand(List.copyOf(jvm), aotCache(cacheFile), List.copyOf(user), classPath, List.of(args), Map.copyOf(env));
    }

    /** The variables the user's JVM options came from, as {@code NAME="value"}, for messages. */
    private String userSources() {
        return USER_OPTION_VARIABLES.stream().filter(name -> environment.get(name) != null && !environment.get(name).isBlank())
                .map(name -> name + "=\"" + environment.get(name).strip() + "\"").collect(Collectors.joining(" "));
    }

    /**
     * The command to go on with once a worker died at boot, when the cause may be the JVM
     * options: this one if a JVM starts with them (the cause lies elsewhere), or the same without
     * the AOT cache if only the cache is in the way (some heap settings rule it out: the JVM
     * then refuses to start rather than run without it), with a warning.
     *
     * @throws ConfigException if no JVM starts with the user's options; its message has the
     *                         JVM's reason and names the variables they came from
     */
    WorkerCommand startable() throws ConfigException {
        String refusal = refusal(true);
        if (refusal == null) return this;
        if (!cache.isEmpty() && refusal(false) == null) {
            LOG.warn("The workers cannot use jwsgi's AOT cache with the JVM options {} (the JVM says: {}); "
                    + "they start without it, about a second slower", userOptions.isEmpty() ? "jwsgi gives them" : userSources(), refusal);
            return new WorkerCommand(jvm, List.of(), userOptions, classPath, args, environment);
        }
        if (userOptions.isEmpty()) return this;
        throw new ConfigException("a worker's JVM does not start with the JVM options " + userSources() + ": " + refusal
                + " Fix or remove them (jwsgi's own options for a worker come first: "
                + String.join(" ", jvm.subList(1, jvm.size())) + ").");
    }

    /**
     * Why a JVM with this command's options, asked only for its version, does not start (what it
     * printed, without the boilerplate), or null if it starts. The class path is the workers',
     * against which the JVM checks the AOT cache.
     */
    private String refusal(boolean withCache) {
        List<String> command = new ArrayList<>(jvm);
        if (withCache) command.addAll(cache);
        command.addAll(userOptions);
        // The cache's options silence its messages; here they say why it cannot be used.
        command.add("-Xlog:aot=error");
        command.addAll(List.of("-cp", classPath, "-version"));
        Path output = null;
        Process java = null;
        try {
            output = Files.createTempFile("jwsgi-jvm-trial", ".txt");
            java = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
            if (!java.waitFor(TRIAL_SECONDS, TimeUnit.SECONDS)) {
                LOG.warn("A JVM with the workers' options did not start within {} s; cannot tell whether they are the trouble", TRIAL_SECONDS);
                return null;
            }
            if (java.exitValue() == 0) return null;
            String said = Files.readAllLines(output).stream()
                    .map(line -> line.replaceFirst("^(\\[[^]]*\\])+\\s*", "").strip())
                    .filter(line -> !line.isEmpty() && !JVM_BOILERPLATE.contains(line)
                            && !line.startsWith("An error has occurred while processing the AOT cache"))
                    .collect(Collectors.joining(" "));
            return said.isEmpty() ? "it exited with code " + java.exitValue() + "." : said;
        } catch (IOException e) {
            LOG.warn("Cannot start a JVM to check the workers' options: {}", e.getMessage());
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            // Also when the wait timed out or was interrupted: the trial JVM must not outlive it.
            if (java != null) java.destroyForcibly();
            if (output != null) {
                try {
                    Files.deleteIfExists(output);
                } catch (IOException e) {
                    LOG.debug("Cannot delete {}: {}", output, e.getMessage());
                }
            }
        }
    }

    /** The class path with every entry absolute, so it holds whatever directory a worker starts in. */
    private static String absoluteClassPath() {
        List<String> entries = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!e.isEmpty()) entries.add(Path.of(e).toAbsolutePath().normalize().toString());
        }
        return String.join(File.pathSeparator, entries);
    }

    List<String> argv() {
        List<String> argv = new ArrayList<>(jvm);
        argv.addAll(cache);
        argv.addAll(userOptions);
        argv.addAll(List.of("-cp", classPath, Main.class.getName()));
        argv.addAll(args);
        return argv;
    }

    /** The environment of the worker with {@code identity}. */
    Map<String, String> environment(WorkerIdentity identity) {
        Map<String, String> env = new LinkedHashMap<>(environment);
        env.put(WorkerIdentity.ENV, identity.encode());
        return env;
    }
}
