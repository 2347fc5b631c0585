package jwsgi.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real Debian nginx, Apache or HAProxy in the foreground, configured from text the test writes into
 * its own directory (config, pid file, logs, temp files), listening on loopback ports. Stopped
 * by its PID.
 */
public final class FrontServer implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    private final String name;
    private final Process process;
    private final Path errorLog;

    private FrontServer(String name, Process process, Path errorLog) {
        this.name = name;
        this.process = process;
        this.errorLog = errorLog;
    }

    /**
     * A free loopback port (closed again; the server that gets it binds it soon after), below the
     * kernel's ephemeral range (32768 and up here): a port from that range can be taken meanwhile
     * by any socket that binds port 0 or connects, such as another test's server or client.
     */
    public static int freePort() {
        java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
        for (int attempt = 0; attempt < 100; attempt++) {
            int port = random.nextInt(20000, 32768);
            try (ServerSocket s = new ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (IOException e) {
                // taken: try another
            }
        }
        throw new IllegalStateException("no free loopback port between 20000 and 32767 in 100 tries");
    }

    /**
     * Starts nginx with {@code http} as the body of its http block.
     *
     * @param ports the ports its servers listen on, waited for
     */
    public static FrontServer nginx(Path dir, String http, List<Integer> ports) throws IOException {
        Path errorLog = dir.resolve("nginx-error.log");
        String conf = """
                daemon off;
                master_process off;
                worker_processes 1;
                pid %1$s/nginx.pid;
                error_log %2$s info;
                events { worker_connections 512; }
                http {
                  access_log %1$s/nginx-access.log;
                  client_body_temp_path %1$s/body;
                  proxy_temp_path %1$s/proxy;
                  fastcgi_temp_path %1$s/fastcgi;
                  uwsgi_temp_path %1$s/uwsgi;
                  scgi_temp_path %1$s/scgi;
                  client_max_body_size 64m;
                %3$s
                }
                """.formatted(dir, errorLog, http);
        Path file = dir.resolve("nginx.conf");
        Files.writeString(file, conf);
        return start("nginx", List.of("nginx", "-e", errorLog.toString(), "-p", dir.toString(), "-c", file.toString()), errorLog, ports);
    }

    /**
     * Starts Apache (mpm_event, mod_proxy with http, uwsgi and fcgi, mod_headers) with {@code body}
     * after the global settings.
     */
    public static FrontServer apache(Path dir, String body, List<Integer> ports) throws IOException {
        Path errorLog = dir.resolve("apache-error.log");
        String modules = "/usr/lib/apache2/modules/";
        StringBuilder conf = new StringBuilder();
        conf.append("ServerRoot ").append(dir).append('\n')
                .append("DefaultRuntimeDir ").append(dir).append('\n')
                .append("PidFile ").append(dir.resolve("apache.pid")).append('\n')
                .append("ErrorLog ").append(errorLog).append('\n')
                .append("LogLevel warn\nServerName localhost\n")
                .append("Mutex file:").append(dir).append(" default\n");
        for (String m : List.of("mpm_event", "authz_core", "headers", "proxy", "proxy_http", "proxy_uwsgi", "proxy_fcgi")) {
            conf.append("LoadModule ").append(m).append("_module ").append(modules).append("mod_").append(m).append(".so\n");
        }
        conf.append("User nobody\nGroup nogroup\n")
                .append("StartServers 1\nServerLimit 1\nThreadsPerChild 32\nMaxRequestWorkers 32\nLimitRequestBody 0\n");
        for (int port : ports) conf.append("Listen 127.0.0.1:").append(port).append('\n');
        conf.append(body);
        Path file = dir.resolve("apache.conf");
        Files.writeString(file, conf.toString());
        return start("apache2", List.of("apache2", "-f", file.toString(), "-DFOREGROUND"), errorLog, ports);
    }

    /**
     * Starts HAProxy in the foreground with {@code config} after a global section that logs to
     * its standard output (server state changes and each request).
     */
    public static FrontServer haproxy(Path dir, String config, List<Integer> ports) throws IOException {
        Path log = dir.resolve("haproxy.log");
        Path file = dir.resolve("haproxy.cfg");
        Files.writeString(file, "global\n    log stdout format raw local0 info\n    maxconn 512\n" + config);
        Files.writeString(log, "");
        return start("haproxy", List.of("haproxy", "-db", "-f", file.toString()), log, ports);
    }

    private static FrontServer start(String name, List<String> command, Path errorLog, List<Integer> ports) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(errorLog.resolveSibling(name + "-stdout.log").toFile());
        FrontServer server = new FrontServer(name, pb.start(), errorLog);
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        List<Integer> waiting = new ArrayList<>(ports);
        while (!waiting.isEmpty()) {
            if (!server.process.isAlive()) {
                throw new IllegalStateException(name + " exited with " + server.process.exitValue() + ":\n" + server.log());
            }
            if (System.nanoTime() > deadline) {
                server.close();
                throw new IllegalStateException(name + " did not listen on " + waiting + " within " + START_TIMEOUT + ":\n" + server.log());
            }
            waiting.removeIf(FrontServer::accepts);
            if (!waiting.isEmpty()) sleep(50);
        }
        return server;
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public long pid() {
        return process.pid();
    }

    /** The server's own error log and output, for failure messages. */
    public String log() {
        StringBuilder s = new StringBuilder();
        for (Path p : List.of(errorLog, errorLog.resolveSibling(name + "-stdout.log"))) {
            try {
                if (Files.exists(p)) s.append(Files.readString(p));
            } catch (IOException e) {
                s.append("(cannot read ").append(p).append(": ").append(e.getMessage()).append(")\n");
            }
        }
        return s.toString();
    }

    /** SIGTERM to its PID (Apache stops its children itself), SIGKILL after 10 s. */
    @Override
    public void close() {
        if (!process.isAlive()) return;
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
