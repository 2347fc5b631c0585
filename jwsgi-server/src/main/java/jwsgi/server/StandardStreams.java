package jwsgi.server;

import jwsgi.posix.Libc;
import jwsgi.posix.Sockets;

/**
 * A worker's standard output and error, kept safe from the JDK: when a channel inherited
 * through {@link System#inheritedChannel()} is closed, the JDK points descriptors 0, 1 and 2
 * at /dev/null ("detaches the standard streams"). A worker's listener is such a channel, and
 * its logs go to descriptors 1 and 2; so it keeps copies of them and puts them back right
 * after the listener is closed.
 */
final class StandardStreams {
    /** Copies are made from here up, clear of the descriptors the master hands over. */
    private static final int FIRST_COPY = 10;

    private final int out;
    private final int err;

    private StandardStreams(int out, int err) {
        this.out = out;
        this.err = err;
    }

    /** Copies descriptors 1 and 2. */
    static StandardStreams save() throws Libc.Failure {
        int out = Libc.dupAbove(1, FIRST_COPY);
        try {
            return new StandardStreams(out, Libc.dupAbove(2, FIRST_COPY));
        } catch (Libc.Failure e) {
            Sockets.closeQuietly(out);
            throw e;
        }
    }

    /** Points descriptors 1 and 2 back where they were, and closes the copies. */
    void restore() {
        try {
            Libc.dup2(out, 1);
            Libc.dup2(err, 2);
        } catch (Libc.Failure ignored) {
            // the copies are ours and open: dup2 onto 1 and 2 cannot fail
        } finally {
            Sockets.closeQuietly(out);
            Sockets.closeQuietly(err);
        }
    }
}
