package jwsgi.server;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jwsgi.config.Bind;

/**
 * What the master tells a worker process it spawns, through one environment variable: the
 * worker's age (gunicorn's {@code worker.age}: 1 for the first worker, counting up), which
 * {@code --bind} is the listener it inherits as standard input, the actual port of every bind
 * (a bind to port 0 got its port in the master), its place among the workers started at
 * the same moment, and its slot in the metrics table. Descriptor 3 is the pipe to the master,
 * 4 the table of the workers' connections, 5 the metrics table.
 *
 * @param age         the worker's number
 * @param sharedBind  the index of the bind whose listener is the worker's standard input
 * @param ports       the actual port of each bind, in order (0 for a Unix socket)
 * @param batchIndex  0 for the first (or only) worker started at a moment, 1 for the next, ...:
 *                    workers started together stagger their --max-requests replacement by it
 * @param metricsSlot where in the metrics table the worker counts; -1 without metrics
 * @param activated   the socket systemd passed the master (socket activation), which is then the
 *                    one bind whatever --bind says; null otherwise
 */
record WorkerIdentity(int age, int sharedBind, List<Integer> ports, int batchIndex, int metricsSlot, Bind activated) {
    /** Internal: a user who sets it starts a worker without a master, which refuses to run. */
    static final String ENV = "_JWSGI_WORKER";
    /** The listener shared by all workers: standard input, where {@link System#inheritedChannel()} looks. */
    static final int LISTENER_FD = 0;
    /** The worker's end of the pipe to the master. */
    static final int CONTROL_FD = 3;
    /** The master's {@link ConnectionTable}, when it has one. */
    static final int CONNECTIONS_FD = 4;
    /** The master's {@code MetricsTable}, with --metrics-bind. */
    static final int METRICS_FD = 5;

    WorkerIdentity(int age, int sharedBind, List<Integer> ports, int batchIndex) {
        this(age, sharedBind, ports, batchIndex, -1, null);
    }

    String encode() {
        StringBuilder p = new StringBuilder();
        for (int port : ports) p.append(p.isEmpty() ? "" : ",").append(port);
        String slot = metricsSlot < 0 ? "" : ";slot=" + metricsSlot;
        String bind = activated == null ? "" : ";activated=" + URLEncoder.encode(activated.authority(activated.port()), StandardCharsets.UTF_8);
        return "age=" + age + ";shared=" + sharedBind + ";ports=" + p + ";batch=" + batchIndex + slot + bind;
    }

    /**
     * The identity in {@code env}, if this process is a worker.
     *
     * @throws IllegalArgumentException when the variable is set but malformed
     */
    static Optional<WorkerIdentity> from(Map<String, String> env) {
        String value = env.get(ENV);
        if (value == null) return Optional.empty();
        try {
            int age = -1;
            int shared = -1;
            int batch = -1;
            int slot = -1;
            Bind activated = null;
            List<Integer> ports = new ArrayList<>();
            for (String part : value.split(";")) {
                String[] kv = part.split("=", 2);
                switch (kv[0]) {
                    case "age" -> age = Integer.parseInt(kv[1]);
                    case "shared" -> shared = Integer.parseInt(kv[1]);
                    case "batch" -> batch = Integer.parseInt(kv[1]);
                    case "slot" -> slot = Integer.parseInt(kv[1]);
                    case "activated" -> activated = Bind.parse(URLDecoder.decode(kv[1], StandardCharsets.UTF_8));
                    case "ports" -> {
                        for (String p : kv[1].split(",")) if (!p.isEmpty()) ports.add(Integer.parseInt(p));
                    }
                    default -> throw new IllegalArgumentException(part);
                }
            }
            if (age < 1 || shared < 0 || shared >= ports.size() || batch < 0) throw new IllegalArgumentException(value);
            return Optional.of(new WorkerIdentity(age, shared, List.copyOf(ports), batch, slot, activated));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(ENV + "=" + value + " is not a jwsgi worker identity; it is set by jwsgi's master "
                    + "for the worker processes it starts, so unset it", e);
        }
    }
}
