package jwsgi.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.regex.Pattern;

import jwsgi.testing.Http;
import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A bounded campaign of mutated requests against a live server: valid requests (pipelined,
 * chunked, with bodies that look like requests) with bytes flipped, inserted, deleted,
 * duplicated or cut, and framing tokens spliced in. For every input, sent on its own connection
 * and half-closed:
 * <ul>
 *   <li>the server answers and closes within seconds (no hang) and stays up (no crash);
 *   <li>no answer is a 5xx of the server's own making (500, 502, 503, 504; the app never fails);
 *   <li>the app saw exactly the requests the client got 200s for, in order, and each was sent:
 *       its request line is in the bytes, its body a run of the bytes sent (or of the chunk
 *       data), and no request line the app saw lies inside a body it saw (the same bytes taken
 *       as a body and as a request: smuggling). A request lost between the parser and the app
 *       shows up here too.
 * </ul>
 * The campaign lasts {@code -Djwsgi.campaign.seconds} (8 by default); scripts/mutation-campaign.sh
 * runs it for longer. A failure prints the seed and the input, so it can be replayed.
 */
class MutationCampaignTest {
    private static final long SECONDS = Long.getLong("jwsgi.campaign.seconds", 8);
    private static final long SEED = Long.getLong("jwsgi.campaign.seed", System.nanoTime());
    private static final String[] TOKENS = {"\r\n", "\n", "\r", " ", "\t", "\u0000", ":", ",", ";", "_", "-", "0", "9", "f",
            "\r\n\r\n", "Transfer-Encoding: chunked\r\n", "Content-Length: 0\r\n", "Content-Length: 7\r\n", "chunked",
            ", chunked", "0\r\n\r\n", "5\r\nhello\r\n", "Host: other\r\n", "Expect: 100-continue\r\n", "HTTP/1.0",
            "GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n", "99999999999999999999", "\u00ff", "\u007f", "%00", "%2F", "..", "\\"};
    private static ServerProcess server;

