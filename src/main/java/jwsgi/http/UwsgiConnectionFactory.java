package jwsgi.http;

import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.AbstractConnectionFactory;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;

/** Makes a {@link UwsgiConnection} for each accepted connection (Jetty protocol name "uwsgi"). */
final class UwsgiConnectionFactory extends AbstractConnectionFactory {
    static final String PROTOCOL = "uwsgi";
    private final HttpConfiguration configuration;

    UwsgiConnectionFactory(HttpConfiguration configuration) {
        super(PROTOCOL);
        this.configuration = configuration;
    }

    @Override
    public Connection newConnection(Connector connector, EndPoint endPoint) {
        return configure(new UwsgiConnection(connector, configuration, endPoint), connector, endPoint);
    }
}
