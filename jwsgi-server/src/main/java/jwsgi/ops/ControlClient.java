package jwsgi.ops;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jwsgi.config.OpsOptions;

/**
 * {@code jwsgi ctl}: gunicornc for jwsgi (and for gunicorn 25.1+, which speaks the same
 * {@link ControlProtocol}). {@code jwsgi ctl [-s SOCKET] [-j] COMMAND...} sends one command,
 * prints the answer and exits 0, or 1 with the error; without a command it reads one command
 * per line from standard input.
 *
 * <p>Threads: the calling thread.
 */
public final class ControlClient {
    private static final String USAGE = """
            usage: jwsgi ctl [-s SOCKET] [-j] [COMMAND...]
              -s, --socket SOCKET  the control socket (default: $XDG_RUNTIME_DIR/gunicorn.ctl, else ~/.gunicorn/gunicorn.ctl)
              -j, --json           print the answer as JSON
            commands: show workers|stats|config|listeners|all, worker add [N], worker remove [N], worker kill PID,
                      reload, reopen, shutdown [graceful|quick], help
            Without COMMAND, reads one command per line from standard input.""";

    private ControlClient() {}

    /** Runs {@code jwsgi ctl ARGS}; returns the exit code. */
    public static int run(List<String> args, PrintStream out, PrintStream err) {
        String socket = null;
        boolean json = false;
        List<String> command = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!command.isEmpty()) {
                command.add(a);
            } else if ((a.equals("-s") || a.equals("--socket")) && i + 1 < args.size()) {
                socket = args.get(++i);
            } else if (a.startsWith("--socket=")) {
                socket = a.substring("--socket=".length());
            } else if (a.equals("-j") || a.equals("--json")) {
                json = true;
            } else if (a.equals("-h") || a.equals("--help")) {
                out.println(USAGE);
                return 0;
            } else if (a.startsWith("-")) {
                err.println("jwsgi ctl: unknown option " + a + "\n" + USAGE);
                return 2;
            } else {
                command.add(a);
            }
        }
        Path path = OpsOptions.controlSocketPath(socket, System.getenv());
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(path));
            DataInputStream in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(channel)));
            DataOutputStream outStream = new DataOutputStream(new BufferedOutputStream(Channels.newOutputStream(channel)));
            if (!command.isEmpty()) return send(in, outStream, 1, String.join(" ", command), json, out, err);
            BufferedReader lines = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            int code = 0;
            long id = 1;
            for (String line; (line = lines.readLine()) != null; ) {
                if (line.isBlank()) continue;
                if (line.strip().equals("quit") || line.strip().equals("exit")) break;
                code = Math.max(code, send(in, outStream, id++, line.strip(), json, out, err));
            }
            return code;
        } catch (IOException e) {
            err.println("jwsgi ctl: cannot talk to the control socket " + path + ": " + e.getMessage()
                    + " (is the server running with this --control-socket?)");
            return 1;
        }
    }

    private static int send(DataInputStream in, DataOutputStream out, long id, String command, boolean json, PrintStream print,
                            PrintStream err) throws IOException {
        ControlProtocol.write(out, ControlProtocol.request(id, command, List.of()));
        Map<String, Object> response = ControlProtocol.read(in);
        if (response == null) throw new IOException("the server closed the connection");
        if ("error".equals(response.get("status"))) {
            err.println("Error: " + response.get("error"));
            return 1;
        }
        Object data = response.get("data");
        print.println(json ? ControlProtocol.toJson(data) : ControlFormat.render(command, data));
        return 0;
    }
}
