package jwsgi.ops;

import java.util.List;
import java.util.Map;

/**
 * What the master is doing, as the operations endpoints show it: a value the master's loop
 * publishes after every change, read by the threads of the metrics listener and the control
 * socket without touching the master's own state.
 *
 * @param pid       the master's
 * @param startedMillis when the master started (epoch milliseconds)
 * @param target    the number of worker processes the master keeps
 * @param stopping  a graceful or quick stop has begun: no longer ready for traffic
 * @param workers   every worker process, oldest first
 * @param restarts  workers replaced so far, by cause
 * @param spawned   worker processes started so far
 * @param reloads   reloads (HUP) so far
 * @param listeners the listening addresses, as URLs
 */
public record ServerStatus(long pid, long startedMillis, int target, boolean stopping, List<Worker> workers,
                           Map<String, Long> restarts, long spawned, long reloads, List<String> listeners) {
    public ServerStatus {
        workers = List.copyOf(workers);
        restarts = Map.copyOf(restarts);
        listeners = List.copyOf(listeners);
    }

    /**
     * One worker process.
     *
     * @param pid            its process id
     * @param age            gunicorn's age: 1 for the first worker, counting up
     * @param slot           its slot in the metrics table (label {@code worker} is slot + 1), -1 without one
     * @param state          booting, ready, retiring, stopping or killing
     * @param lastHeardNanos when it last said anything ({@link System#nanoTime()}): its heartbeat
     */
    public record Worker(int pid, int age, int slot, String state, long lastHeardNanos) {
        /** Serving requests: ready, or retiring (it serves until its replacement is ready). */
        public boolean serving() {
            return state.equals("ready") || state.equals("retiring");
        }
    }

    /** The master is alive (it published this) and at least one worker serves. */
    public boolean healthy() {
        return workers.stream().anyMatch(Worker::serving);
    }

    /** Healthy, and not stopping: a load balancer may send requests. */
    public boolean ready() {
        return !stopping && healthy();
    }
}
