package jwsgi.server;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;

import jwsgi.config.Bind;
import jwsgi.config.Settings;
import jwsgi.metrics.MetricsTable;
import jwsgi.ops.ControlCommands;
import jwsgi.ops.ControlSocket;
import jwsgi.ops.OpsServer;
import jwsgi.ops.ServerStatus;
import jwsgi.ops.Systemd;
import jwsgi.posix.Libc;
import jwsgi.posix.Signal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the master shows and answers to operators, apart from its loop: the metrics table its
 * workers count in (a slot each), the {@code --metrics-bind} listener, systemd's notifications
 * and the control socket. The master tells it what happens ({@link #publish} after every
 * event); the listener and the socket read only what was published, and a command that changes
 * something runs on the master's thread ({@link Master.Event.Call}).
 *
 * <p>Threads: the master's main thread, except the {@link ControlCommands} and
 * {@link ControlSocket.ServerStatusSource} methods (the control socket's threads).
 */
final class MasterOps implements AutoCloseable, ControlCommands, ControlSocket.ServerStatusSource {
    private static final Logger LOG = LoggerFactory.getLogger(MasterOps.class);
    /** How long a control command waits for the master's loop (it is busy only while a hook runs). */
    private static final long COMMAND_WAIT_SECONDS = 10;
    /** The causes a worker is replaced for: each series exists from the start, at 0. */
    static final List<String> RESTART_CAUSES = List.of(ControlMessage.MAX_REQUESTS, ControlMessage.HUNG_REQUEST,
            ControlMessage.FILE_CHANGED, "reload", "crash", "boot_failure", "no_heartbeat", "control");
    /** gunicorn's {@code show config} keys (handlers.py), plus jwsgi's own. */
    private static final List<String> CONFIG_KEYS = List.of("bind", "workers", "worker_class", "threads", "timeout", "graceful_timeout",
            "keepalive", "max_requests", "max_requests_jitter", "worker_connections", "preload_app", "daemon", "pidfile",
            "proc_name", "reload", "control_socket", "control_socket_disable", "metrics_bind");

    /** What the master can be asked to do on its own thread. */
    interface Control {
        /** Changes --workers by {@code delta}; returns the number before and after. */
        int[] scale(int delta);

        /** Stops worker {@code pid} gracefully; false when the master has no such worker. */
        boolean stopWorker(int pid);
    }

    private final long pid;
    private final long startedMillis = System.currentTimeMillis();
    private final Consumer<Master.Event> events;
    private final Control control;
    private final Systemd systemd = Systemd.from(System.getenv());
    private final MetricsTable table;
    private final boolean[] slotTaken = new boolean[MetricsTable.SLOTS];
    private final Map<String, Long> restarts = new LinkedHashMap<>();
    /** Slots ever given out: the scrape reads those (their counters outlive their workers). */
    private volatile int slotsUsed;
    private volatile ServerStatus status;
    private volatile Map<String, Object> config = Map.of();
    private OpsServer opsServer;
    private ControlSocket controlSocket;
    private List<String> listeners = List.of();
    private long spawned;
    private long reloads;
    private boolean readyOnce;
    private boolean reloading;

    private MasterOps(long pid, Consumer<Master.Event> events, Control control, MetricsTable table) {
        this.pid = pid;
        this.events = events;
        this.control = control;
        this.table = table;
        for (String cause : RESTART_CAUSES) restarts.put(cause, 0L);
        this.status = new ServerStatus(pid, startedMillis, 0, false, List.of(), restarts, 0, 0, List.of());
    }

    /**
     * Opens what the settings ask for: the metrics table and listener, the control socket.
     *
     * @return null when --metrics-bind cannot be bound (the operator asked for it: the start fails), as logged
     */
    static MasterOps start(Settings settings, long pid, Consumer<Master.Event> events, Control control) {
        MetricsTable table = null;
        if (settings.ops().metricsBind() != null) {
            try {
                table = MetricsTable.create();
            } catch (Libc.Failure e) {
                LOG.warn("The workers' requests will not be counted (/metrics shows only the master's series): {}", e.getMessage());
            }
        }
        MasterOps ops = new MasterOps(pid, events, control, table);
        ops.settingsChanged(settings);
        Bind metrics = settings.ops().metricsBind();
        if (metrics != null) {
            try {
                ops.opsServer = OpsServer.start(metrics, () -> ops.status, table, () -> ops.slotsUsed);
            } catch (IOException e) {
                LOG.error("Cannot serve metrics on {}: {}", metrics.authority(metrics.port()), e.getMessage());
                return null;
            }
            LOG.info("Metrics at http://{}/metrics, health at /healthz and /readyz", metrics.authority(ops.opsServer.port()));
        }
        ops.openControlSocket(settings);
        return ops;
    }

    private void openControlSocket(Settings settings) {
        if (settings.ops().controlSocket() == null) return;
        try {
            controlSocket = ControlSocket.start(settings.ops().controlSocket(), settings.ops().controlSocketMode(), this, this);
            LOG.info("Control socket listening at {}", controlSocket.path());
        } catch (IOException e) {
            LOG.warn("No control socket: {} (give --control-socket a path of this server's own, or --no-control-socket)",
                    e.getMessage());
        }
    }

    /** The settings (re)loaded: what {@code show config} answers. */
    void settingsChanged(Settings settings) {
        Map<String, Object> shown = new LinkedHashMap<>();
        for (String key : CONFIG_KEYS) {
            if (settings.effective().containsKey(key)) shown.put(key, jsonValue(settings.effective().get(key)));
        }
        config = shown;
    }

    void listenersChanged(List<String> urls) {
        listeners = List.copyOf(urls);
    }

    // ---- the metrics table ------------------------------------------------------------------

    /** A free slot for a worker about to start, or -1 without metrics (or with every slot taken). */
    int claimSlot() {
        if (table == null) return -1;
        for (int i = 0; i < slotTaken.length; i++) {
            if (slotTaken[i]) continue;
            slotTaken[i] = true;
            table.resetGauges(i);
            slotsUsed = Math.max(slotsUsed, i + 1);
            return i;
        }
        LOG.warn("More than {} workers at once: the new one's requests are not counted", MetricsTable.SLOTS);
        return -1;
    }

    /** The worker in {@code slot} ended (or never started): its gauges go, its counters stay for the next. */
    void releaseSlot(int slot) {
        if (slot < 0 || table == null) return;
        table.resetGauges(slot);
        slotTaken[slot] = false;
    }

    /** The descriptors a worker inherits for metrics: the table, when there is one. */
    Map<Integer, Integer> descriptors() {
        return table == null ? Map.of() : Map.of(WorkerIdentity.METRICS_FD, table.fd());
    }

    // ---- what happens -----------------------------------------------------------------------

    void spawned() {
        spawned++;
    }

    void restarted(String cause) {
        restarts.merge(cause, 1L, Long::sum);
    }

    /** A worker serves; {@code complete} when the current generation has every worker it should. */
    void serving(boolean complete, int workers) {
        if (!readyOnce) {
            readyOnce = true;
            systemd.ready("Serving with " + workers + " worker" + (workers == 1 ? "" : "s"));
        } else if (reloading && complete) {
            reloading = false;
            systemd.ready("Reloaded: serving with " + workers + " new worker" + (workers == 1 ? "" : "s"));
        }
    }

    void reloading() {
        reloads++;
        reloading = true;
        systemd.reloading("Reloading: starting new workers");
    }

    void stopping(boolean graceful) {
        systemd.stopping(graceful ? "Stopping: the workers finish their requests" : "Stopping quickly");
    }

    /** Shows the master's state from now on. */
    void publish(Collection<WorkerHandle> workers, int target, boolean stopping) {
        List<ServerStatus.Worker> shown = new ArrayList<>();
        for (WorkerHandle w : workers) {
            shown.add(new ServerStatus.Worker(w.pid, w.age, w.slot, w.state().name().toLowerCase(), w.lastHeard()));
        }
        shown.sort((a, b) -> Integer.compare(a.age(), b.age()));
        status = new ServerStatus(pid, startedMillis, target, stopping, shown, restarts, spawned, reloads, listeners);
    }

    // ---- the control socket's side ----------------------------------------------------------

    @Override
    public ServerStatus status() {
        return status;
    }

    @Override
    public Map<String, Object> config() {
        return config;
    }

    @Override
    public Map<String, Object> addWorkers(int count) {
        int[] change = onMaster(() -> control.scale(count));
        return Map.of("added", change[1] - change[0], "previous", change[0], "total", change[1]);
    }

    @Override
    public Map<String, Object> removeWorkers(int count) {
        int[] change = onMaster(() -> control.scale(-count));
        return Map.of("removed", change[0] - change[1], "previous", change[0], "total", change[1]);
    }

    @Override
    public Map<String, Object> killWorker(int workerPid) {
        boolean found = onMaster(() -> {
            boolean stopped = control.stopWorker(workerPid);
            if (stopped) restarted("control");
            return stopped;
        });
        return found ? Map.of("success", true, "killed", workerPid) : Map.of("success", false, "error", "Worker " + workerPid + " not found");
    }

    @Override
    public void signal(Signal signal) {
        events.accept(new Master.Event.Signalled(signal));
    }

    /** Runs {@code action} on the master's thread and returns its result. */
    private <T> T onMaster(Supplier<T> action) {
        CompletableFuture<T> result = new CompletableFuture<>();
        events.accept(new Master.Event.Call(() -> {
            try {
                result.complete(action.get());
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        }));
        try {
            return result.get(COMMAND_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("the master did not answer within " + COMMAND_WAIT_SECONDS + " s (a server hook is running?)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }

    private static Object jsonValue(Object value) {
        return switch (value) {
            case null -> null;
            case String s -> s;
            case Number n -> n;
            case Boolean b -> b;
            case Collection<?> c -> c.stream().map(MasterOps::jsonValue).toList();
            default -> value.toString();
        };
    }

    /** Closes the control socket (removing its file) and the metrics listener. */
    @Override
    public void close() {
        if (controlSocket != null) controlSocket.close();
        if (opsServer != null) opsServer.close();
    }
}
