package jwsgi.servlet;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.http.HttpServletMapping;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.MappingMatch;

import jwsgi.wsgi.CgiView;
import jwsgi.wsgi.Exchange;
import jwsgi.wsgi.InputStreamBody;
import jwsgi.wsgi.ResponseHead;

/**
 * A servlet request and its response seen as a WSGI {@link Exchange}, run by a Python thread
 * while the container's thread waits in {@link #await}.
 *
 * <p>The request side is read once, on the container's thread, into plain values: the Python
 * thread never calls the request object, except to read the body (as the app asks for it).
 * SCRIPT_NAME is the mount (context path plus servlet path, for a path mapping such as
 * {@code /py/*}; the context path alone for the default mapping {@code /}); REMOTE_USER the
 * container's {@code getRemoteUser()}; the scheme, server and client as the container says.
 *
 * <p>The response side: {@link #stage} copies body bytes out of Python into a buffer (with the
 * GIL), {@link #flush} writes them to the servlet's output stream without it, flushing each
 * chunk but the last to the client, so responses stream as the app yields them. The end (the
 * last flush, {@link #sendFile}, {@link #sendError} or {@link #abort}) releases the waiting
 * thread; once it is released nothing touches the request or the response any more: the
 * container may recycle them.
 *
 * <p>Threads: constructed and awaited on the container's thread; the response side used by the
 * one Python thread running the request, or by the watchdog answering it in its place (never
 * both: the request's clock decides).
 */
final class ServletExchange implements Exchange {
    /** What a 503 tells the client: overload and shutdown are both over within seconds. */
    private static final String RETRY_AFTER_SECONDS = "1";
    private static final int INITIAL_BUFFER = 8192;

    private final HttpServletRequest request;
    private final HttpServletResponse response;
    private final String method;
    private final String rawPath;
    private final String scriptName;
    private final String query;
    private final String protocol;
    private final String scheme;
    private final String serverName;
    private final int serverPort;
    private final String remoteAddr;
    private final int remotePort;
    private final List<String> headerNames = new ArrayList<>();
    private final List<String> headerValues = new ArrayList<>();
    private final List<Map.Entry<String, String>> extra;
    private final Body body;
    /** Completed with null when the response is whole, or with why it is not. */
    private final CompletableFuture<Throwable> end = new CompletableFuture<>();
    private ResponseHead head;
    private boolean headApplied;
    /** Made at the first chunk: a file, an error or a refusal needs none. */
    private byte[] staged;
    private int stagedLength;
    private ServletOutputStream out;

    ServletExchange(HttpServletRequest request, HttpServletResponse response) throws IOException {
        this.request = request;
        this.response = response;
        this.method = request.getMethod();
        this.rawPath = request.getRequestURI();
        this.scriptName = mount(request);
        this.query = request.getQueryString() == null ? "" : request.getQueryString();
        this.protocol = request.getProtocol();
        this.scheme = request.getScheme();
        this.serverName = request.getServerName();
        this.serverPort = request.getServerPort();
        this.remoteAddr = request.getRemoteAddr();
        this.remotePort = request.getRemotePort();
        for (String name : Collections.list(request.getHeaderNames())) {
            for (String value : Collections.list(request.getHeaders(name))) {
                headerNames.add(name);
                headerValues.add(value);
            }
        }
        String user = request.getRemoteUser();
        String authType = request.getAuthType();
        List<Map.Entry<String, String>> vars = new ArrayList<>(2);
        if (user != null) vars.add(Map.entry("REMOTE_USER", CgiView.wsgiString(user)));
        if (user != null && authType != null) vars.add(Map.entry("AUTH_TYPE", authType));
        this.extra = List.copyOf(vars);
        this.body = hasBody(request) ? new InputStreamBody(new Guarded(request.getInputStream()), 0, IOException::getMessage)
                : new Body.Buffered(java.nio.ByteBuffer.allocate(0));
    }

    /** Where the servlet is mounted, as WSGI has it: decoded, its bytes as latin-1, no trailing '/'. */
    private static String mount(HttpServletRequest request) {
        String context = CgiView.decodedPath(request.getContextPath());
        HttpServletMapping mapping = request.getHttpServletMapping();
        boolean underServlet = mapping == null || switch (mapping.getMappingMatch()) {
            case PATH, EXACT -> true;
            case DEFAULT, CONTEXT_ROOT, EXTENSION -> false;
        };
        String servlet = underServlet ? CgiView.wsgiString(request.getServletPath()) : "";
        String all = context + servlet;
        return all.endsWith("/") ? all.substring(0, all.length() - 1) : all;
    }

