package jwsgi.http;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import jwsgi.config.StaticOptions;

import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.MimeTypes;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The --static-map handler, in front of the {@link WsgiHandler} in the same server (so behind
 * {@link DrainingHandler}, the access log and the head limits): a request whose path is under a
 * mount's prefix is answered from the mount's directory ({@link StaticMount}) and never reaches
 * Python, nor counts as waiting for a Python thread; every other request goes to the app. The
 * prefix is compared with the raw path the client sent (SCRIPT_NAME included), the longest
 * prefix first; under it, the path must pass {@link StaticPath}'s strict reading, else 404.
 * GET and HEAD only (405 otherwise); no directory is ever listed.
 *
 * <p>Threads: Jetty's, non-blocking: it runs on the selector thread that parsed the request,
 * as the app does with --threads 1. A cached file costs one stat (Jetty's ResourceService asks
 * whether it is a directory) besides the socket write; a file not yet cached costs a few
 * (realpath, stat, and a read or a map), as nginx's open() and fstat() would.
 */
final class StaticFiles extends Handler.Wrapper {
    private static final String ALLOW = "GET, HEAD";

    private final List<StaticMount> mounts = new ArrayList<>();
    private final HeadLimits headLimits;

    /**
     * @param app     where every other request goes
     * @param buffers the server's pool, for files read into memory or streamed
     */
    StaticFiles(StaticOptions.Settings settings, HeadLimits headLimits, ByteBufferPool buffers, Handler app) {
        super(app);
        this.headLimits = headLimits;
        ByteBufferPool.Sized sized = new ByteBufferPool.Sized(buffers, true, 32 * 1024);
        for (StaticOptions.Mount m : settings.mounts()) mounts.add(new StaticMount(m, settings.followSymlinks(), sized));
        mounts.sort(Comparator.comparingInt((StaticMount m) -> m.prefix().length()).reversed());
        for (StaticMount m : mounts) addBean(m.service());
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String path = request.getHttpURI().getPath();
        StaticMount mount = path == null ? null : mountOf(path);
        if (mount == null) return super.handle(request, response, callback);
        if (!GuardedHttpConnectionFactory.overHttp1(request)) {
            try {
                headLimits.check(request);
            } catch (HttpException.RuntimeException e) {
                Response.writeError(request, response, callback, e.getCode(), e.getReason());
                return true;
            }
        }
        if (!HttpMethod.GET.is(request.getMethod()) && !HttpMethod.HEAD.is(request.getMethod())) {
            response.getHeaders().put(HttpHeader.ALLOW, ALLOW);
            plain(response, callback, HttpStatus.METHOD_NOT_ALLOWED_405, "Method Not Allowed: static files answer " + ALLOW);
            return true;
        }
        String file = StaticPath.file(path.substring(mount.prefix().length()));
        if (file == null) {
            plain(response, callback, HttpStatus.NOT_FOUND_404, "Not Found");
        } else {
            mount.serve(request, response, callback, file);
        }
        return true;
    }

    /** The mount whose prefix the path is, or is under; null for the app's paths. */
    private StaticMount mountOf(String path) {
        for (StaticMount m : mounts) {
            String prefix = m.prefix();
            if (path.startsWith(prefix) && (path.length() == prefix.length() || path.charAt(prefix.length()) == '/')) return m;
        }
        return null;
    }

    /**
     * A short plain-text answer that keeps the connection (a missing file is no reason to close
     * it, unlike the refusals of {@link ErrorResponses}).
     */
    static void plain(Response response, Callback callback, int status, String text) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, MimeTypes.Type.TEXT_PLAIN_UTF_8.asString());
        response.getHeaders().remove(HttpHeader.CACHE_CONTROL);
        response.write(true, ByteBuffer.wrap((text + "\n").getBytes(StandardCharsets.UTF_8)), callback);
    }
}
