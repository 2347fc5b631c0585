package jwsgi.http;

import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.AbstractConnectionFactory;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;

/** Makes a {@link FastCgiConnection} for each accepted connection (Jetty protocol name "fcgi/1.0"). */
final class FastCgiConnectionFactory extends AbstractConnectionFactory {
    private final HttpConfiguration configuration;

    FastCgiConnectionFactory(HttpConfiguration configuration) {
        super(FastCgiConnection.PROTOCOL_NAME);
        this.configuration = configuration;
    }

    @Override
    public Connection newConnection(Connector connector, EndPoint endPoint) {
        return configure(new FastCgiConnection(connector, configuration, endPoint), connector, endPoint);
    }
}
