package jwsgi.http;

import java.io.IOException;
import java.nio.channels.SelectableChannel;

import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.SelectorManager;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/** The connector of the TCP listener the workers share: its acceptor waits its turn at the {@link AcceptGate}. */
final class BalancedConnector extends ServerConnector {
    private final AcceptGate gate;

    BalancedConnector(Server server, int selectors, ConnectionFactory[] factories, AcceptGate gate) {
        super(server, HttpServer.SHARED_ACCEPTORS, selectors, factories);
        this.gate = gate;
        setInheritChannel(true);
        countAccepts(this, gate);
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
    public void accept(int acceptorID) throws IOException {
        gate.awaitTurn(this::isOpen);
        super.accept(acceptorID);
    }

    @Override
    protected void onEndPointClosed(EndPoint endPoint) {
        gate.closed();
        super.onEndPointClosed(endPoint);
    }
}
