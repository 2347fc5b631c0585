package jwsgi.server;

import java.nio.charset.StandardCharsets;

/**
 * One line a worker writes to the master on its pipe: a verb, then optional details.
 *
 * <ul>
 *   <li>{@code beat}: the worker is alive (every second, from a thread of its own);</li>
 *   <li>{@code ready}: the app is imported and the worker accepts requests;</li>
 *   <li>{@code retire CAUSE REASON}: the worker wants to be replaced; CAUSE is one word
 *       ({@link #MAX_REQUESTS}, {@link #HUNG_REQUEST}, {@link #FILE_CHANGED}), which the
 *       master counts restarts by; it keeps serving until the master stops it, once a
 *       replacement is ready;</li>
 *   <li>{@code boot-error CODE}: the worker cannot start (the app does not import, bad
 *       settings) and exits with CODE: starting another would fail the same way.</li>
 * </ul>
 */
record ControlMessage(Verb verb, String detail) {
    enum Verb { BEAT, READY, RETIRE, BOOT_ERROR }

    static final ControlMessage BEAT = new ControlMessage(Verb.BEAT, "");
    static final ControlMessage READY = new ControlMessage(Verb.READY, "");

    /** Causes of a {@code retire}. */
    static final String MAX_REQUESTS = "max_requests";
    static final String HUNG_REQUEST = "hung_request";
    static final String FILE_CHANGED = "file_changed";

    /** @param cause one word, e.g. {@link #MAX_REQUESTS} */
    static ControlMessage retire(String cause, String reason) {
        return new ControlMessage(Verb.RETIRE, cause + " " + reason);
    }

    /** The first word of the detail: a {@code retire}'s cause. */
    String cause() {
        int space = detail.indexOf(' ');
        return space < 0 ? detail : detail.substring(0, space);
    }

    /** The detail after its first word: a {@code retire}'s reason. */
    String reason() {
        int space = detail.indexOf(' ');
        return space < 0 ? "" : detail.substring(space + 1);
    }

    static ControlMessage bootError(int code) {
        return new ControlMessage(Verb.BOOT_ERROR, Integer.toString(code));
    }

    /** The code of a {@code boot-error}; FAILURE's when it is not a number. */
    ExitCode exitCode() {
        try {
            return ExitCode.of(Integer.parseInt(detail.strip()));
        } catch (NumberFormatException e) {
            return ExitCode.FAILURE;
        }
    }

    byte[] encode() {
        String verb = verb().name().toLowerCase().replace('_', '-');
        String line = detail.isEmpty() ? verb : verb + " " + detail.replace('\n', ' ');
        return (line + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** Parses one line; null for a line that is not a message (ignored, for forward compatibility). */
    static ControlMessage parse(String line) {
        int space = line.indexOf(' ');
        String verb = space < 0 ? line : line.substring(0, space);
        String detail = space < 0 ? "" : line.substring(space + 1);
        for (Verb v : Verb.values()) {
            if (v.name().toLowerCase().replace('_', '-').equals(verb)) return new ControlMessage(v, detail);
        }
        return null;
    }
}
