package jwsgi.http;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;

import jwsgi.jetty.Addresses;

import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.RetainableByteBuffer;
import org.eclipse.jetty.server.AbstractMetaDataConnection;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpChannel;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.util.Attributes;
import org.eclipse.jetty.util.thread.ThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A connection from a front server speaking a protocol that carries the request as CGI
 * variables (FastCGI, uwsgi). The subclass reads its protocol's framing; this class turns the
 * variables into a request on Jetty's normal channel (so handlers, customizers, access log and
 * graceful stop are the same as for HTTP) and holds what the two protocols share: the input
 * buffer, the request being served, its idle timeout and the connection's metadata.
 *
 * <p>Threads: Jetty's selector and pool threads, one at a time (requests are not multiplexed).
 *
 * @param <S> the protocol's stream, one per request
 */
abstract class CgiConnection<S extends CgiStream> extends AbstractMetaDataConnection {
    /** Named after the subclass, so that log lines say which protocol they are about. */
    private final Logger log = LoggerFactory.getLogger(getClass());
    private final String protocol;
    private final String protocolLabel;
    private final Attributes attributes = new Attributes.Lazy();
    private final String id = Integer.toHexString(System.identityHashCode(this));
    final ByteBufferPool pool;
    /** What was read from the connection and is not parsed yet; null while nothing is buffered. */
    RetainableByteBuffer input;
    /** The request being served; null between requests. */
    S stream;

    /**
     * @param protocol      the name Jetty and the access log know the protocol by ({@link #getProtocol()})
     * @param protocolLabel the protocol's name in log messages
     */
    CgiConnection(Connector connector, HttpConfiguration configuration, EndPoint endPoint, String protocol, String protocolLabel) {
        super(connector, configuration, endPoint);
        this.pool = connector.getByteBufferPool();
        this.protocol = protocol;
        this.protocolLabel = protocolLabel;
    }

    @Override
    public void onOpen() {
        super.onOpen();
        fillInterested();
    }

    /**
     * Starts a request from the variables the front server sent, on Jetty's channel with the
     * variables as the {@link CgiRequestCustomizer#VARIABLES} attribute; the protocol runs the
     * returned task where its framing allows. Variables that do not make a request close the
     * connection (null).
     */
    final Runnable startRequest(List<Map.Entry<String, String>> vars, BiFunction<HttpChannel, MetaData.Request, S> newStream) {
        MetaData.Request request;
        try {
            request = CgiRequestCustomizer.metaData(vars);
        } catch (IllegalArgumentException e) {
            closeBadConnection(e.getMessage());
            return null;
        }
        HttpChannel channel = new HttpChannel.DefaultFactory().newHttpChannel(this);
        S s = newStream.apply(channel, request);
        stream = s;
        channel.setHttpStream(s);
        Runnable task = channel.onRequest(request);
        channel.getRequest().setAttribute(CgiRequestCustomizer.VARIABLES, List.copyOf(vars));
        return task;
    }

    /** The front server sent what the protocol does not allow: say so and drop the connection. */
    final void closeBadConnection(String reason) {
        log.warn("Closing {} connection from {}: {}", protocolLabel, Addresses.host(getEndPoint().getRemoteSocketAddress()), reason);
        close();
    }

    /** For the streams: Jetty keeps a connection's executor protected. */
    final Executor executor() {
        return getExecutor();
    }

    final void releaseInput() {
        if (input != null) {
            input.release();
            input = null;
        }
    }

    @Override
    public void onClose(Throwable cause) {
        releaseInput();
        super.onClose(cause);
    }

    /** An idle connection between requests is closed; within a request the channel decides. */
    @Override
    public boolean onIdleExpired(TimeoutException timeout) {
        S s = stream;
        if (s == null) return true;
        HttpChannel.IdleTimeoutTask task = s.channel.onIdleTimeout(timeout);
        if (task.handlingRequest()) ThreadPool.executeImmediately(getExecutor(), task.action());
        return !task.handlingRequest();
    }

    // ---- ConnectionMetaData ------------------------------------------------------------------

    @Override
    public String getId() {
        return id;
    }

    @Override
    public HttpVersion getHttpVersion() {
        return HttpVersion.HTTP_1_1;
    }

    @Override
    public String getProtocol() {
        return protocol;
    }

    @Override
    public boolean isSecure() {
        return false;
    }

    @Override
    public Object removeAttribute(String name) {
        return attributes.removeAttribute(name);
    }

    @Override
    public Object setAttribute(String name, Object attribute) {
        return attributes.setAttribute(name, attribute);
    }

    @Override
    public Object getAttribute(String name) {
        return attributes.getAttribute(name);
    }

    @Override
    public Set<String> getAttributeNameSet() {
        return attributes.getAttributeNameSet();
    }

    @Override
    public void clearAttributes() {
        attributes.clearAttributes();
    }
}
