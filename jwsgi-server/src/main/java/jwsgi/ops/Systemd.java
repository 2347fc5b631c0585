package jwsgi.ops;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import jwsgi.posix.Libc;
import jwsgi.posix.UnixDatagram;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells systemd what the server is doing ({@code Type=notify}), as {@code sd_notify(3)} does:
 * one datagram of {@code KEY=VALUE} lines to the socket named by {@code $NOTIFY_SOCKET} (a
 * path, or {@code @name} for an abstract socket). Without the variable (not run by systemd)
 * every call does nothing. Only the master notifies; its workers never see the variable.
 *
 * <p>The master says READY=1 once its workers serve, RELOADING=1 (with the MONOTONIC_USEC
 * systemd 253 asks for) then READY=1 around a reload, STOPPING=1 when a stop begins, and
 * STATUS= lines that {@code systemctl status} shows.
 *
 * <p>Threads: the master's main thread.
 */
public final class Systemd {
    private static final Logger LOG = LoggerFactory.getLogger(Systemd.class);
    /** What systemd tells a service it starts, which its own children must not inherit. */
    public static final List<String> VARIABLES = List.of("NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES");

    private final String socket;
    private boolean failedOnce;

    private Systemd(String socket) {
        this.socket = socket;
    }

    /** Where systemd's socket activation puts the first socket it passes (sd_listen_fds). */
    public static final int LISTEN_FDS_START = 3;

    /**
     * The descriptors systemd passed this process (socket activation), as {@code sd_listen_fds}
     * finds them: {@code $LISTEN_FDS} of them from descriptor 3, when {@code $LISTEN_PID} is
     * this process (a variable inherited from a parent that was activated is not ours).
     *
     * @throws IllegalArgumentException when the variables are malformed
     */
    public static List<Integer> listenFds(Map<String, String> environment, long pid) {
        String fds = environment.get("LISTEN_FDS");
        String listenPid = environment.get("LISTEN_PID");
        if (fds == null || listenPid == null) return List.of();
        try {
            if (Long.parseLong(listenPid.strip()) != pid) return List.of();
            int n = Integer.parseInt(fds.strip());
            if (n < 0) throw new NumberFormatException();
            List<Integer> list = new ArrayList<>();
            for (int i = 0; i < n; i++) list.add(LISTEN_FDS_START + i);
            return list;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("LISTEN_FDS=" + fds + " LISTEN_PID=" + listenPid + " are not systemd's socket activation"
                    + " variables (a count and a process id); unset them");
        }
    }

    /** Notifies the socket {@code $NOTIFY_SOCKET} names, if any. */
    public static Systemd from(Map<String, String> environment) {
        String socket = environment.get("NOTIFY_SOCKET");
        return new Systemd(socket == null || socket.isBlank() ? null : socket);
    }

    public void ready(String status) {
        send("READY=1\nSTATUS=" + status);
    }

    /** A reload begins; {@link #ready} says when it is done. */
    public void reloading(String status) {
        long monotonicMicros = TimeUnit.NANOSECONDS.toMicros(System.nanoTime());
        send("RELOADING=1\nMONOTONIC_USEC=" + monotonicMicros + "\nSTATUS=" + status);
    }

    public void stopping(String status) {
        send("STOPPING=1\nSTATUS=" + status);
    }

    private void send(String message) {
        if (socket == null) return;
        try {
            UnixDatagram.send(socket, message.getBytes(StandardCharsets.UTF_8));
        } catch (Libc.Failure | IllegalArgumentException e) {
            // systemd would then kill a Type=notify service that never says READY: say why, once.
            if (!failedOnce) LOG.warn("Cannot notify systemd at NOTIFY_SOCKET={}: {}", socket, e.getMessage());
            failedOnce = true;
        }
    }
}
