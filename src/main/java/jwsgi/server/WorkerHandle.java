package jwsgi.server;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

import jwsgi.posix.Libc;
import jwsgi.posix.Processes;
import jwsgi.posix.Sockets;

/**
 * The master's view of one worker process: its pid and age, where it is in its life, and two
 * threads that turn what it does into master events: one reads its pipe ({@link ControlMessage}
 * lines), one waits for it to exit and reaps it.
 *
 * <p>Threads: the fields are the master's main thread's; the two threads only post events.
 */
final class WorkerHandle {
    /** Where a worker is in its life. */
    enum State {
        /** Started; importing the app. */
        BOOTING,
        /** Serving. */
        READY,
        /** Serving, until a replacement is ready (it asked to be replaced, or a reload began). */
        RETIRING,
        /** Told to stop (TERM or INT); its exit is awaited. */
        STOPPING,
        /** Silent for too long: sent QUIT (a JVM thread dump), to be killed. */
        KILLING
    }

    final int age;
    final int pid;
    /** Reload generation: workers of older generations are replaced. */
    final int generation;
    /** What it was started with. */
    final WorkerCommand command;
    State state = State.BOOTING;
    long lastBeatNanos;
    /** When the master last signalled it (STOPPING, KILLING). */
    long signalledNanos;
    /** The code a worker that could not boot announced before exiting, or -1. */
    int bootError = -1;
    /** The master killed it (it did not stop in time, or stopped beating): its SIGKILL is no mystery. */
    boolean killedByMaster;

    private WorkerHandle(int age, int pid, int generation, WorkerCommand command) {
        this.age = age;
        this.pid = pid;
        this.generation = generation;
        this.command = command;
        this.lastBeatNanos = System.nanoTime();
    }

    /**
     * Tracks a spawned worker: {@code controlFd} is the master's end of its pipe, which the
     * reader closes at end of file.
     */
    static WorkerHandle track(int age, int pid, int generation, WorkerCommand command, int controlFd, Consumer<Master.Event> events) {
        WorkerHandle w = new WorkerHandle(age, pid, generation, command);
        Thread.ofPlatform().name("worker-" + age + "-pipe").daemon(true).start(() -> w.read(controlFd, events));
        Thread.ofPlatform().name("worker-" + age + "-wait").daemon(true).start(() -> events.accept(new Master.Event.Exited(w, reap(pid))));
        return w;
    }

    /**
     * Waits for the worker to end. Whatever happens, the master hears of it: a wait that fails
     * (or a worker that is no longer our child) is reported as an exit with code 0, so the
     * master does not keep a worker that is gone.
     */
    private static Processes.Exit reap(int pid) {
        try {
            return Processes.waitFor(pid).orElse(new Processes.Exit(0, 0, false));
        } catch (RuntimeException e) {
            return new Processes.Exit(0, 0, false);
        }
    }

    private void read(int fd, Consumer<Master.Event> events) {
        byte[] buffer = new byte[512];
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        try {
            while (true) {
                int n = Processes.read(fd, buffer);
                if (n <= 0) return;
                for (int i = 0; i < n; i++) {
                    if (buffer[i] != '\n') {
                        if (line.size() < 4096) line.write(buffer[i]);
                        continue;
                    }
                    ControlMessage m = ControlMessage.parse(line.toString(StandardCharsets.UTF_8));
                    line.reset();
                    if (m != null) events.accept(new Master.Event.Message(this, m));
                }
            }
        } catch (Libc.Failure e) {
            // the pipe broke: the exit event says what happened to the worker
        } finally {
            Sockets.closeQuietly(fd);
        }
    }

    @Override
    public String toString() {
        return "worker " + age + " (pid " + pid + ")";
    }
}
