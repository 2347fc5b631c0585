package jwsgi.server;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jwsgi.config.Bind;
import jwsgi.config.Settings;
import jwsgi.ops.Systemd;
import jwsgi.posix.InheritedSocket;
import jwsgi.http.UnixSocketFile;
import jwsgi.posix.Libc;
import jwsgi.posix.ProcessOwner;
import jwsgi.posix.Sockets;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The master's listening sockets, one per {@code --bind}, which outlive every worker.
 *
 * <p>One of them, the <em>shared</em> listener (the Unix socket if there is one, else the first
 * {@code --bind}), is handed to every worker as its standard input: all workers accept from one
 * queue, so a worker that stops (reload, {@code --max-requests}, a crash) leaves the
 * connections waiting there to the others, and none is reset. Java can inherit exactly one
 * listener that way, so each further TCP address is bound here only to reserve its port (and
 * learn it, for port 0), and every worker listens on it with its own SO_REUSEPORT socket.
 * A second Unix socket cannot be shared at all and is refused.
 *
 * <p>Under systemd's socket activation ({@code LISTEN_FDS}), the socket systemd passed is the
 * shared listener instead, whatever {@code --bind} says (as gunicorn does); it is systemd's,
 * so a reload keeps it and the exit does not remove its file.
 *
 * <p>Threads: the master's main thread.
 */
