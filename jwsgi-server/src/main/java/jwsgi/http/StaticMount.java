package jwsgi.http;

import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import jwsgi.config.StaticOptions;

import org.eclipse.jetty.http.CompressedContentFormat;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.MimeTypes;
import org.eclipse.jetty.http.PreEncodedHttpField;
import org.eclipse.jetty.http.content.HttpContent;
import org.eclipse.jetty.http.content.PreCompressedHttpContentFactory;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.ResourceService;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

/**
 * One --static-map: its files, served by Jetty's {@link ResourceService} (Content-Type, ETag and
 * Last-Modified with 304, If-Match and If-Unmodified-Since with 412, Range with 206 and 416, and
 * If-Range here,
 * precompressed .br/.gz siblings chosen by Accept-Encoding with {@code Vary: Accept-Encoding})
 * over {@link ConfinedFiles} through a {@link FileCache}; and its Cache-Control: the mount's
 * max-age, or a year and {@code immutable} for names that carry a content hash.
 *
 * <p>Threads: any; it keeps no per-request state.
 */
final class StaticMount {
    /** Django's ManifestStaticFilesStorage names: name.0123456789ab.ext (md5, 12 hex digits); WhiteNoise's test. */
    private static final Pattern HASHED = Pattern.compile(".+\\.[0-9a-f]{12}\\..+");
    private static final HttpField IMMUTABLE =
            new PreEncodedHttpField(HttpHeader.CACHE_CONTROL, "public, max-age=31536000, immutable");
    private static final HttpField VARY = new PreEncodedHttpField(HttpHeader.VARY, HttpHeader.ACCEPT_ENCODING.asString());
    /** Jetty's types, with a charset for text (Jetty gives text/plain ISO-8859-1 and others none). */
    private static final MimeTypes TYPES = types();

    private final String prefix;
    private final HttpField cacheControl;
    private final Service service = new Service();

    StaticMount(StaticOptions.Mount mount, boolean followSymlinks, ByteBufferPool.Sized buffers) {
        this.prefix = mount.prefix();
        this.cacheControl = new PreEncodedHttpField(HttpHeader.CACHE_CONTROL,
                mount.maxAge() == 0 ? "no-cache" : "public, max-age=" + mount.maxAge());
        List<CompressedContentFormat> siblings = List.of(CompressedContentFormat.BR, CompressedContentFormat.GZIP);
        HttpContent.Factory files = new ConfinedFiles(mount.directory(), followSymlinks, TYPES, buffers);
        service.setHttpContentFactory(new FileCache(new PreCompressedHttpContentFactory(files, siblings), buffers));
        service.setEtags(true);
        service.setDirAllowed(false);
        service.setPrecompressedFormats(siblings);
        service.setWelcomeFactory((content, request) -> null);
    }

    /** The URL path prefix: starts with '/', no trailing '/'. */
    String prefix() {
        return prefix;
    }

    /** Jetty's managed component (the cache). */
    ResourceService service() {
        return service;
    }

    /**
     * Answers a GET or HEAD for a file of this mount.
     *
     * @param file the file's path under the directory, from {@link StaticPath#file}
     */
    void serve(Request request, Response response, Callback callback, String file) {
        HttpContent content;
        try {
            content = service.getContent(file, request);
        } catch (IOException | InvalidPathException e) {
            content = null;
        }
        if (content == null) {
            StaticFiles.plain(response, callback, HttpStatus.NOT_FOUND_404, "Not Found");
            return;
        }
        HttpFields.Mutable headers = response.getHeaders();
        headers.put(HASHED.matcher(file.substring(file.lastIndexOf('/') + 1)).matches() ? IMMUTABLE : cacheControl);
        // Jetty adds Vary to a 200 only; a 304 says it as well (RFC 9110 15.4.5).
        if (content.getPreCompressedContentFormats() != null && !content.getPreCompressedContentFormats().isEmpty()) {
            headers.put(VARY);
        }
        HttpContent body = HttpMethod.HEAD.is(request.getMethod()) ? new Headless(content) : content;
        service.doGet(ranged(request, content), response, callback, body);
    }

    /**
     * The request, without its Range when its If-Range no longer holds: then the whole file is
     * the answer (RFC 9110 13.1.5), which Jetty's ResourceService does not check. Only a date
     * equal to the file's Last-Modified holds; these ETags are weak, and If-Range never takes a weak one.
     */
    private static Request ranged(Request request, HttpContent content) {
        HttpFields headers = request.getHeaders();
        String ifRange = headers.get(HttpHeader.IF_RANGE);
        if (ifRange == null || !headers.contains(HttpHeader.RANGE)) return request;
        HttpField lastModified = content.getLastModified();
        if (lastModified != null && ifRange.equals(lastModified.getValue())) return request;
        HttpFields whole = HttpFields.build(headers).remove(HttpHeader.RANGE).asImmutable();
        return new Request.Wrapper(request) {
            @Override
            public HttpFields getHeaders() {
                return whole;
            }
        };
    }

    /**
     * The ResourceService, with its refusals answered here, so a 304 or 412 keeps the connection
     * (Jetty's error page, {@link ErrorResponses}, would close it).
     */
    private static final class Service extends ResourceService {
        @Override
        protected void writeHttpError(Request request, Response response, Callback callback, int status) {
            if (status == HttpStatus.NOT_MODIFIED_304) {
                response.setStatus(status);
                response.write(true, null, callback);
            } else {
                StaticFiles.plain(response, callback, status, HttpStatus.getMessage(status));
            }
        }

        @Override
        protected void writeHttpError(Request request, Response response, Callback callback, int status, String msg, Throwable cause) {
            writeHttpError(request, response, callback, status);
        }
    }

    /** A HEAD answer's content: the headers of the file, and nothing read from it. */
    private static final class Headless extends HttpContent.Wrapper {
        Headless(HttpContent content) {
            super(content);
        }

        @Override
        public void writeTo(Content.Sink sink, long offset, long length, Callback callback) {
            sink.write(true, BufferUtil.EMPTY_BUFFER, callback);
        }
    }

    private static MimeTypes types() {
        MimeTypes.Mutable types = new MimeTypes.Mutable();
        types.addMimeMapping("map", "application/json");
        types.addMimeMapping("webmanifest", "application/manifest+json");
        for (Map.Entry<String, String> e : Map.copyOf(types.getMimeMap()).entrySet()) {
            if (e.getValue().startsWith("text/") && !e.getValue().contains("charset")) {
                types.addMimeMapping(e.getKey(), e.getValue() + ";charset=utf-8");
            }
        }
        return types;
    }
}
