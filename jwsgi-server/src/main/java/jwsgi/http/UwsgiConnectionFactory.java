package jwsgi.http;

import java.time.Duration;

import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.AbstractConnectionFactory;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;

/** Makes a {@link UwsgiConnection} for each accepted connection (Jetty protocol name "uwsgi"). */
final class UwsgiConnectionFactory extends AbstractConnectionFactory {
    static final String PROTOCOL = "uwsgi";
    private final HttpConfiguration configuration;
    private final Duration headerTimeout;

    /** @param headerTimeout the longest the request packet may take to arrive, from its first byte; zero for no limit */
    UwsgiConnectionFactory(HttpConfiguration configuration, Duration headerTimeout) {
        super(PROTOCOL);
        this.configuration = configuration;
        this.headerTimeout = headerTimeout;
    }

    @Override
    public Connection newConnection(Connector connector, EndPoint endPoint) {
        return configure(new UwsgiConnection(connector, configuration, endPoint, headerTimeout), connector, endPoint);
    }
}
