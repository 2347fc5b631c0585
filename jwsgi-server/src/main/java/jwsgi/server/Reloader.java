package jwsgi.server;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import jwsgi.python.Interpreter;
import jwsgi.python.PythonException;
import jwsgi.python.PythonRuntime;
import jwsgi.python.PythonThread;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --reload}: watches the source file of every module the worker has imported (the set is
 * read again every two seconds, as modules imported later count too) and the
 * {@code --reload-extra-file}s, with the JDK's WatchService (inotify on Linux), and calls back
 * once when one of them is written, created or removed. The worker then asks to be replaced:
 * the new worker imports the changed code, and if it cannot, the old one goes on serving.
 *
 * <p>Threads: its own.
 */
final class Reloader implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Reloader.class);
    private static final long RESCAN_SECONDS = 2;
    /** How long {@link #close} waits for the thread to leave Python. */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(2);

    private final PythonRuntime runtime;
    /** The interpreter whose modules are watched: the main one, or the first sub-interpreter. */
    private final Interpreter interpreter;
    /** This thread's state in a sub-interpreter, made on first use. */
    private PythonThread own;
    private final Set<Path> extraFiles;
    private final Consumer<String> onChange;
    private final WatchService watcher;
    private final Map<WatchKey, Path> directories = new HashMap<>();
    private final Set<Path> files = new HashSet<>();
    private final Thread thread;

    private Reloader(PythonRuntime runtime, Interpreter interpreter, List<Path> extraFiles, Consumer<String> onChange,
                     WatchService watcher) {
        this.runtime = runtime;
        this.interpreter = interpreter;
        this.extraFiles = Set.copyOf(extraFiles);
        this.onChange = onChange;
        this.watcher = watcher;
        this.thread = Thread.ofPlatform().name("reloader").daemon(true).unstarted(this::watch);
    }

    /** Starts watching; returns null (after saying why) when files cannot be watched. */
    static Reloader start(PythonRuntime runtime, Interpreter interpreter, List<Path> extraFiles, Consumer<String> onChange) {
        try {
            Reloader r = new Reloader(runtime, interpreter, extraFiles, onChange, FileSystems.getDefault().newWatchService());
            r.thread.start();
            return r;
        } catch (IOException e) {
            LOG.error("--reload cannot watch files: {}", e.getMessage());
            return null;
        }
    }

    private void watch() {
        long nextScan = System.nanoTime() + TimeUnit.SECONDS.toNanos(RESCAN_SECONDS);
        try {
            rescan();
            while (true) {
                WatchKey key = watcher.poll(RESCAN_SECONDS, TimeUnit.SECONDS);
                if (key != null) {
                    Path dir = directories.get(key);
                    for (WatchEvent<?> event : key.pollEvents()) {
                        if (dir == null || !(event.context() instanceof Path name)) continue;
                        Path changed = dir.resolve(name);
                        if (files.contains(changed)) {
                            LOG.info("Worker reloading: {} modified", changed);
                            onChange.accept("--reload: " + changed + " changed");
                            return;
                        }
                    }
                    key.reset();
                }
                if (System.nanoTime() - nextScan > 0) {
                    rescan();
                    nextScan = System.nanoTime() + TimeUnit.SECONDS.toNanos(RESCAN_SECONDS);
                }
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            // closed: the worker is stopping
        } catch (IOException e) {
            LOG.error("--reload stops watching files: {}", e.getMessage());
        } finally {
            if (own != null) runtime.detach(own);
        }
    }

    /** Reads the imported modules' files again and watches any new directory. */
    private void rescan() throws IOException {
        Set<Path> now = new HashSet<>(extraFiles);
        try {
            now.addAll(moduleFiles());
        } catch (PythonException | IllegalStateException e) {
            LOG.debug("--reload cannot list the imported modules: {}", e.getMessage());
        }
        files.addAll(now);
        Set<Path> watched = new HashSet<>(directories.values());
        for (Path f : now) {
            Path dir = f.getParent();
            if (dir == null || watched.contains(dir) || !dir.toFile().isDirectory()) continue;
            WatchKey key = dir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                    StandardWatchEventKinds.ENTRY_DELETE);
            directories.put(key, dir);
            watched.add(dir);
        }
    }

    private List<Path> moduleFiles() {
        if (interpreter == runtime.main()) return runtime.onMainThread(this::moduleFiles);
        if (own == null) own = runtime.attach(interpreter);
        own.enter();
        try {
            return moduleFiles(interpreter);
        } finally {
            own.exit();
        }
    }

    private List<Path> moduleFiles(Interpreter py) {
        List<Path> paths = new ArrayList<>();
        for (Object file : (List<?>) py.callGlue("_jwsgi", "module_files")) paths.add(Path.of((String) file));
        return List.copyOf(paths);
    }

    /**
     * Stops watching and waits (bounded: a rescan may be waiting for the GIL) for the thread to
     * detach from Python, which the worker finalises next.
     */
    @Override
    public void close() {
        thread.interrupt();
        try {
            watcher.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
        try {
            thread.join(CLOSE_WAIT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
