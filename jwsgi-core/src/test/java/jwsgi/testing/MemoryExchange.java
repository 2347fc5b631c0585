package jwsgi.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jwsgi.wsgi.Exchange;
import jwsgi.wsgi.LoggedEnviron;
import jwsgi.wsgi.ResponseHead;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * An {@link Exchange} in memory, for the fast tier: a request built by the test, and a record
 * of everything the WSGI layer did with the response (the head, staged and sent bytes, each
 * flush, how the response ended, the environ values handed to the access log).
 *
 * <p>The request is built with chained setters before it is run:
 * {@code MemoryExchange.get("/path?q=1").header("Cookie", "a=1")}.
 *
 * <p>Threads: any; the runner's thread writes, the test reads once the request has run.
 */
public final class MemoryExchange implements Exchange {
    /** One call to {@link #flush}: whether it was the last, whether the caller could wait, and the bytes it sent. */
    public record Flush(boolean last, boolean mayWait, int bytes) {}

    /** How the response ended: each of the four ends of {@link Exchange}. */
    public sealed interface End {
        /** {@code flush(last=true)}, also when it failed (the client had gone). */
        record Last() implements End {}
        record File(long position, long length) implements End {}
        record Error(int status, String message) implements End {}
        record Aborted(Throwable cause) implements End {}
    }

    private final String method;
    private final String rawPath;
    private final String query;
    private final String rawTarget;
    private String protocol = "HTTP/1.1";
    private String scheme = "http";
    private String scriptName = "";
    private String serverName = "localhost";
    private int serverPort = 8000;
    private String remoteAddr = "127.0.0.1";
    private int remotePort = 40000;
    private final List<Map.Entry<String, String>> headers = new ArrayList<>();
    private final List<Map.Entry<String, String>> extra = new ArrayList<>();
    private Body body = new Body.Buffered(ByteBuffer.allocate(0));

    private ResponseHead head;
    private final ByteArrayOutputStream staged = new ByteArrayOutputStream();
    private final ByteArrayOutputStream sent = new ByteArrayOutputStream();
    private final List<Flush> flushes = new ArrayList<>();
    private final List<End> ends = new ArrayList<>();
    private LoggedEnviron loggedEnviron;
    private String flushFailure;

    private MemoryExchange(String method, String target) {
        this.method = method;
        this.rawTarget = target;
        int q = target.indexOf('?');
        this.rawPath = q < 0 ? target : target.substring(0, q);
        this.query = q < 0 ? "" : target.substring(q + 1);
    }

    /** A request; {@code target} is as received ("/path?query"), with each char one byte (latin-1). */
    public static MemoryExchange request(String method, String target) {
        return new MemoryExchange(method, target);
    }

    public static MemoryExchange get(String target) {
        return request("GET", target);
    }

    public MemoryExchange header(String name, String value) {
        headers.add(Map.entry(name, value));
        return this;
    }

    /** A variable a front server passed (uwsgi, FastCGI). */
    public MemoryExchange extra(String name, String value) {
        extra.add(Map.entry(name, value));
        return this;
    }

    public MemoryExchange protocol(String protocol) {
        this.protocol = protocol;
        return this;
    }

    public MemoryExchange scheme(String scheme) {
        this.scheme = scheme;
        return this;
    }

    /** Where the app is mounted, as {@link Exchange#scriptName} describes it. */
    public MemoryExchange scriptName(String scriptName) {
        this.scriptName = scriptName;
        return this;
    }

    public MemoryExchange server(String name, int port) {
        this.serverName = name;
        this.serverPort = port;
        return this;
    }

    public MemoryExchange remote(String addr, int port) {
        this.remoteAddr = addr;
        this.remotePort = port;
        return this;
    }

    /** A body read whole before the app runs. */
    public MemoryExchange body(byte[] content) {
        this.body = new Body.Buffered(ByteBuffer.wrap(content));
        return this;
    }

    /** Any body, such as a streamed one whose reads fail. */
    public MemoryExchange body(Body body) {
        this.body = body;
        return this;
    }

