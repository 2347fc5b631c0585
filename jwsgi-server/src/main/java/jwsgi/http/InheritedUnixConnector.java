package jwsgi.http;

import java.io.IOException;
import java.nio.channels.Channel;
import java.nio.file.Path;
import java.util.concurrent.Executor;

import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.SelectorManager;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * A worker's connector on the Unix socket the master shares with every worker (inherited as
 * standard input). Unlike Jetty's own, it never removes the socket file,
 * which belongs to the master and serves the next workers: Jetty's connector deletes the file
 * named by {@link #getUnixDomainPath()} when it stops, so once stopping that names a file
 * that never exists. Its acceptor waits its turn at the {@link AcceptGate}, as
 * {@link TcpConnector}'s does, and it sets up and cleans up connections on
 * the thread that has them ({@link TcpConnector#runsInline}).
 */
final class InheritedUnixConnector extends UnixDomainServerConnector {
    private final Path path;
    private final Path neverExists;
    private final AcceptGate gate;
    private volatile boolean stopping;

    InheritedUnixConnector(Server server, int acceptors, int selectors, ConnectionFactory[] factories, Path path, AcceptGate gate) {
        super(server, acceptors, selectors, factories);
        this.path = path;
        this.gate = gate;
        TcpConnector.countAccepts(this, gate);
        this.neverExists = path.resolveSibling(path.getFileName() + ".jwsgi-master-owns-this-socket");
        setInheritChannel(true);
    }

    @Override
    protected SelectorManager newSelectorManager(Executor executor, Scheduler scheduler, int selectors) {
        return new UnixDomainSelectorManager(executor, scheduler, selectors) {
            @Override
            protected void execute(Runnable task) {
                if (TcpConnector.runsInline(this)) task.run();
                else super.execute(task);
            }
        };
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

    @Override
    protected void accept(int acceptorID) throws IOException {
        gate.awaitTurn(() -> getTransport() instanceof Channel listener && listener.isOpen());
        super.accept(acceptorID);
    }

    @Override
    protected void onEndPointClosed(EndPoint endPoint) {
        gate.closed();
        super.onEndPointClosed(endPoint);
    }
}
