package jwsgi.http;

import java.io.IOException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.Executor;

import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.SelectorManager;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.IO;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * A worker's TCP connector: either on the listener the workers share, whose acceptors wait their
 * turn at the {@link AcceptGate} and serve each connection they take until it must wait
 * ({@link DirectEndPoint}), or on a listener of its own (a further bind, with SO_REUSEPORT),
 * where the selectors accept.
 *
 * <p>Jetty hands the set-up of each new connection, and the clean-up of each closed one, to its
 * thread pool: two thread wake-ups per connection, which cost more than the work itself when
 * clients open a connection per request (nginx's default HTTP/1.0 upstream, health checks).
 * Both are short and never block, so once the connector runs they run on the thread that has
 * them: {@link #runsInline}.
 */
final class TcpConnector extends ServerConnector {
    private final AcceptGate gate;

    private TcpConnector(Server server, int acceptors, int selectors, ConnectionFactory[] factories, AcceptGate gate) {
        super(server, acceptors, selectors, factories);
        this.gate = gate;
    }

    /** The connector of the listener this worker inherited from the master. */
    static TcpConnector shared(Server server, int acceptors, int selectors, ConnectionFactory[] factories, AcceptGate gate) {
        TcpConnector connector = new TcpConnector(server, acceptors, selectors, factories, gate);
        connector.setInheritChannel(true);
        countAccepts(connector, gate);
        return connector;
    }

    /** The connector of a worker's warm-up ({@link WarmUp}): a loopback port of its own, accepting as the shared one does. */
    static TcpConnector warmUp(Server server, int acceptors, int selectors, ConnectionFactory... factories) {
        TcpConnector connector = new TcpConnector(server, acceptors, selectors, factories, AcceptGate.NONE);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        return connector;
    }

    /** A connector on a socket of this worker's own, bound with SO_REUSEPORT beside the other workers'. */
    static TcpConnector own(Server server, int selectors, ConnectionFactory[] factories) {
        TcpConnector connector = new TcpConnector(server, 0, selectors, factories, AcceptGate.NONE);
        connector.setReusePort(true);
        return connector;
    }

    /**
     * Whether a selector manager's task (a new connection's set-up, a closed one's clean-up)
     * runs on the calling thread: once the manager has started. While it starts, its tasks are
     * the selectors' own loops, which need threads of their own.
     */
    static boolean runsInline(SelectorManager manager) {
        return manager.isStarted();
    }

    /**
     * Tells {@code gate} of each connection {@code connector}'s acceptor hands to a selector, as
     * the acceptor does it, and of those that fail before they open; closes are told by the
     * connector's {@link AbstractConnector#onEndPointClosed}.
     */
    static void countAccepts(AbstractConnector connector, AcceptGate gate) {
        connector.getBean(SelectorManager.class).addEventListener(new SelectorManager.AcceptListener() {
            @Override
            public void onAccepting(SelectableChannel channel) {
                gate.accepted();
            }

            @Override
            public void onAcceptFailed(SelectableChannel channel, Throwable cause) {
                gate.closed();
            }
        });
    }

    @Override
    protected SelectorManager newSelectorManager(Executor executor, Scheduler scheduler, int selectors) {
        return new Manager(executor, scheduler, selectors);
    }

    /**
     * Takes the next connection from the shared listener and serves it on this thread until it
     * must wait for the network ({@link DirectEndPoint}).
     */
    @Override
    public void accept(int acceptorID) throws IOException {
        gate.awaitTurn(this::isOpen);
        if (!(getTransport() instanceof ServerSocketChannel listener) || !listener.isOpen()) return;
        SocketChannel channel = listener.accept();
        ((Manager) getSelectorManager()).serve(channel);
    }

    private final class Manager extends ServerConnectorManager {
        Manager(Executor executor, Scheduler scheduler, int selectors) {
            super(executor, scheduler, selectors);
        }

        @Override
        protected void execute(Runnable task) {
            if (runsInline(this)) task.run();
            else super.execute(task);
        }

        /** What the selector does for an accepted channel, done on the accepting thread. */
        void serve(SocketChannel channel) {
            onAccepting(channel);
            DirectEndPoint endPoint;
            Connection connection;
            try {
                channel.configureBlocking(false);
                endPoint = new DirectEndPoint(channel, chooseSelector(), getScheduler(), this::closed);
                endPoint.setIdleTimeout(getIdleTimeout());
                onAccepted(channel);
                connection = newConnection(channel, endPoint, null);
                endPoint.setConnection(connection);
            } catch (IOException | RuntimeException e) {
                IO.close(channel);
                onAcceptFailed(channel, e);
                return;
            }
            endPoint.onOpen();
            endPointOpened(endPoint);
            try {
                connectionOpened(connection, null);
            } catch (RuntimeException | Error e) {
                endPoint.close(e);
            }
        }

        private void closed(DirectEndPoint endPoint, Throwable cause) {
            Connection connection = endPoint.getConnection();
            if (connection != null) connectionClosed(connection, cause);
            endPointClosed(endPoint);
        }
    }

    @Override
    protected void onEndPointClosed(EndPoint endPoint) {
        gate.closed();
        super.onEndPointClosed(endPoint);
    }
}
