package jwsgi.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

import org.slf4j.LoggerFactory;

/**
 * gunicorn's {@code --pid FILE}: the process id, written atomically (a temporary file renamed
 * into place, mode 0644) and removed on exit if it still names this process. A file that
 * names another live process means another server runs there: starting is refused.
 */
final class PidFile {
    private final Path path;
    private final long pid;

    private PidFile(Path path, long pid) {
        this.path = path;
        this.pid = pid;
    }

    /** @throws IOException when another live process holds the file, or it cannot be written */
    static PidFile create(Path path, long pid) throws IOException {
        long other = readPid(path);
        if (other > 0 && other != pid && ProcessHandle.of(other).map(ProcessHandle::isAlive).orElse(false)) {
            throw new IOException("Already running on PID " + other + " (or pid file '" + path + "' is stale)");
        }
        Path dir = path.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, ".jwsgi-pid", ".tmp");
        try {
            Files.writeString(tmp, pid + "\n", StandardCharsets.US_ASCII);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            try {
                Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        return new PidFile(path, pid);
    }

    /** The pid in the file, or -1 when there is none or it is not a number. */
    private static long readPid(Path path) throws IOException {
        try {
            return Long.parseLong(Files.readString(path, StandardCharsets.US_ASCII).strip());
        } catch (NoSuchFileException | NumberFormatException e) {
            return -1;
        }
    }

    /** Removes the file, unless another process has replaced it meanwhile. */
    void remove() throws IOException {
        if (readPid(path) == pid) Files.deleteIfExists(path);
    }

    /** {@link #remove}, at exit: a file that cannot be removed is only logged. */
    void removeQuietly() {
        try {
            remove();
        } catch (IOException e) {
            LoggerFactory.getLogger(PidFile.class).debug("cannot remove the pid file {}: {}", path, e.getMessage());
        }
    }

    Path path() {
        return path;
    }
}
