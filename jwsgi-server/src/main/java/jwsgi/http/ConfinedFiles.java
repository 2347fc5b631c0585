package jwsgi.http;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.eclipse.jetty.http.MimeTypes;
import org.eclipse.jetty.http.content.HttpContent;
import org.eclipse.jetty.http.content.ResourceHttpContent;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.util.resource.ResourceFactory;

/**
 * The files of one static mount, as Jetty's {@link HttpContent}: only regular, readable files
 * whose real path (every symbolic link resolved) is inside the mount's directory and has no
 * dotfile segment there; with --static-follow-symlinks, links may lead anywhere. The content is
 * the real path's, so what was checked is what is read. Directories, and anything else, are
 * absent (404: never a listing).
 *
 * <p>The paths it is asked for come from {@link StaticPath} (clean segments, no '..'), plus the
 * ".gz"/".br" suffixes of precompressed siblings.
 */
final class ConfinedFiles implements HttpContent.Factory {
    private final Path root;
    private final boolean followSymlinks;
    private final MimeTypes mimeTypes;
    private final ByteBufferPool.Sized buffers;

    /** @param root the mount's directory, its real path */
    ConfinedFiles(Path root, boolean followSymlinks, MimeTypes mimeTypes, ByteBufferPool.Sized buffers) {
        this.root = root;
        this.followSymlinks = followSymlinks;
        this.mimeTypes = mimeTypes;
        this.buffers = buffers;
    }

    @Override
    public HttpContent getContent(String path) throws IOException {
        Path real;
        try {
            real = root.resolve(path.substring(1)).toRealPath();
        } catch (IOException | RuntimeException e) {
            return null;  // missing, unreadable directory, a loop of links, a name too long
        }
        if (!followSymlinks && !inside(real)) return null;
        if (!Files.isRegularFile(real) || !Files.isReadable(real)) return null;
        return new ResourceHttpContent(ResourceFactory.root().newResource(real), mimeTypes.getMimeByExtension(path), buffers);
    }

    /** Whether a real path is under the root, without a hidden segment there (a link to .env is as hidden as .env). */
    private boolean inside(Path real) {
        if (!real.startsWith(root) || real.equals(root)) return false;
        for (Path segment : root.relativize(real)) {
            if (segment.toString().startsWith(".")) return false;
        }
        return true;
    }
}
