package jwsgi.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import jwsgi.posix.ProcessOwner;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/** Who the process runs as and the pid file it leaves (gunicorn's "Server Mechanics"). */
public final class ProcessOptions {
    /**
     * @param owner   the user and group to switch to after binding, before the app is imported
     * @param pidFile where to write the process id, or null
     */
    public record Settings(Optional<ProcessOwner> owner, Path pidFile) {}

    @Option(names = {"-u", "--user"}, paramLabel = "USER",
            description = "After binding, switch to USER (a name or uid) before the app is imported. Needs root.")
    String user;

    @Option(names = {"-g", "--group"}, paramLabel = "GROUP",
            description = "Switch to GROUP (a name or gid). Default: the --user's primary group.")
    String group;

    @Option(names = "--initgroups",
            description = "Give the process all the supplementary groups of --user (default: none).")
    boolean initgroups;

    @Option(names = {"-p", "--pid"}, paramLabel = "FILE",
            description = "Write the process id to FILE, and remove it on exit.")
    String pidFile;

    Settings settings(CommandLine cmd) {
        Optional<ProcessOwner> owner;
        try {
            owner = ProcessOwner.resolve(user, group, initgroups);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cmd, e.getMessage());
        }
        Path pid = null;
        if (pidFile != null) {
            pid = Path.of(pidFile).toAbsolutePath().normalize();
            if (pid.getParent() != null && !Files.isDirectory(pid.getParent())) {
                throw new CommandLine.ParameterException(cmd, "--pid " + pidFile + ": directory " + pid.getParent() + " does not exist");
            }
        }
        return new Settings(owner, pid);
    }
}
