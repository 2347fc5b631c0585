import java.time.Duration;
import java.util.concurrent.Executors;

import jwsgi.embed.PythonAppOptions;
import jwsgi.jetty.WsgiHandler;

import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * Serves any WSGI app with a plain Jetty and jwsgi's handler on 127.0.0.1, for trying and
 * measuring embedding (examples/measure-embedding.py). From the repository's root, once
 * target/jwsgi.jar is built ({@code ./jwsgi} builds it):
 * <pre>
 *   java --enable-native-access=ALL-UNNAMED -cp 'target/jwsgi.jar:target/lib/*' examples/jetty/Serve.java \
 *        PORT MODULE:CALLABLE DIRECTORY [THREADS [virtual]]
 * </pre>
 * $PYTHON names the interpreter or virtualenv (default /usr/bin/python3); "virtual" runs Jetty's
 * blocking work on virtual threads.
 */
public final class Serve {
    public static void main(String[] args) throws Exception {
        QueuedThreadPool threads = new QueuedThreadPool();
        if (args.length > 4 && args[4].equals("virtual")) threads.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
        Server server = new Server(threads);
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(Integer.parseInt(args[0]));
        server.addConnector(connector);
        server.setHandler(new WsgiHandler(PythonAppOptions.builder(args[1])
                .python(System.getenv().getOrDefault("PYTHON", "/usr/bin/python3"))
                .pythonpath(args[2])
                .threads(args.length > 3 ? Integer.parseInt(args[3]) : 1)
                .timeout(Duration.ofSeconds(30))
                .build()));
        server.setStopAtShutdown(true);
        server.start();
        System.out.println("Serving on http://127.0.0.1:" + connector.getLocalPort());
        server.join();
    }
}
