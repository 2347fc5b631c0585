// The HTTP layer's own ceiling on this machine: Jetty 12, tuned as jwsgi tunes it (no acceptor
// threads, one selector per core, a non-blocking handler), answering the same 1 KB body as the
// benchmark's hello-world app, with no Python at all.
// Run: java -cp 'target/lib/*' bench/RawJetty.java PORT [BODY_BYTES]
import java.nio.ByteBuffer;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

public class RawJetty {
    public static void main(String[] args) throws Exception {
        ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
                .setLevel(ch.qos.logback.classic.Level.WARN);
        int port = Integer.parseInt(args[0]);
        byte[] body = "x".repeat(args.length > 1 ? Integer.parseInt(args[1]) : 1024).getBytes();
        QueuedThreadPool threads = new QueuedThreadPool();
        Server server = new Server(threads);
        HttpConfiguration config = new HttpConfiguration();
        config.setSendServerVersion(false);
        int selectors = Runtime.getRuntime().availableProcessors();
        ServerConnector connector = new ServerConnector(server, 0, selectors, new HttpConnectionFactory(config));
        connector.setHost("127.0.0.1");
        connector.setPort(port);
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract.NonBlocking() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                response.setStatus(200);
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain");
                response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
                response.write(true, ByteBuffer.wrap(body), callback);
                return true;
            }
        });
        server.start();
        System.out.println("Listening at: http://127.0.0.1:" + connector.getLocalPort() + " (" + ProcessHandle.current().pid() + ")");
        server.join();
    }
}
