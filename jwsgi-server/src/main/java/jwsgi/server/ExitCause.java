package jwsgi.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import jwsgi.posix.Processes;
import jwsgi.posix.Signal;

/** Why a worker ended, for the master's log: its exit code or signal, what that usually means, and the JVM's crash report. */
final class ExitCause {
    private ExitCause() {}

    /** E.g. "was killed by SIGSEGV (a crash in native code, e.g. a C extension); crash report /tmp/...". */
    static String of(WorkerHandle w, Processes.Exit exit) {
        StringBuilder why = new StringBuilder();
        if (!exit.signaled()) {
            why.append("exited with code ").append(exit.code());
            if (w.bootError().isEmpty() && w.state() == WorkerHandle.State.BOOTING && exit.code() != 0) why.append(" while booting");
            if (exit.code() == 0) why.append(" without being asked to");
        } else {
            why.append("was killed by ").append(Signal.describe(exit.signal()));
            why.append(Signal.of(exit.signal()).map(s -> meaning(s, w)).orElse(""));
            if (exit.coreDumped()) why.append(", core dumped");
        }
        Path report = WorkerCommand.crashReport(Integer.toString(w.pid));
        if (Files.isRegularFile(report)) why.append("; crash report ").append(report).append(crashSummary(report));
        return why.toString();
    }

    private static String meaning(Signal signal, WorkerHandle w) {
        return switch (signal) {
            case KILL -> w.killedByMaster() ? " (by the master, see above)" : " (by the kernel's out-of-memory killer, or someone's kill -9)";
            case ABRT -> " (abort: a fatal error in native code: the JVM's crash report, or Python's os.abort())";
            case SEGV -> " (a crash in native code, e.g. a C extension)";
            default -> "";
        };
    }

    /** The lines of a JVM crash report that say what crashed: the signal, and the native frame. */
    private static String crashSummary(Path report) {
        try {
            List<String> lines = Files.readAllLines(report).stream().limit(40).toList();
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < lines.size(); i++) {
                String l = lines.get(i);
                if (l.startsWith("#  SIG") || (l.startsWith("# Problematic frame:") && i + 1 < lines.size())) {
                    s.append("\n  ").append(l.startsWith("#  SIG") ? l.substring(1).strip() : lines.get(i + 1).substring(1).strip());
                }
            }
            return s.toString();
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }
}
