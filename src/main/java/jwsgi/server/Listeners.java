package jwsgi.server;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import jwsgi.config.Bind;
import jwsgi.http.UnixSocketFile;
import jwsgi.posix.Libc;
import jwsgi.posix.ProcessOwner;
import jwsgi.posix.Sockets;

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
 * <p>Threads: the master's main thread.
 */
final class Listeners implements AutoCloseable {
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

    private Listeners(List<Listener> listeners) {
        this.listeners = listeners;
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
        Listeners result = new Listeners(bound);
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

    /** Closes every socket and removes the Unix socket files. */
    @Override
    public void close() {
        for (Listener l : listeners) {
            Sockets.closeQuietly(l.fd());
            if (l.bind().isUnix()) {
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
