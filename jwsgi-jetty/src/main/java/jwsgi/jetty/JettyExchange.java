package jwsgi.jetty;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import jwsgi.wsgi.CgiView;
import jwsgi.wsgi.Exchange;
import jwsgi.wsgi.LoggedEnviron;
import jwsgi.wsgi.ResponseHead;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.RetainableByteBuffer;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * A Jetty request/response pair seen as a WSGI {@link Exchange}.
 *
 * <p>The response side is an ordered queue of pooled buffers: the Python thread copies each
 * body chunk in ({@link #stage}) and hands it over ({@link #flush}); one Jetty write is in
 * flight at a time, and its completion (on a Jetty thread) starts the next. Past
 * {@link #HIGH_WATER} bytes queued for a slow client, a thread that may wait does; one that
 * may not (it also does other connections' I/O) spills to a {@link SpillFile} instead.
 *
 * <p>Threads: request accessors from any thread; {@code stage}/{@code flush}/{@code send*}
 * from the one Python worker; write completions from Jetty's threads.
 */
public final class JettyExchange implements Exchange {
    /** Response bytes kept in memory for a slow client; past it a worker waits, or the bytes spill to disk. */
    static final long HIGH_WATER = 1 << 20;
    /** The most a response may spill to disk for a client that is not reading. */
    static final long MAX_SPILL = 1L << 30;
    private static final int SPILL_CHUNK = 64 * 1024;
    private static final int MIN_BUFFER = 4096;
    private static final int MAX_BUFFER = 64 * 1024;
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);
    /** What a 503 tells the client: overload and shutdown are both over within seconds. */
    private static final String RETRY_AFTER_SECONDS = "1";
    private final Request request;
    private final Response response;
    private final Callback callback;
    private final ByteBufferPool pool;
    private final String rootPath;
    private final boolean accessLogged;
    private final HttpFields headers;
    private Body body;
    private RetainableByteBuffer bodyBuffer;
    private ResponseHead head;
    private boolean headApplied;
    /** The app's own reason phrase for the status line, or null when it is Jetty's. */
    private ReasonPhrase phrase;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition drained = lock.newCondition();
    /** Chunks staged by the worker and not yet flushed; only the worker touches it. */
    private final ArrayDeque<RetainableByteBuffer> staged = new ArrayDeque<>();
    /** Chunks handed over and waiting for their write; guarded by {@link #lock}. */
    private final ArrayDeque<RetainableByteBuffer> queue = new ArrayDeque<>();
    private long queuedBytes;
    private SpillFile spill;
    private boolean writing;
    private boolean wroteAny;
    private boolean lastQueued;
    private Throwable failure;
    private boolean completed;

    /**
     * @param rootPath     where the app is mounted below the context path, "" for none
     * @param accessLogged keep what the access log shows of the app's response
     */
    JettyExchange(Request request, Response response, Callback callback, ByteBufferPool pool, String rootPath, boolean accessLogged) {
        this.accessLogged = accessLogged;
        this.request = request;
        this.response = response;
        this.callback = callback;
        this.pool = pool;
        this.rootPath = rootPath;
        this.headers = request.getHeaders();
    }

    /**
     * The request as the app would see it, for a request it never saw (an access log line for a
     * request Jetty refused): only its request side may be used.
     */
    public static Exchange view(Request request, String rootPath) {
        return new JettyExchange(request, null, Callback.NOOP, null, rootPath, false);
    }

    void body(Body body, RetainableByteBuffer owner) {
        this.body = body;
        this.bodyBuffer = owner;
    }

    // ---- request --------------------------------------------------------------------------

    @Override
    public String method() {
        return request.getMethod();
    }

    @Override
    public String rawPath() {
        String path = request.getHttpURI().getPath();
        return path == null ? "" : path;
    }

    /** A trusted front end's, else the context path (decoded) and the root path. */
    @Override
    public String scriptName() {
        if (request.getAttribute(RequestAttributes.SCRIPT_NAME) instanceof String script) {
            String s = script;
            while (s.endsWith("/")) s = s.substring(0, s.length() - 1);
            return s;
        }
        String context = Request.getContextPath(request);
        if (context == null || context.equals("/")) return rootPath;
        return CgiView.decodedPath(context.endsWith("/") ? context.substring(0, context.length() - 1) : context) + rootPath;
    }

    /** Those the customizers passed, then REMOTE_USER when Jetty's authentication state has a principal. */
    @Override
    public List<Map.Entry<String, String>> extraEnviron() {
        List<Map.Entry<String, String>> passed = RequestAttributes.extraEnviron(request);
        Principal user = Request.getAuthenticationState(request).getUserPrincipal();
        if (user == null) return passed;
        List<Map.Entry<String, String>> all = new ArrayList<>(passed);
        all.add(Map.entry("REMOTE_USER", CgiView.wsgiString(user.getName())));
        return all;
    }

    @Override
    public String query() {
        String q = request.getHttpURI().getQuery();
        return q == null ? "" : asSent(q);
    }

    @Override
    public String rawTarget() {
        HttpURI uri = request.getHttpURI();
        String pathQuery = uri.getPathQuery();
        return pathQuery == null ? "" : asSent(pathQuery);
    }

    /**
     * Jetty keeps the target as text decoded from UTF-8; WSGI wants the bytes that were sent, as
     * latin-1 characters. Only raw (not percent-encoded) non-ASCII bytes differ, which are rare.
     */
    private static String asSent(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) > 0x7F) return new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
        }
        return text;
    }

    @Override
    public String protocol() {
        return request.getConnectionMetaData().getProtocol();
    }

    /** As Jetty says: TLS, or what a customizer made of forwarded headers. */
    @Override
    public String scheme() {
        return request.isSecure() ? "https" : "http";
    }

    @Override
    public String serverName() {
        // Without a Host header Jetty names the server by its local address in long IPv6 form.
        if (headers.contains(HttpHeader.HOST)) return Request.getServerName(request);
        String local = Addresses.host(request.getConnectionMetaData().getLocalSocketAddress());
        return local.indexOf(':') >= 0 ? "[" + local + "]" : local;  // as a Host header would name it
    }

    @Override
    public int serverPort() {
        if (headers.contains(HttpHeader.HOST)) return Request.getServerPort(request);
        return Addresses.port(request.getConnectionMetaData().getLocalSocketAddress());
    }

    @Override
    public String remoteAddr() {
        return Addresses.host(request.getConnectionMetaData().getRemoteSocketAddress());
    }

    @Override
    public int remotePort() {
        return Addresses.port(request.getConnectionMetaData().getRemoteSocketAddress());
    }

    @Override
    public int headerCount() {
        return headers.size();
    }

    @Override
    public String headerName(int index) {
        return headers.getField(index).getName();
    }

    @Override
    public String headerValue(int index) {
        String value = headers.getField(index).getValue();
        return value == null ? "" : value;
    }

    @Override
    public Body body() {
        return body;
    }

    @Override
    public boolean warmUp() {
        return request.getAttribute(RequestAttributes.WARM_UP) != null;
    }

    Request request() {
        return request;
    }

    // ---- response -------------------------------------------------------------------------

    @Override
    public void head(ResponseHead head) {
        this.head = head;
        if (accessLogged) request.setAttribute(RequestAttributes.APP_HEAD, head);
    }

    @Override
    public void loggedEnviron(LoggedEnviron values) {
        request.setAttribute(RequestAttributes.ENVIRON, values);
    }

    /**
     * A large chunk is staged in pieces of at most {@value #MAX_BUFFER} bytes: Jetty pools buffers
     * up to that size, and a larger one would be a fresh direct buffer per response, whose memory
     * comes back only when a GC finds it (docs/benchmarks.md).
     */
    @Override
    public void stage(MemorySegment data, long length) {
        long done = 0;
        while (done < length) {
            long left = length - done;
            RetainableByteBuffer last = staged.peekLast();
            if (last != null && last.space() >= left) {
                append(last, data, done, left);
                return;
            }
            RetainableByteBuffer buffer = pool.acquire((int) Math.min(Math.max(left, MIN_BUFFER), MAX_BUFFER), true);
            long n = Math.min(left, buffer.space());
            append(buffer, data, done, n);
            staged.add(buffer);
            done += n;
        }
    }

    private static void append(RetainableByteBuffer buffer, MemorySegment data, long offset, long length) {
        ByteBuffer bb = buffer.getByteBuffer();
        int position = bb.limit();
        bb.limit(position + (int) length);
        MemorySegment.copy(data, offset, MemorySegment.ofBuffer(bb), position, length);
    }

    @Override
    public void flush(boolean last, boolean mayWait) throws IOException {
        applyHead();
        lock.lock();
        try {
            if (failure != null) {
                releaseStaged();
                throw new IOException(failure.getMessage(), failure);
            }
            while (!staged.isEmpty()) enqueue(staged.poll(), mayWait);
            if (last) lastQueued = true;
            if (!writing) writeNext();
            while (mayWait && !last && queuedBytes > HIGH_WATER && failure == null) {
                drained.awaitUninterruptibly();
            }
            if (failure != null) throw new IOException(failure.getMessage(), failure);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Queues one staged buffer for writing. Past the high-water mark a thread that must not wait
     * (it also does the I/O of other connections) spills to disk instead; once spilling, every
     * later chunk goes to the file too, so the order is kept. Called with the lock held.
     */
    private void enqueue(RetainableByteBuffer buffer, boolean mayWait) throws IOException {
        boolean spilling = spill != null && spill.pending() > 0;
        if (!spilling && (mayWait || queuedBytes + buffer.remaining() <= HIGH_WATER)) {
            queuedBytes += buffer.remaining();
            queue.add(buffer);
            return;
        }
        try {
            if (spill == null) spill = SpillFile.create("response");
            if (spill.pending() + buffer.remaining() > MAX_SPILL) {
                failure = new IOException("the client read too slowly: more than " + (MAX_SPILL >> 20)
                        + " MiB of the response were waiting for it");
                throw (IOException) failure;
            }
            spill.append(buffer.getByteBuffer());
        } finally {
            buffer.release();
        }
    }

    /** Starts the next write. Called with the lock held. */
    private void writeNext() {
        RetainableByteBuffer next = queue.poll();
        if (next != null) {
            queuedBytes -= next.remaining();
        } else if (spill != null && spill.pending() > 0) {
            next = pool.acquire(SPILL_CHUNK, true);
            try {
                spill.readInto(next.getByteBuffer());
            } catch (IOException e) {
                next.release();
                new WriteDone(null, false).failed(e);
                return;
            }
        }
        boolean last = lastQueued && queue.isEmpty() && (spill == null || spill.pending() == 0);
        if (next == null && !last) {
            writing = false;
            return;
        }
        writing = true;
        if (next == null && !wroteAny && head != null && head.contentLength() < 0
                && (head.status() == 304 || "HEAD".equals(request.getMethod()))) {
            // A last write with nothing written before makes Jetty declare "Content-Length: 0",
            // which would be false for HEAD (a GET may have a body) and for 304 (the length is
            // the representation's). Committing the head with a non-last write first avoids it.
            wroteAny = true;
            response.write(false, EMPTY, new WriteDone(null, false));
            return;
        }
        wroteAny = true;
        ByteBuffer bytes = next == null ? EMPTY : next.getByteBuffer();
        response.write(last, bytes, new WriteDone(next, last));
    }

    /** The completion of one write; runs on a Jetty thread and never blocks. */
    private final class WriteDone implements Callback {
        private final RetainableByteBuffer buffer;
        private final boolean last;

        WriteDone(RetainableByteBuffer buffer, boolean last) {
            this.buffer = buffer;
            this.last = last;
        }

        @Override
        public void succeeded() {
            if (buffer != null) buffer.release();
            if (last) {
                complete(null);
                return;
            }
            lock.lock();
            try {
                drained.signalAll();
                writeNext();
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void failed(Throwable x) {
            if (buffer != null) buffer.release();
            lock.lock();
            try {
                failure = x;
                writing = false;
                while (!queue.isEmpty()) queue.poll().release();
                queuedBytes = 0;
                drained.signalAll();
            } finally {
                lock.unlock();
            }
            complete(x);
        }

        @Override
        public InvocationType getInvocationType() {
            return InvocationType.NON_BLOCKING;
        }
    }

    private void applyHead() {
        if (headApplied || head == null) return;
        headApplied = true;
        response.setStatus(head.status());
        phrase = ReasonPhrase.install(request, head.status(), head.reason());
        HttpFields.Mutable out = response.getHeaders();
        for (ResponseHead.Header h : head.headers()) {
            String name = h.name();
            if (name.equalsIgnoreCase("Date") || name.equalsIgnoreCase("Server")) {
                out.put(name, h.value());  // replaces the one the server adds, rather than sending two
            } else {
                out.add(name, h.value());
            }
        }
        if (head.contentLength() >= 0 && !head.forbidsBody()) {
            out.put(HttpHeader.CONTENT_LENGTH, head.contentLength());
        }
        if (head.close()) out.put(HttpHeader.CONNECTION, "close");
    }

    @Override
    public void sendFile(FileChannel file, long position, long length) {
        try (file) {
            ByteBuffer content = length == 0 ? EMPTY : file.map(FileChannel.MapMode.READ_ONLY, position, length);
            applyHead();
            response.getHeaders().put(HttpHeader.CONTENT_LENGTH, length);
            response.write(true, content, Callback.from(() -> complete(null), this::complete));
        } catch (IOException e) {
            abort(e);
        }
    }

    @Override
    public void sendError(int status, String message) {
        releaseStaged();
        if (response.isCommitted()) {
            abort(new IOException("error after the response was committed: " + status));
            return;
        }
        if (phrase != null) phrase.withdraw();
        response.reset();
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
        if (status == 503) response.getHeaders().put(HttpHeader.RETRY_AFTER, RETRY_AFTER_SECONDS);
        response.write(true, ByteBuffer.wrap((message + "\n").getBytes(StandardCharsets.UTF_8)),
                Callback.from(() -> complete(null), this::complete));
    }

    @Override
    public void abort(Throwable cause) {
        releaseStaged();
        complete(cause == null ? new IOException("aborted") : cause);
    }

    private void releaseStaged() {
        while (!staged.isEmpty()) staged.poll().release();
    }

    /** Ends the exchange exactly once, releasing the request body (buffer or temp file). */
    private void complete(Throwable x) {
        lock.lock();
        try {
            if (completed) return;
            completed = true;
        } finally {
            lock.unlock();
        }
        if (bodyBuffer != null) bodyBuffer.release();
        if (body instanceof SpooledBody spooled) spooled.close();
        closeSpill();
        if (x == null) callback.succeeded();
        else callback.failed(x);
    }

    private void closeSpill() {
        lock.lock();
        try {
            if (spill != null) spill.close();
        } catch (IOException ignored) {
            // an unlinked temp file: closing is all there is to do
        } finally {
            lock.unlock();
        }
    }

    /** Ends the exchange with an HTTP error before the app ran (e.g. a broken request body). */
    void fail(Throwable x) {
        complete(x);
    }
}
