package jwsgi.python;

/**
 * A CPython version, as reported by the interpreter jwsgi embeds.
 *
 * @param major  3
 * @param minor  10 to 13
 * @param micro  patch level
 */
public record PythonVersion(int major, int minor, int micro) implements Comparable<PythonVersion> {
    /** The range this binding is written and tested for. */
    public static final String SUPPORTED = "3.10 to 3.13";

    public static PythonVersion parse(String text) {
        String[] parts = text.trim().split("\\.");
        if (parts.length < 2) {
            throw new IllegalArgumentException("not a Python version: '" + text + "'");
        }
        return new PythonVersion(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]),
                parts.length > 2 ? Integer.parseInt(parts[2]) : 0);
    }

    public boolean isSupported() {
        return major == 3 && minor >= 10 && minor <= 13;
    }

    public boolean atLeast(int major, int minor) {
        return this.major > major || (this.major == major && this.minor >= minor);
    }

    @Override
    public int compareTo(PythonVersion o) {
        int c = Integer.compare(major, o.major);
        if (c == 0) c = Integer.compare(minor, o.minor);
        return c != 0 ? c : Integer.compare(micro, o.micro);
    }

    @Override
    public String toString() {
        return major + "." + minor + "." + micro;
    }
}
