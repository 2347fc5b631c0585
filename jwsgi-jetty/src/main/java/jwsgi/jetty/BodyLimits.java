package jwsgi.jetty;

import java.time.Duration;

/**
 * What {@link WsgiHandler} accepts of a request body, and how it keeps it until the app runs.
 *
 * @param maxBytes    the largest body; larger is refused with 413 before the app runs; 0 for no limit
 * @param memoryBytes bodies up to this size are kept in memory, larger ones in an unlinked temp file
 * @param timeout     how long a body may take to arrive (plus {@code minRate}'s allowance) before 408
 * @param minRate     bytes of body that earn one more second of {@code timeout}; 0 for none
 */
public record BodyLimits(long maxBytes, int memoryBytes, Duration timeout, int minRate) {
    /** The command line's defaults: 1 GiB at most, 1 MiB in memory, 30 s plus a second per 500 bytes. */
    public static final BodyLimits DEFAULT = new BodyLimits(1L << 30, 1 << 20, Duration.ofSeconds(30), 500);

    public BodyLimits {
        if (maxBytes < 0 || memoryBytes < 0 || minRate < 0 || timeout.isNegative()) {
            throw new IllegalArgumentException("body limits cannot be negative: " + maxBytes + ", " + memoryBytes + ", "
                    + timeout + ", " + minRate);
        }
    }
}
