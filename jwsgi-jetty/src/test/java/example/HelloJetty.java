package example;

import java.net.InetSocketAddress;

import jwsgi.embed.PythonAppOptions;
import jwsgi.jetty.WsgiHandler;

import org.eclipse.jetty.server.Server;

/** Serves the Flask app of examples/jetty/hello.py at / with Jetty alone, from the repository's root. */
public final class HelloJetty {
    public static void main(String[] args) throws Exception {
        Server server = serve(new InetSocketAddress("127.0.0.1", args.length > 0 ? Integer.parseInt(args[0]) : 8080));
        server.join();
    }

    /** Starts Jetty with the Flask app at /; stopping Jetty stops the app and finalises Python. */
    public static Server serve(InetSocketAddress address) throws Exception {
        Server server = new Server(address);
        server.setHandler(new WsgiHandler(PythonAppOptions.builder("hello:app")
                .python("/usr/bin/python3")   // an interpreter, or a virtualenv directory
                .pythonpath("examples/jetty") // where hello.py is, first on sys.path
                .threads(4)                   // Python threads that run requests
                .build()));
        server.setStopAtShutdown(true);       // Ctrl-C stops Jetty, hence the app and Python
        server.start();
        return server;
    }
}
