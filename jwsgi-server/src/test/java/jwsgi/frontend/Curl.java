package jwsgi.frontend;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Debian's curl (with nghttp2 for HTTP/2) as a second, independent client. */
final class Curl {
    private Curl() {}

    record Result(int exit, String out, String err) {}

    /** Runs curl quietly with {@code args} and fails unless it exits 0; returns its output. */
    static String run(String... args) {
        return run(args, null);
    }

    /** Like {@link #run(String...)}, with {@code stdin} as curl's standard input. */
    static String withInput(String stdin, String... args) {
        return run(args, stdin);
    }

    private static String run(String[] args, String stdin) {
        Result r = attempt(args, stdin);
        if (r.exit() != 0) throw new IllegalStateException("curl " + String.join(" ", args) + " exited " + r.exit() + ": " + r.err());
        return r.out();
    }

    static Result attempt(String... args) {
        return attempt(args, null);
    }

    private static Result attempt(String[] args, String stdin) {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "30"));
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).start();
            try (OutputStream in = p.getOutputStream()) {
                if (stdin != null) in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
            byte[] out = p.getInputStream().readAllBytes();
            byte[] err = p.getErrorStream().readAllBytes();
            if (!p.waitFor(40, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("curl did not finish: " + cmd);
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8).strip(), new String(err, StandardCharsets.UTF_8).strip());
        } catch (IOException e) {
            throw new IllegalStateException("cannot run curl", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