    /** A body the app reads as it goes, {@code piece} bytes at most per read. */
    public MemoryExchange streamedBody(byte[] content, int piece, boolean waitsForClient) {
        ByteBuffer source = ByteBuffer.wrap(content);
        this.body = new Body.Streamed() {
            @Override
            public int read(ByteBuffer into) {
                if (!source.hasRemaining()) return -1;
                int n = Math.min(Math.min(piece, into.remaining()), source.remaining());
                into.put(source.slice(source.position(), n));
                source.position(source.position() + n);
                return n;
            }

            @Override
            public boolean waitsForClient() {
                return waitsForClient;
            }
        };
        return this;
    }

    /** From now on every flush fails as when the client has gone. */
    public synchronized MemoryExchange clientGone(String why) {
        this.flushFailure = why;
        return this;
    }

    // ---- request --------------------------------------------------------------------------

    @Override
    public String method() {
        return method;
    }

    @Override
    public String rawPath() {
        return rawPath;
    }

    @Override
    public String scriptName() {
        return scriptName;
    }

    @Override
    public List<Map.Entry<String, String>> extraEnviron() {
        return extra;
    }

    @Override
    public String query() {
        return query;
    }

    @Override
    public String rawTarget() {
        return rawTarget;
    }

    @Override
    public String protocol() {
        return protocol;
    }

    @Override
    public String scheme() {
        return scheme;
    }

    @Override
    public String serverName() {
        return serverName;
    }

    @Override
    public int serverPort() {
        return serverPort;
    }

    @Override
    public String remoteAddr() {
        return remoteAddr;
    }

    @Override
    public int remotePort() {
        return remotePort;
    }

    @Override
    public int headerCount() {
        return headers.size();
    }

    @Override
    public String headerName(int index) {
        return headers.get(index).getKey();
    }

    @Override
    public String headerValue(int index) {
        return headers.get(index).getValue();
    }

    @Override
    public Body body() {
        return body;
    }

    // ---- response -------------------------------------------------------------------------

    @Override
    public synchronized void loggedEnviron(LoggedEnviron values) {
        this.loggedEnviron = values;
    }

    @Override
    public synchronized void head(ResponseHead head) {
        this.head = head;
    }

    @Override
    public synchronized void stage(MemorySegment data, long length) {
        byte[] bytes = new byte[Math.toIntExact(length)];
        MemorySegment.copy(data, JAVA_BYTE, 0, bytes, 0, bytes.length);
        staged.writeBytes(bytes);
    }

    @Override
    public synchronized void flush(boolean last, boolean mayWait) throws IOException {
        flushes.add(new Flush(last, mayWait, staged.size()));
        if (last) ends.add(new End.Last());
        if (flushFailure != null) throw new IOException(flushFailure);
        sent.writeBytes(staged.toByteArray());
        staged.reset();

    }

    @Override
    public synchronized void sendFile(FileChannel file, long position, long length) {
        try (file) {
            ByteBuffer content = ByteBuffer.allocate(Math.toIntExact(length));
            while (content.hasRemaining() && file.read(content, position + content.position()) > 0) {
                // read on until the length or the end of the file
            }
            sent.write(content.array(), 0, content.position());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ends.add(new End.File(position, length));
    }

    @Override
    public synchronized void sendError(int status, String message) {
        ends.add(new End.Error(status, message));
    }

    @Override
    public synchronized void abort(Throwable cause) {
        ends.add(new End.Aborted(cause));
    }

    // ---- what happened --------------------------------------------------------------------

    /** The head the app's response was sent with, or null. */
    public synchronized ResponseHead head() {
        return head;
    }

    /** The bytes handed to the client (flushed or sent from a file). */
    public synchronized byte[] sent() {
        return sent.toByteArray();
    }

    /** The sent bytes as UTF-8 text. */
    public String text() {
        return new String(sent(), StandardCharsets.UTF_8);
    }

    /** Bytes staged and never flushed. */
    public synchronized int unflushed() {
        return staged.size();
    }

    public synchronized List<Flush> flushes() {
        return List.copyOf(flushes);
    }

    /** Every end the response was given, in order; a well-behaved runner gives exactly one. */
    public synchronized List<End> ends() {
        return List.copyOf(ends);
    }

    /** The one end of the response; fails when there were none or several. */
    public synchronized End end() {
        if (ends.size() != 1) throw new AssertionError("expected exactly one end of the response, got " + ends);
        return ends.getFirst();
    }

    /** The environ values the runner handed over for the access log, or null. */
    public synchronized LoggedEnviron loggedEnviron() {
        return loggedEnviron;
    }
}
