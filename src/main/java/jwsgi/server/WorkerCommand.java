package jwsgi.server;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The command line and environment of a worker process: this JVM's java, with a worker's JVM
 * options (jwsgi's defaults and its AOT cache, then {@code JWSGI_JAVA_OPTS}, which also reach the master through
 * the {@code jwsgi} launcher, then {@code JWSGI_WORKER_JAVA_OPTS}: the last one given wins),
 * this class path, {@link Main} and the master's own arguments: each worker reads the same
 * settings the master read. The master's own JVM options are not passed on: a master needs far
 * less than a worker.
 */
final class WorkerCommand {
    /** JVM options for every jwsgi JVM (the launcher gives them to the master). */
    static final String ENV_JAVA_OPTS = "JWSGI_JAVA_OPTS";
    /** JVM options for the workers only, e.g. "-Xmx512m". */
    static final String ENV_WORKER_JAVA_OPTS = "JWSGI_WORKER_JAVA_OPTS";

    /**
     * A worker's JVM: measured in bench/workers.py (RSS, start time, throughput), each with a reason.
     * <ul>
     *   <li>the serial collector: the heap is small and a worker has a few Java threads, so the
     *       parallel collectors only add threads and footprint;</li>
     *   <li>a small young generation: sized from the machine's memory, it grows to a hundred MB
     *       of touched pages per worker (a worker measured 210 MB RSS against 112 MB with 8 MB);
     *       what a request leaves behind dies young, so collections stay short;</li>
     *   <li>a bounded heap: the serial collector enlarges its old generation instead of
     *       collecting it until the heap reaches its maximum, by default a quarter of the
     *       machine's memory, so what connections leave behind when they close piled up there
     *       (about 2 KB each: a worker that has served millions of connections would grow to
     *       gigabytes). With a bound, a full collection empties it; a worker's own objects take a
     *       few MB per thousand open connections. Direct buffers, where request bodies and
     *       responses are staged, keep the JVM's default limit, a quarter of the memory;</li>
     *   <li>the JDK's class-data archive mapped where it was built rather than at a random
     *       address: relocating it writes to most of its pages, about 8 MB more private memory
     *       per JVM, while unmodified pages are shared by every worker;</li>
     *   <li>native memory freed by the JIT compilers handed back to the system every 2 s
     *       (malloc_trim): C2's arenas otherwise stay with the process, some 25 MB of a worker
     *       serving Flask (146 MB RSS against 120 MB); C2 itself stays, serving twice the
     *       requests per second of C1 alone;</li>
     *   <li>a crash report (a C extension's SIGSEGV) where the master looks for it.</li>
     * </ul>
     */
    static List<String> jvmDefaults() {
        return List.of(
                "--enable-native-access=ALL-UNNAMED",
                "-XX:+UseSerialGC", "-Xms16m", "-Xmn8m", "-Xmx" + MAX_HEAP_MB + "m",
                "-XX:MaxDirectMemorySize=" + Math.max(MAX_HEAP_MB << 20, totalMemory() / 4),
                "-XX:+UnlockDiagnosticVMOptions", "-XX:ArchiveRelocationMode=0", "-XX:TrimNativeHeapInterval=2000",
                "-XX:ErrorFile=" + crashReport("%p"));
    }

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

    private final List<String> argv;
    private final Map<String, String> environment;

    private WorkerCommand(List<String> argv, Map<String, String> environment) {
        this.argv = argv;
        this.environment = environment;
    }

    /** The command for the workers of this master, started with {@code args}. */
    static WorkerCommand of(String[] args, Map<String, String> env) {
        List<String> argv = new ArrayList<>();
        argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        argv.addAll(jvmDefaults());
        argv.addAll(aotCache(System.getProperty(AOT_CACHE_PROPERTY)));
        for (String name : List.of(ENV_JAVA_OPTS, ENV_WORKER_JAVA_OPTS)) {
            String options = env.get(name);
            if (options != null && !options.isBlank()) argv.addAll(List.of(options.strip().split("\\s+")));
        }
        argv.add("-cp");
        argv.add(absoluteClassPath());
        argv.add(Main.class.getName());
        argv.addAll(List.of(args));
        return new WorkerCommand(List.copyOf(argv), Map.copyOf(env));
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
        return argv;
    }

    /** The environment of the worker with {@code identity}. */
    Map<String, String> environment(WorkerIdentity identity) {
        Map<String, String> env = new LinkedHashMap<>(environment);
        env.put(WorkerIdentity.ENV, identity.encode());
        return env;
    }
}
