package jwsgi.ops;

import java.util.Map;

import jwsgi.posix.Signal;

/**
 * What the control socket asks the master to do. The master does it on its own thread (each
 * call waits for that), so a command changes its state exactly as the matching signal would.
 *
 * <p>Threads: the control socket's; implementations hand the work to the master's loop.
 */
public interface ControlCommands {
    /** gunicorn's {@code worker add N}: as N × TTIN; returns {@code added}, {@code previous}, {@code total}. */
    Map<String, Object> addWorkers(int count);

    /** gunicorn's {@code worker remove N}: as N × TTOU, never below one; returns {@code removed}, {@code previous}, {@code total}. */
    Map<String, Object> removeWorkers(int count);

    /** gunicorn's {@code worker kill PID}: stops that worker gracefully (it is replaced); returns {@code success} and {@code killed} or {@code error}. */
    Map<String, Object> killWorker(int pid);

    /** What the matching signal does: HUP (reload), USR1 (reopen the logs), TERM or INT (stop). */
    void signal(Signal signal);
}
