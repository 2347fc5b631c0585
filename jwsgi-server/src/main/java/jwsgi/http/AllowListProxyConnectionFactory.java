package jwsgi.http;

import jwsgi.config.AddressList;

import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.ProxyConnectionFactory;

/**
 * Jetty's PROXY protocol (v1 and v2, detected; a connection without the header goes on as
 * usual), but only for peers in {@code --proxy-allow-from}. For any other peer the header is
 * not read at all: its bytes reach the next protocol, which refuses them (400), so a client
 * can never claim another address.
 */
final class AllowListProxyConnectionFactory extends ProxyConnectionFactory {
    private final AddressList allowed;

    AllowListProxyConnectionFactory(AddressList allowed) {
        this.allowed = allowed;
    }

    @Override
    public Connection newConnection(Connector connector, EndPoint endPoint) {
        if (allowed.trusts(endPoint.getRemoteSocketAddress())) return super.newConnection(connector, endPoint);
        return connector.getConnectionFactory(findNextProtocol(connector)).newConnection(connector, endPoint);
    }
}
