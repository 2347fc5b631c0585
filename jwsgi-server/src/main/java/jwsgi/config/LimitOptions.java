package jwsgi.config;

import java.time.Duration;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * What a request may be and how long it may take to arrive (gunicorn's "Security" section, plus
 * jwsgi's own body and timeout limits). gunicorn's three limits keep its names, defaults and
 * meaning of 0; a request past one is refused with 414, 431 or 413 and its connection closed.
 */
public final class LimitOptions {
    /** gunicorn's cap on --limit-request-fields (its MAX_HEADERS), also what 0 means there. */
    static final int MAX_FIELDS = 32768;

    /**
     * @param requestLine    the longest request line in bytes (method, target, version); 0 for no limit of its own
     * @param fields         the most header fields in a request
     * @param fieldSize      the longest header field ("Name: value") in bytes; 0 for no limit of its own
     * @param body           the largest request body in bytes; 0 for no limit
     * @param bodyMemory     request bodies up to this size are kept in memory, larger ones in a temp file
     * @param headerTimeout  the longest a request's head may take to arrive, from its first byte; zero for no limit
     * @param bodyTimeout    the time a request body may take to arrive, before the {@code bodyMinRate} allowance
     * @param bodyMinRate    bytes of body that earn one more second; 0 for no rate rule (bodyTimeout alone)
     */
    public record Settings(int requestLine, int fields, int fieldSize, long body, int bodyMemory,
                           Duration headerTimeout, Duration bodyTimeout, int bodyMinRate) {
        /**
         * The most header bytes (request line and fields) a request may have, gunicorn's own
         * bound for its header buffer: every field at its largest plus the request line.
         */
        public int headerBytes() {
            long line = requestLine == 0 ? 8190 : requestLine;
            long field = fieldSize == 0 ? 65536 : fieldSize;
            return (int) Math.min(Integer.MAX_VALUE / 2, line + 2 + fields * (field + 2) + 2);
        }
    }

    @Option(names = "--limit-request-line", paramLabel = "INT", defaultValue = "4094",
            description = "The longest request line (method, target and version) in bytes; longer gets 414."
                    + " 0 for no limit of its own. Default: ${DEFAULT-VALUE}.")
    int limitRequestLine;

    @Option(names = "--limit-request-fields", paramLabel = "INT", defaultValue = "100",
            description = "The most header fields in a request; more get 431. At most " + MAX_FIELDS
                    + " (0 means " + MAX_FIELDS + "). Default: ${DEFAULT-VALUE}.")
    int limitRequestFields;

    @Option(names = {"--limit-request-field_size", "--limit-request-field-size"}, paramLabel = "INT", defaultValue = "8190",
            description = "The longest header field line (name, colon, value and CRLF) in bytes; longer gets 431."
                    + " 0 for no limit of its own. Default: ${DEFAULT-VALUE}.")
    int limitRequestFieldSize;

    @Option(names = "--limit-request-body", paramLabel = "BYTES", defaultValue = "1073741824",
            description = "The largest request body in bytes; larger gets 413 before the app runs. 0 for no limit."
                    + " Default: ${DEFAULT-VALUE} (1 GiB).")
    long limitRequestBody;

    @Option(names = "--body-buffer-size", paramLabel = "BYTES", defaultValue = "1048576",
            description = "Request bodies are read whole before the app runs: up to this size in memory, larger ones"
                    + " in an unlinked temp file. Default: ${DEFAULT-VALUE} (1 MiB).")
    int bodyBufferSize;

    @Option(names = "--header-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "Close a connection whose request head (line and headers) takes longer than this to arrive"
                    + " (slowloris); 0 for no limit. Default: ${DEFAULT-VALUE}.")
    int headerTimeout;

    @Option(names = "--body-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "Answer 408 and close the connection when a request body takes longer than this, plus one second"
                    + " per --body-min-rate bytes received, to arrive. Default: ${DEFAULT-VALUE}.")
    int bodyTimeout;

    @Option(names = "--body-min-rate", paramLabel = "BYTES", defaultValue = "500",
            description = "Bytes of request body that earn one more second of --body-timeout (Apache's"
                    + " RequestReadTimeout MinRate); 0 for none. Default: ${DEFAULT-VALUE}.")
    int bodyMinRate;

    Settings settings(CommandLine cmd) {
        nonNegative(cmd, "--limit-request-line", limitRequestLine);
        nonNegative(cmd, "--limit-request-field_size", limitRequestFieldSize);
        if (limitRequestFields < 0 || limitRequestFields > MAX_FIELDS) {
            throw new CommandLine.ParameterException(cmd, "--limit-request-fields " + limitRequestFields
                    + ": expected 0 to " + MAX_FIELDS + " header fields");
        }
        if (limitRequestBody < 0) {
            throw new CommandLine.ParameterException(cmd, "--limit-request-body " + limitRequestBody
                    + ": expected a size in bytes, or 0 for no limit");
        }
        if (bodyBufferSize < 0) {
            throw new CommandLine.ParameterException(cmd, "--body-buffer-size " + bodyBufferSize + ": expected a size in bytes");
        }
        nonNegative(cmd, "--header-timeout", headerTimeout);
        if (bodyTimeout < 1) {
            throw new CommandLine.ParameterException(cmd, "--body-timeout " + bodyTimeout + ": expected at least 1 second");
        }
        nonNegative(cmd, "--body-min-rate", bodyMinRate);
        return new Settings(limitRequestLine, limitRequestFields == 0 ? MAX_FIELDS : limitRequestFields, limitRequestFieldSize,
                limitRequestBody, bodyBufferSize, Duration.ofSeconds(headerTimeout), Duration.ofSeconds(bodyTimeout), bodyMinRate);
    }

    private static void nonNegative(CommandLine cmd, String flag, int value) {
        if (value < 0) throw new CommandLine.ParameterException(cmd, flag + " " + value + ": must be 0 or more");
    }
}
