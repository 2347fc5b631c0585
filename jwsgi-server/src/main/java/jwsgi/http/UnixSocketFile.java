package jwsgi.http;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The file of a Unix socket listener: a stale one, left by a server that did not exit cleanly,
 * is replaced; a live one (another server answers on it) or a file that is not a socket is
 * never touched. The master creates it, and removes it when it exits.
 */
public final class UnixSocketFile {
    private static final Logger LOG = LoggerFactory.getLogger(UnixSocketFile.class);

    private UnixSocketFile() {}

    /**
     * Makes {@code path} free to bind.
     *
     * @throws IOException saying why the path cannot be used
     */
    public static void prepare(Path path) throws IOException {
        Path dir = path.getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            throw new IOException("unix:" + path + ": the directory " + dir + " does not exist; create it first");
        }
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        }
        // A socket is neither a regular file, a directory nor a link: "other".
        if (!attributes.isOther()) {
            throw new IOException("unix:" + path + ": a file that is not a socket is in the way; remove it or choose another path");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
            throw new IOException("unix:" + path + ": another server is listening on it");
        } catch (ConnectException e) {
            LOG.info("Removing the stale socket {} (nothing listens on it)", path);
            Files.deleteIfExists(path);
        }
    }

    /** Sets the socket's mode to 0777 without the umask bits, as gunicorn's --umask does. */
    public static void applyUmask(Path path, int umask) throws IOException {
        int mode = 0777 & ~umask;
        Set<PosixFilePermission> permissions = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int i = 0; i < bits.length; i++) {
            if ((mode & (1 << i)) != 0) permissions.add(bits[i]);
        }
        Files.setPosixFilePermissions(path, permissions);
    }
}