    @BeforeAll
    static void start() {
        server = ServerProcess.start("hardening", "--threads", "4", "--limit-request-body", "100000", "--header-timeout", "5",
                "--body-timeout", "5", "--http-protocols", "h1,h2");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** Valid inputs to mutate; each target names the case, so what the app saw can be traced. */
    private static List<String> corpus(long id) {
        String h = "Host: h\r\n";
        String inner = "GET /inner-" + id + " HTTP/1.1\r\n" + h + "\r\n";
        return List.of(
                "GET /echo/" + id + "?q=1 HTTP/1.1\r\n" + h + "Accept: */*\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n",
                "POST /echo/" + id + " HTTP/1.1\r\n" + h + "Content-Length: " + inner.length() + "\r\n\r\n" + inner,
                "POST /echo/" + id + " HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n"
                        + Integer.toHexString(inner.length()) + "\r\n" + inner + "\r\n0\r\n\r\n",
                "GET /echo/" + id + "-a HTTP/1.1\r\n" + h + "\r\nGET /echo/" + id + "-b HTTP/1.1\r\n" + h + "Connection: close\r\n\r\n",
                "POST /echo/" + id + " HTTP/1.1\r\n" + h + "Content-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
                "GET /echo/" + id + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                "PUT /echo/" + id + " HTTP/1.1\r\n" + h + "Content-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world"
                        + "GET /echo/" + id + "-next HTTP/1.1\r\n" + h + "\r\n");
    }

    private static byte[] mutate(byte[] input, Random random) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] b = input;
        int ops = 1 + random.nextInt(3);
        for (int op = 0; op < ops; op++) {
            int at = b.length == 0 ? 0 : random.nextInt(b.length);
            out.reset();
            switch (random.nextInt(6)) {
                case 0 -> {  // replace a byte
                    b = b.clone();
                    if (b.length > 0) b[at] = (byte) (random.nextBoolean() ? random.nextInt(256) : TOKENS[random.nextInt(6)].charAt(0));
                    continue;
                }
                case 1 -> {  // insert a token
                    out.write(b, 0, at);
                    out.writeBytes(TOKENS[random.nextInt(TOKENS.length)].getBytes(StandardCharsets.ISO_8859_1));
                    out.write(b, at, b.length - at);
                }
                case 2 -> {  // delete a run
                    int n = Math.min(b.length - at, 1 + random.nextInt(8));
                    out.write(b, 0, at);
                    out.write(b, at + n, b.length - at - n);
                }
                case 3 -> {  // duplicate a run (a header line, a digit, a CRLF)
                    int n = Math.min(b.length - at, 1 + random.nextInt(30));
                    out.write(b, 0, at + n);
                    out.write(b, at, b.length - at);
                }
                case 4 -> out.write(b, 0, at);  // cut
                default -> {  // change a digit, or a letter's case
                    b = b.clone();
                    for (int i = at; i < b.length; i++) {
                        if (b[i] >= '0' && b[i] <= '9') {
                            b[i] = (byte) ('0' + random.nextInt(10));
                            break;
                        }
                        if (Character.isLetter(b[i])) {
                            b[i] = (byte) (b[i] ^ 0x20);
                            break;
                        }
                    }
                    continue;
                }
            }
            b = out.toByteArray();
        }
        return b;
    }

    @Test
    void mutatedRequestsNeverCrashHangOrSmuggle() throws Exception {
        Random random = new Random(SEED);
        long deadline = System.nanoTime() + SECONDS * 1_000_000_000L;
        int cases = 0;
        int[] statuses = new int[600];
        seen();
        while (System.nanoTime() < deadline) {
            long id = cases++;
            List<String> corpus = corpus(id);
            byte[] input = mutate(corpus.get(random.nextInt(corpus.size())).getBytes(StandardCharsets.ISO_8859_1), random);
            try {
                check(input, statuses);
            } catch (AssertionError | IOException e) {
                fail("case " + id + " (seed " + SEED + "): " + e.getMessage() + "\ninput: " + show(input), e);
            }
        }
        assertTrue(server.isAlive(), server.output());
        StringBuilder summary = new StringBuilder();
        for (int s = 0; s < statuses.length; s++) if (statuses[s] > 0) summary.append(s).append('=').append(statuses[s]).append(' ');
        System.out.println("mutation campaign: " + cases + " inputs in " + SECONDS + " s (seed " + SEED + "), responses by status: " + summary);
        assertTrue(cases > 50, "only " + cases + " inputs");
    }

    private static void check(byte[] input, int[] statuses) throws IOException {
        List<Response> responses = exchange(input);
        List<Response> served = new ArrayList<>();
        for (Response r : responses) {
            statuses[Math.min(r.status, statuses.length - 1)]++;
            assertTrue(r.status != 500 && r.status != 502 && r.status != 503 && r.status != 504, "the server answered " + r.status);
            if (r.status == 200) served.add(r);
        }
        JsonNode seen = seen();
        assertEquals(served.size(), seen.size(), "the app saw " + seen + " but the client got " + served.size() + " 200s");
        String sent = new String(input, StandardCharsets.ISO_8859_1);
        List<Pattern> lines = new ArrayList<>();
        List<String> bodies = new ArrayList<>();
        List<String> chunked = chunkData(sent);
        for (int i = 0; i < served.size(); i++) {
            JsonNode echo = Http.json(new String(served.get(i).body, StandardCharsets.UTF_8));
            assertEquals(seen.get(i).get("raw").asText(), echo.get("raw").asText(), "responses out of order");
            // RFC 9112 3 lets a parser take any run of spaces between the parts, and Jetty does.
            Pattern line = Pattern.compile(Pattern.quote(echo.get("method").asText()) + "[ \\t]+"
                    + Pattern.quote(echo.get("raw").asText()) + "[ \\t]");
            assertTrue(line.matcher(sent).find(), "the app saw a request line that was not sent: " + line);
            String body = echo.get("body").asText();
            assertTrue(body.isEmpty() || sent.contains(body) || chunked.stream().anyMatch(d -> d.contains(body)),
                    "the app saw a body that was not sent: " + show(body.getBytes(StandardCharsets.ISO_8859_1)));
            lines.add(line);
            bodies.add(body);
        }
        // The same bytes never serve twice, as one request's body and as another request: each
        // request line the app saw must be in the bytes more often than inside the bodies it saw.
        for (Pattern line : lines) {
            long asRequests = lines.stream().filter(l -> l.pattern().equals(line.pattern())).count();
            long inBodies = bodies.stream().mapToLong(b -> count(line, b)).sum();
            assertTrue(count(line, sent) - inBodies >= asRequests, "a request was made from another's body: " + line
                    + " in " + bodies);
        }
    }

    private static long count(Pattern p, String s) {
        return p.matcher(s).results().count();
    }

    /**
     * What the app saw since the last call, asked on a new connection each time, so that a
     * connection's own state never colours the answer.
     */
    private static JsonNode seen() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            RawHttp.Response r = c.send("GET /seen HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").read();
            assertEquals(200, r.status(), r.text());
            return Http.json(r.text());
        }
    }

    /**
     * The chunked bodies the bytes can hold: from the end of each header block, the data of the
     * chunks that follow, each exactly its size long. Decoded, not stripped of whatever looks
     * like a size line, since chunk data may hold such lines itself.
     */
    private static List<String> chunkData(String sent) {
        List<String> bodies = new ArrayList<>();
        for (int start = sent.indexOf("\r\n\r\n"); start >= 0; start = sent.indexOf("\r\n\r\n", start + 1)) {
            StringBuilder data = new StringBuilder();
            int at = start + 4;
            while (true) {
                int lineEnd = sent.indexOf("\r\n", at);
                if (lineEnd < 0) break;
                String sizeField = sent.substring(at, lineEnd).split(";", 2)[0].stripTrailing();
                long size;
                try {
                    size = Long.parseLong(sizeField, 16);
                } catch (NumberFormatException e) {
                    break;
                }
                if (size <= 0 || lineEnd + 2 + size > sent.length()) break;
                data.append(sent, lineEnd + 2, lineEnd + 2 + (int) size);
                at = lineEnd + 2 + (int) size;
                if (!sent.startsWith("\r\n", at)) break;
                at += 2;
            }
            bodies.add(data.toString());
        }
        return bodies;
    }

    private record Response(int status, byte[] body) {}

    /** Sends the input, half-closes, and reads every response until the server closes. */
    private static List<Response> exchange(byte[] input) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(server.host(), server.port()), 5000);
            s.setSoTimeout(15_000);
            s.getOutputStream().write(input);
            s.shutdownOutput();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            byte[] buf = new byte[65536];
            int n;
            try {
                while ((n = in.read(buf)) > 0) all.write(buf, 0, n);
            } catch (SocketTimeoutException e) {
                throw new AssertionError("no end of the answer within 15 s (hang); got " + show(all.toByteArray()));
            } catch (IOException reset) {
                // a reset after the answer is a close too
            }
            return parse(all.toByteArray());
        }
    }

    /** The responses in a byte stream, each framed by Content-Length or chunked (the server's are). */
    private static List<Response> parse(byte[] bytes) {
        List<Response> out = new ArrayList<>();
        String text = new String(bytes, StandardCharsets.ISO_8859_1);
        int at = 0;
        while (at < text.length()) {
            int headEnd = text.indexOf("\r\n\r\n", at);
            if (headEnd < 0 || !text.startsWith("HTTP/1.", at)) throw new AssertionError("malformed answer: " + show(bytes));
            String head = text.substring(at, headEnd);
            int status = Integer.parseInt(head.substring(9, 12));
            at = headEnd + 4;
            if (status < 200) continue;
            String lower = head.toLowerCase(Locale.ROOT);
            int cl = lower.indexOf("\r\ncontent-length: ");
            byte[] body;
            if (cl >= 0) {
                int length = Integer.parseInt(lower.substring(cl + 18, lower.indexOf("\r\n", cl + 2) < 0 ? lower.length()
                        : lower.indexOf("\r\n", cl + 2)).strip());
                body = text.substring(at, at + length).getBytes(StandardCharsets.ISO_8859_1);
                at += length;
            } else if (lower.contains("\r\ntransfer-encoding: chunked")) {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                while (true) {
                    int eol = text.indexOf("\r\n", at);
                    int size = Integer.parseInt(text.substring(at, eol).strip(), 16);
                    at = eol + 2;
                    if (size == 0) {
                        at = text.indexOf("\r\n", at) + 2;
                        break;
                    }
                    b.writeBytes(text.substring(at, at + size).getBytes(StandardCharsets.ISO_8859_1));
                    at += size + 2;
                }
                body = b.toByteArray();
            } else {
                body = text.substring(at).getBytes(StandardCharsets.ISO_8859_1);
                at = text.length();
            }
            out.add(new Response(status, body));
        }
        return out;
    }

    private static String show(byte[] bytes) {
        StringBuilder b = new StringBuilder();
        for (byte x : bytes) {
            int c = x & 0xFF;
            if (c == '\r') b.append("\\r");
            else if (c == '\n') b.append("\\n");
            else if (c < 0x20 || c >= 0x7F) b.append("\\x").append(HexFormat.of().toHexDigits((byte) c));
            else b.append((char) c);
            if (b.length() > 2000) return b.append("...").toString();
        }
        return b.toString();
    }
}