    /** HTTP/1 without Content-Length or chunking has no body (RFC 9112 6.3); HTTP/2 may have one without a length. */
    private static boolean hasBody(HttpServletRequest request) {
        long length = request.getContentLengthLong();
        if (length >= 0) return length > 0;
        return request.getHeader("Transfer-Encoding") != null || !request.getProtocol().startsWith("HTTP/1");
    }

    /**
     * Waits until the response has ended: the container's thread must not return from
     * {@code service} before. Uninterruptible: the response is the Python thread's until then.
     *
     * @throws IOException when the response could not be completed (the container then closes the connection)
     */
    void await() throws IOException {
        boolean interrupted = false;
        Throwable failure;
        while (true) {
            try {
                failure = end.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException e) {
                failure = e.getCause();
                break;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        if (failure != null) {
            throw failure instanceof IOException io ? io : new IOException("the response was cut short: " + failure, failure);
        }
    }

    // ---- request ----------------------------------------------------------------------------

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
        return query.isEmpty() ? rawPath : rawPath + "?" + query;
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
        return headerNames.size();
    }

    @Override
    public String headerName(int index) {
        return headerNames.get(index);
    }

    @Override
    public String headerValue(int index) {
        return headerValues.get(index);
    }

    @Override
    public Body body() {
        return body;
    }

    // ---- response ---------------------------------------------------------------------------

    @Override
    public void head(ResponseHead head) {
        this.head = head;
    }

    @Override
    public void stage(MemorySegment data, long length) {
        long needed = stagedLength + length;
        if (needed > Integer.MAX_VALUE - 8) throw new IllegalStateException("a body chunk of " + length + " bytes");
        if (staged == null) staged = new byte[(int) Math.max(needed, INITIAL_BUFFER)];
        else if (needed > staged.length) staged = java.util.Arrays.copyOf(staged, (int) Math.max(needed, staged.length * 2L));
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, 0, staged, stagedLength, (int) length);
        stagedLength += (int) length;
    }

    @Override
    public void flush(boolean last, boolean mayWait) throws IOException {
        try {
            applyHead();
            if (stagedLength > 0) {
                output().write(staged, 0, stagedLength);
                stagedLength = 0;
            }
            if (!last) {
                output().flush();
                return;
            }
        } catch (IOException | RuntimeException e) {
            finish(e);
            throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
        }
        finish(null);
    }

    private ServletOutputStream output() throws IOException {
        if (out == null) out = response.getOutputStream();
        return out;
    }

    private void applyHead() {
        if (headApplied || head == null) return;
        headApplied = true;
        response.setStatus(head.status());
        for (ResponseHead.Header h : head.headers()) {
            String name = h.name();
            // Replaces what the container would add, rather than sending two.
            if (name.equalsIgnoreCase("Date") || name.equalsIgnoreCase("Server")) response.setHeader(name, h.value());
            else response.addHeader(name, h.value());
        }
        if (head.contentLength() >= 0 && !head.forbidsBody()) response.setContentLengthLong(head.contentLength());
        if (head.close()) response.setHeader("Connection", "close");
    }

    @Override
    public void sendFile(FileChannel file, long position, long length) {
        try (file) {
            applyHead();
            response.setContentLengthLong(length);
            long done = 0;
            var sink = Channels.newChannel(output());
            while (done < length) {
                long n = file.transferTo(position + done, length - done, sink);
                if (n <= 0) throw new IOException("the file ended " + (length - done) + " bytes early");
                done += n;
            }
            finish(null);
        } catch (IOException | RuntimeException e) {
            finish(e);
        }
    }

    @Override
    public void sendError(int status, String message) {
        stagedLength = 0;
        if (end.isDone()) return;
        if (response.isCommitted()) {
            abort(new IOException("error after the response was committed: " + status));
            return;
        }
        try {
            response.reset();
            response.setStatus(status);
            response.setContentType("text/plain; charset=utf-8");
            if (status == 503) response.setHeader("Retry-After", RETRY_AFTER_SECONDS);
            byte[] text = (message + "\n").getBytes(StandardCharsets.UTF_8);
            response.setContentLength(text.length);
            output().write(text);
            finish(null);
        } catch (IOException | RuntimeException e) {
            finish(e);
        }
    }

    @Override
    public void abort(Throwable cause) {
        stagedLength = 0;
        finish(cause == null ? new IOException("aborted") : cause);
    }

    /** Ends the exchange once: the waiting thread returns, and the request and response are the container's again. */
    private void finish(Throwable failure) {
        end.complete(failure);
    }

    /** The request's input stream, closed to the app once the exchange has ended: the container may reuse it. */
    private final class Guarded extends InputStream {
        private final InputStream in;

        Guarded(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (end.isDone()) throw new IOException("the request was answered already; its body can no longer be read");
            return in.read(b, off, len);
        }
    }
}
