package jwsgi.python;

import java.nio.file.Path;
import java.util.List;

/**
 * What the chosen interpreter reported about itself: everything needed to embed it so that,
 * inside the server, {@code sys.prefix}, {@code sys.executable} and {@code sys.path} are what
 * the interpreter (or virtualenv) shows on its own.
 *
 * @param requested   the interpreter as the user named it (may be a pyenv shim or a symlink)
 * @param executable  {@code sys.executable}: used as the embedded interpreter's program name,
 *                    which is how CPython finds a virtualenv's {@code pyvenv.cfg}
 * @param version     the interpreter's version
 * @param library     the shared libpython to load
 * @param prefix      {@code sys.prefix} (the virtualenv, when there is one)
 * @param basePrefix  {@code sys.base_prefix}
 * @param sysPath     {@code sys.path}, without the script-directory entry
 * @param gilDisabled true for a free-threaded build
 */
public record PythonInstallation(
        Path requested,
        Path executable,
        PythonVersion version,
        Path library,
        String prefix,
        String basePrefix,
        List<String> sysPath,
        boolean gilDisabled) {

    public boolean isVirtualEnv() {
        return !prefix.equals(basePrefix);
    }

    /**
     * Whether embedding {@code other} would make the same runtime: the same library, started
     * with the same program name (which decides the virtualenv and sys.path).
     */
    public boolean sameRuntime(PythonInstallation other) {
        return library.equals(other.library) && executable.equals(other.executable);
    }

    /** One line for the start-up log. */
    public String describe() {
        return "Python " + version + (gilDisabled ? " (free-threaded)" : "") + " " + executable
                + (isVirtualEnv() ? " (virtualenv " + prefix + ")" : "") + ", " + library;
    }
}
