package jwsgi.http;

import java.nio.file.Path;

import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;

/**
 * A worker's connector on the Unix socket the master shares with every worker (inherited as
 * standard input). Unlike Jetty's own, it never removes the socket file,
 * which belongs to the master and serves the next workers: Jetty's connector deletes the file
 * named by {@link #getUnixDomainPath()} when it stops, so once stopping that names a file
 * that never exists.
 */
final class InheritedUnixConnector extends UnixDomainServerConnector {
    private final Path path;
    private final Path neverExists;
    private volatile boolean stopping;

    InheritedUnixConnector(Server server, int selectors, ConnectionFactory[] factories, Path path) {
        super(server, HttpServer.SHARED_ACCEPTORS, selectors, factories);
        this.path = path;
        this.neverExists = path.resolveSibling(path.getFileName() + ".jwsgi-master-owns-this-socket");
        setInheritChannel(true);
    }

    @Override
    public Path getUnixDomainPath() {
        return stopping ? neverExists : path;
    }

    @Override
    protected void doStop() throws Exception {
        stopping = true;
        super.doStop();
    }
}
