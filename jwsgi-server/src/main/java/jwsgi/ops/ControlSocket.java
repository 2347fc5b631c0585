package jwsgi.ops;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;

import jwsgi.config.Shlex;
import jwsgi.http.UnixSocketFile;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * gunicorn's control socket ({@code control_socket}, gunicorn 25.1+): a Unix socket in the
 * master that takes {@link ControlProtocol} requests, from {@code gunicornc} or
 * {@code jwsgi ctl}, and answers them with {@link ControlHandlers}. The socket file gets
 * {@code control_socket_mode} and is removed when the master exits. A live socket another
 * server holds is left alone (gunicorn would take it over): this server then has none, and
 * says so.
 *
 * <p>Threads: one thread accepts; each client has a virtual thread of its own (at most
 * {@link #CLIENTS} at once), which waits for the master whenever a command changes something.
 */
public final class ControlSocket implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControlSocket.class);
    /** Clients served at once; more are closed at once (an operator runs one or two). */
    private static final int CLIENTS = 16;

    private final Path path;
    private final ServerSocketChannel listener;
    private final ControlHandlers handlers;
    private final Semaphore clients = new Semaphore(CLIENTS);
    private volatile boolean closed;

    private ControlSocket(Path path, ServerSocketChannel listener, ControlHandlers handlers) {
        this.path = path;
        this.listener = listener;
        this.handlers = handlers;
    }

    /**
     * Listens at {@code path} (its directory is made, mode 0700, when missing), with file mode {@code mode}.
     *
     * @throws IOException when the path cannot be used: the message says why
     */
    public static ControlSocket start(Path path, int mode, ServerStatusSource source, ControlCommands commands) throws IOException {
        Path dir = path.getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        UnixSocketFile.prepare(path);
        ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            listener.bind(UnixDomainSocketAddress.of(path), CLIENTS);
            UnixSocketFile.applyUmask(path, ~mode & 0777);
        } catch (IOException | RuntimeException e) {
            listener.close();
            Files.deleteIfExists(path);
            throw e;
        }
        ControlSocket socket = new ControlSocket(path, listener, new ControlHandlers(source::status, source::config, commands));
        Thread.ofPlatform().name("control-socket").daemon(true).start(socket::accept);
        return socket;
    }

    /** Where the master's state and settings come from. */
    public interface ServerStatusSource {
        ServerStatus status();

        /** The effective settings, by gunicorn's names, as JSON values. */
        Map<String, Object> config();
    }

    public Path path() {
        return path;
    }

    private void accept() {
        while (!closed) {
            SocketChannel client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                if (!closed) LOG.warn("The control socket {} stopped accepting: {}", path, e.getMessage());
                return;
            }
            if (!clients.tryAcquire()) {
                closeQuietly(client);
                continue;
            }
            Thread.ofVirtual().name("control-client").start(() -> {
                try {
                    serve(client);
                } finally {
                    closeQuietly(client);
                    clients.release();
                }
            });
        }
    }

    private void serve(SocketChannel client) {
        try {
            DataInputStream in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(client)));
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Channels.newOutputStream(client)));
            Map<String, Object> request;
            while (!closed && (request = ControlProtocol.read(in)) != null) {
                ControlProtocol.write(out, answer(request));
            }
        } catch (ControlProtocol.ProtocolException e) {
            LOG.debug("Control client sent a malformed message ({}); closing it", e.getMessage());
        } catch (IOException e) {
            LOG.debug("Control client: {}", e.getMessage());
        }
    }

    /** gunicorn's dispatch: the command's words (shell syntax), then the request's args, each as text. */
    private Map<String, Object> answer(Map<String, Object> request) {
        Object id = request.getOrDefault("id", 0);
        String command = String.valueOf(request.getOrDefault("command", "")).strip();
        if (command.isEmpty()) return ControlProtocol.error(id, "Empty command");
        try {
            List<String> words = new ArrayList<>(Shlex.split(command));
            if (request.get("args") instanceof List<?> args) for (Object a : args) words.add(String.valueOf(a));
            return ControlProtocol.ok(id, handlers.run(words));
        } catch (IllegalArgumentException e) {
            return ControlProtocol.error(id, "Invalid argument: " + e.getMessage());
        } catch (RuntimeException e) {
            LOG.warn("Control command '{}' failed", command, e);
            return ControlProtocol.error(id, "Command failed: " + e);
        }
    }

    private static void closeQuietly(SocketChannel client) {
        try {
            client.close();
        } catch (IOException ignored) {
            // the client went away first
        }
    }

    /** Stops accepting and removes the socket file. */
    @Override
    public void close() {
        closed = true;
        try {
            listener.close();
        } catch (IOException ignored) {
            // closed already
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.debug("Cannot remove the control socket {}: {}", path, e.getMessage());
        }
    }
}