final class Listeners implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Listeners.class);

    /**
     * One bound address.
     *
     * @param bind   as given
     * @param fd     the master's descriptor
     * @param port   the actual TCP port (0 for a Unix socket)
     * @param shared whether workers inherit it (else each binds its own with SO_REUSEPORT)
     */
    record Listener(Bind bind, int fd, int port, boolean shared) {
        String url(boolean tls) {
            return bind.isUnix() ? bind.authority(0) : (tls ? "https://" : "http://") + bind.authority(port);
        }
    }

    private final List<Listener> listeners;
    /** The listener came from systemd (socket activation). */
    private final boolean activated;

    private Listeners(List<Listener> listeners, boolean activated) {
        this.listeners = listeners;
        this.activated = activated;
    }

    /**
     * The listeners {@code settings} ask for: the socket systemd passed, if it passed one to this
     * process ({@code environment}'s LISTEN_PID and LISTEN_FDS), else a socket per --bind.
     *
     * @throws IOException saying which address or descriptor cannot be used, and why
     */
    static Listeners open(Settings settings, Map<String, String> environment, long pid) throws IOException {
        List<Integer> fds;
        try {
            fds = Systemd.listenFds(environment, pid);
        } catch (IllegalArgumentException e) {
            throw new IOException("Cannot listen: " + e.getMessage());
        }
        if (fds.isEmpty()) return bind(settings);
        if (fds.size() > 1) {
            throw new IOException("Cannot listen: systemd passed " + fds.size() + " sockets (LISTEN_FDS); jwsgi's workers share one listener: "
                    + "give the .socket unit a single ListenStream=");
        }
        InheritedSocket socket;
        try {
            socket = InheritedSocket.take(fds.get(0));
        } catch (Libc.Failure | IllegalArgumentException e) {
            throw new IOException("Cannot listen on the socket systemd passed (descriptor " + fds.get(0) + "): " + e.getMessage());
        }
        Bind bind = socket.isUnix() ? new Bind(null, 0, socket.unix()) : new Bind(socket.host(), socket.port());
        String names = environment.getOrDefault("LISTEN_FDNAMES", "");
        LOG.info("Using the socket systemd passed{}: {}{}", names.isBlank() ? "" : " (" + names + ")", bind.authority(bind.port()),
                settings.socket().binds().isEmpty() ? "" : "; --bind is not used");
        return new Listeners(new ArrayList<>(List.of(new Listener(bind, socket.fd(), socket.port(), true))), true);
    }

    private static Listeners bind(Settings settings) throws IOException {
        ProcessOwner owner = settings.process().owner().filter(ProcessOwner::differsFromCurrent).orElse(null);
        try {
            return bind(settings.socket().binds(), settings.socket().reusePort(), settings.listener().umask(), owner);
        } catch (IOException e) {
            throw new IOException("Cannot listen on " + settings.socket().binds().stream().map(b -> b.authority(b.port())).toList()
                    + ": " + e.getMessage(), e);
        }
    }

    /**
     * After a reload: these listeners when they serve what {@code settings} ask for (or came from
     * systemd), else new ones, these being closed; these again when the new ones cannot be bound.
     */
    Listeners reopen(Settings settings) {
        if (activated || serve(settings.socket().binds())) return this;
        try {
            Listeners replacement = bind(settings);
            close();
            return replacement;
        } catch (IOException e) {
            LOG.error("Reload keeps the previous listeners: {}", e.getMessage());
            return this;
        }
    }

    /** Each listener's URL, as the log shows it. */
    List<String> urls(boolean tls) {
        return listeners.stream().map(l -> l.url(tls)).toList();
    }

    /** The socket systemd passed, which workers must listen on whatever --bind says; null without activation. */
    Bind activated() {
        return activated ? listeners.get(0).bind() : null;
    }

    /**
     * Binds every address (none listens yet: a worker turns the shared one on once it can serve).
     *
     * @param owner the user the workers run as, who gets the Unix socket file; null to keep ours
     * @throws IOException naming the address that cannot be bound, and why
     */
    static Listeners bind(List<Bind> binds, boolean reusePort, int umask, ProcessOwner owner) throws IOException {
        int shared = 0;
        for (int i = 0; i < binds.size(); i++) {
            if (binds.get(i).isUnix()) {
                shared = i;
                break;
            }
        }
        List<Listener> bound = new ArrayList<>();
        Listeners result = new Listeners(bound, false);
        try {
            for (int i = 0; i < binds.size(); i++) {
                Bind b = binds.get(i);
                if (b.isUnix()) {
                    if (i != shared) {
                        throw new IOException("unix:" + b.unix() + ": only one Unix socket can be shared by the workers (unix:"
                                + binds.get(shared).unix() + " is); listen on TCP for the others");
                    }
                    bound.add(new Listener(b, unix(b.unix(), umask, owner), 0, true));
                } else {
                    int fd = tcp(b, reusePort || i != shared);
                    try {
                        bound.add(new Listener(b, fd, Sockets.localPort(fd), i == shared));
                    } catch (Libc.Failure e) {
                        Sockets.closeQuietly(fd);
                        throw new IOException(e.getMessage(), e);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            result.close();
            throw e;
        }
        return result;
    }

    private static int tcp(Bind b, boolean reusePort) throws IOException {
        InetAddress address = InetAddress.getByName(b.host());
        try {
            return Sockets.boundTcp(address, b.port(), reusePort);
        } catch (Libc.Failure e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private static int unix(Path path, int umask, ProcessOwner owner) throws IOException {
        UnixSocketFile.prepare(path);
        int fd;
        try {
            fd = Sockets.boundUnix(path);
        } catch (Libc.Failure e) {
            throw new IOException(e.getMessage(), e);
        }
        try {
            UnixSocketFile.applyUmask(path, umask);
            if (owner != null) {
                Files.setAttribute(path, "unix:uid", owner.uid());
                Files.setAttribute(path, "unix:gid", owner.gid());
            }
        } catch (IOException e) {
            Sockets.closeQuietly(fd);
            Files.deleteIfExists(path);
            throw e;
        }
        return fd;
    }

    List<Listener> all() {
        return listeners;
    }

    /** The listener every worker inherits. */
    Listener shared() {
        return listeners.stream().filter(Listener::shared).findFirst().orElseThrow();
    }

    /** Whether these listeners serve exactly {@code binds} (so a reload can keep them). */
    boolean serve(List<Bind> binds) {
        return listeners.stream().map(Listener::bind).toList().equals(binds);
    }

    /** Closes every socket and removes the Unix socket files (not systemd's). */
    @Override
    public void close() {
        for (Listener l : listeners) {
            Sockets.closeQuietly(l.fd());
            if (l.bind().isUnix() && !activated) {
                try {
                    Files.deleteIfExists(l.bind().unix());
                } catch (IOException ignored) {
                    // the directory went away or is not ours any more: nothing left to clean
                }
            }
        }
        listeners.clear();
    }
}
