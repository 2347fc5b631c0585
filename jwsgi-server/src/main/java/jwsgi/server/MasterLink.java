package jwsgi.server;

import java.time.Duration;

import jwsgi.posix.Libc;
import jwsgi.posix.Processes;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's end of the pipe to its master: it says when the worker is ready or wants to be
 * replaced, and a thread of its own beats every second so the master can tell a wedged worker
 * (see {@link ControlMessage}). When the master is gone (killed with -9: the pipe breaks, or
 * the worker's parent changes), the worker stops gracefully rather than serve on unsupervised.
 *
 * <p>Threads: {@link #send} from any thread (a pipe write of one short line is atomic).
 */
final class MasterLink implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MasterLink.class);
    static final Duration BEAT_INTERVAL = Duration.ofSeconds(1);

    private final int masterPid;
    private final Runnable onMasterGone;
    private final Thread beats;
    private volatile boolean closed;
    private volatile boolean gone;

    private MasterLink(int masterPid, Runnable onMasterGone) {
        this.masterPid = masterPid;
        this.onMasterGone = onMasterGone;
        this.beats = Thread.ofPlatform().name("master-link").daemon(true).unstarted(this::beat);
    }

    /** Starts beating; {@code onMasterGone} runs once if the master goes away. */
    static MasterLink start(Runnable onMasterGone) {
        MasterLink link = new MasterLink(Processes.getppid(), onMasterGone);
        link.beats.start();
        return link;
    }

    void send(ControlMessage message) {
        if (closed || gone) return;
        try {
            Processes.write(WorkerIdentity.CONTROL_FD, message.encode());
        } catch (Libc.Failure e) {
            masterGone("cannot write to the master: " + e.getMessage());
        }
    }

    private void beat() {
        while (!closed) {
            try {
                Thread.sleep(BEAT_INTERVAL);
            } catch (InterruptedException e) {
                return;
            }
            if (Processes.getppid() != masterPid) {
                masterGone("the master (pid " + masterPid + ") has exited");
                return;
            }
            send(ControlMessage.BEAT);
        }
    }

    private void masterGone(String why) {
        synchronized (this) {
            if (gone || closed) return;
            gone = true;
        }
        LOG.error("Stopping: {}; a worker does not serve without its master", why);
        onMasterGone.run();
    }

    @Override
    public void close() {
        closed = true;
        beats.interrupt();
    }
}
