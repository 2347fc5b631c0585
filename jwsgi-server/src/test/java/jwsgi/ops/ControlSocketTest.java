package jwsgi.ops;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import jwsgi.testing.Http;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * gunicorn's control socket, spoken as gunicornc speaks it: the requests below are the exact
 * bytes gunicorn's ControlClient sends (json.dumps of make_request, gunicorn/ctl/protocol.py),
 * in the order of gunicorn's own tests (tests/ctl/test_server.py: several commands on one
 * connection), and the answers are checked for the fields gunicornc prints.
 */
class ControlSocketTest {
    /** What gunicorn's ControlClient.send_command writes: a 4-byte big-endian length, then json.dumps(make_request(...)). */
    private static byte[] gunicornRequest(int id, String command) {
        byte[] json = ("{\"id\": " + id + ", \"command\": \"" + command + "\", \"args\": []}").getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(4 + json.length).putInt(json.length).put(json).array();
    }

    /** One connection to the control socket, as a gunicornc session. */
    private record Session(SocketChannel channel, DataInputStream in, OutputStream out) implements AutoCloseable {
        static Session open(Path socket) throws IOException {
            SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            channel.connect(UnixDomainSocketAddress.of(socket));
            return new Session(channel, new DataInputStream(Channels.newInputStream(channel)), Channels.newOutputStream(channel));
        }

        JsonNode send(int id, String command) throws IOException {
            out.write(gunicornRequest(id, command));
            byte[] payload = new byte[in.readInt()];
            in.readFully(payload);
            JsonNode response = Http.json(new String(payload, StandardCharsets.UTF_8));
            assertEquals(id, response.get("id").asInt(), response.toString());
            return response;
        }

        JsonNode data(int id, String command) throws IOException {
            JsonNode response = send(id, command);
            assertEquals("ok", response.get("status").asText(), response.toString());
            return response.get("data");
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    @Test
    void gunicornsClientCommandsWork(@TempDir Path tmp) throws Exception {
        Path socket = tmp.resolve("run").resolve("gunicorn.ctl");
        try (ServerProcess server = ServerProcess.start("lifecycle", "--control-socket", socket.toString())) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)), "control_socket_mode 0600");
            try (Session gunicornc = Session.open(socket)) {
                JsonNode workers = gunicornc.data(1, "show workers");
                assertEquals(1, workers.get("count").asInt(), workers.toString());
                JsonNode w = workers.get("workers").get(0);
                assertEquals(server.workerPid(), w.get("pid").asLong(), workers.toString());
                assertTrue(w.get("booted").asBoolean() && w.get("last_heartbeat").isNumber() && w.get("age").asInt() == 1, workers.toString());
                JsonNode stats = gunicornc.data(2, "show stats");
                assertEquals(server.pid(), stats.get("pid").asLong());
                assertEquals(1, stats.get("workers_spawned").asInt());
                assertEquals(1, stats.get("workers_target").asInt());
                assertTrue(gunicornc.data(3, "help").get("commands").has("show workers"));
                JsonNode added = gunicornc.data(4, "worker add 2");
                assertEquals(2, added.get("added").asInt(), added.toString());
                assertEquals(3, added.get("total").asInt(), added.toString());
                List<Long> three = server.awaitWorkers(3, List.of(), Duration.ofSeconds(60));
                JsonNode removed = gunicornc.data(5, "worker remove 2");
                assertEquals(2, removed.get("removed").asInt(), removed.toString());
                assertEquals(1, removed.get("total").asInt(), removed.toString());
                List<Long> one = server.awaitWorkers(1, List.of(), Duration.ofSeconds(60));
                assertTrue(three.containsAll(one));
                JsonNode invalid = gunicornc.send(6, "invalid_command");
                assertEquals("error", invalid.get("status").asText());
                assertEquals("Invalid argument: Unknown command: invalid_command", invalid.get("error").asText());
                assertEquals("reloading", gunicornc.data(7, "reload").get("status").asText());
                server.awaitWorkers(1, one, Duration.ofSeconds(60));
                assertEquals(200, Http.get(server.url() + "/pid").statusCode());
            }
        }
        assertFalse(Files.exists(socket), "the socket file is removed on exit");
    }

    @Test
    void jwsgiCtlPrintsWhatGunicorncPrints(@TempDir Path tmp) throws Exception {
        Path socket = tmp.resolve("ctl.sock");
        try (ServerProcess server = ServerProcess.start("lifecycle", "--control-socket", socket.toString(), "--control-socket-mode", "0660")) {
            assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int code = ControlClient.run(List.of("-s", socket.toString(), "show", "workers"), new PrintStream(out, true), new PrintStream(err, true));
            assertEquals(0, code, err.toString());
            assertTrue(out.toString().startsWith("PID        AGE    BOOTED   STATE      LAST_BEAT"), out.toString());
            assertTrue(out.toString().contains(server.workerPid() + " "), out.toString());
            assertTrue(out.toString().contains("Total: 1 workers"), out.toString());
            out.reset();
            assertEquals(1, ControlClient.run(List.of("-s", socket.toString(), "show", "nothing"), new PrintStream(out), new PrintStream(err, true)));
            assertTrue(err.toString().contains("Error: Invalid argument: Unknown show target: nothing"), err.toString());
            // A second server is not given a live socket: it serves without one and says so.
            try (ServerProcess second = ServerProcess.start("lifecycle", "--control-socket", socket.toString())) {
                assertTrue(second.output().contains("No control socket: unix:" + socket + ": another server is listening on it"), second.output());
            }
            assertEquals(0, ControlClient.run(List.of("--socket=" + socket, "-j", "show", "stats"), new PrintStream(out, true),
                    new PrintStream(err, true)), "the first server's socket is still there");
            assertTrue(out.toString().contains("\"pid\":" + server.pid()), out.toString());
        }
    }
}
