package jwsgi.metrics;

/**
 * The bucket bounds of every jwsgi histogram, in seconds: from 100 µs (a queue or GIL wait
 * that is no wait at all, a hello-world request) to a minute (past any sensible --timeout),
 * roughly 1-2.5-5 per decade as OpenTelemetry's HTTP buckets are, with the sub-millisecond
 * decade added: the waits this server exists to keep short live there.
 */
final class Buckets {
    static final double[] SECONDS = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
        1, 2.5, 5, 10, 30, 60};

    private Buckets() {}
}
