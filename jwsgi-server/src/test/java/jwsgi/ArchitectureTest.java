package jwsgi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The package directions of docs/ARCHITECTURE.md, read from the import lines (and qualified
 * names) of every main source file of every module: each package imports only the packages
 * {@link #MAY_IMPORT} lists for it; only {@code python} and {@code wsgi} use the C API
 * ({@code CPython}) or count references; no main file is over {@value #MAX_LINES} lines.
 * ARCHITECTURE.md's dependency table must list the same directions. Each package is in its
 * module ({@link #MODULE}), and the embedding modules' packages use no library their module
 * does not have ({@link #MAY_NOT_USE}): the core (python, wsgi, embed) neither Jetty nor the
 * servlet API, the Jetty handler no servlet API, the servlet no Jetty, and none of them the
 * command line's libraries. The compiler enforces the module edges as well; this test also
 * keeps the directions inside a module.
 */
@Tag("fast")
class ArchitectureTest {
    /** Every module's main sources; the tests run from the repository's root. */
    private static final Path ROOT = Path.of("");
    private static final Path ARCHITECTURE = Path.of("docs/ARCHITECTURE.md");
    private static final int MAX_LINES = 500;

    /** What each package may import from jwsgi; written once, here (ARCHITECTURE.md mirrors it). */
    private static final Map<String, Set<String>> MAY_IMPORT = directions(
            "server", "config embed hooks http log metrics ops posix python wsgi",
            "ops", "config http metrics posix",
            "metrics", "http posix wsgi",
            "http", "config embed jetty log wsgi",
            "hooks", "config log python wsgi",
            "jetty", "embed wsgi",
            "servlet", "embed wsgi",
            "embed", "python wsgi",
            "wsgi", "python",
            "config", "log posix python",
            "log", "posix",
            "python", "",
            "posix", "");

    /**
     * The module that holds each package (docs/ARCHITECTURE.md, "Modules"). The compiler keeps a
     * module from importing one it does not depend on; this keeps each package in its module.
     */
    private static final Map<String, String> MODULE = modules(
            "jwsgi-core", "python wsgi embed",
            "jwsgi-jetty", "jetty",
            "jwsgi-servlet", "servlet",
            "jwsgi-server", "config log posix hooks http server metrics ops");

    /** Libraries (import prefixes) a package's module does not have: the embedding modules are split along these. */
    private static final Map<String, List<String>> MAY_NOT_USE = Map.of(
            "python", List.of("org.eclipse.jetty", "jakarta.servlet", "picocli", "org.bouncycastle", "ch.qos.logback"),
            "wsgi", List.of("org.eclipse.jetty", "jakarta.servlet", "picocli", "org.bouncycastle", "ch.qos.logback"),
            "embed", List.of("org.eclipse.jetty", "jakarta.servlet", "picocli", "org.bouncycastle", "ch.qos.logback"),
            "jetty", List.of("jakarta.servlet", "picocli", "org.bouncycastle", "ch.qos.logback"),
            "servlet", List.of("org.eclipse.jetty", "picocli", "org.bouncycastle", "ch.qos.logback"));
    private static final Pattern LIBRARY_IMPORT = Pattern.compile("^\\s*import\\s+(?:static\\s+)?([a-z][\\w.]*)\\.[\\w*]+\\s*;");

    /** The packages that may hold raw {@code PyObject*} references and the C API. */
    private static final Set<String> C_API_PACKAGES = Set.of("python", "wsgi");

    private static final Pattern IMPORT = Pattern.compile("^\\s*import\\s+(?:static\\s+)?(jwsgi\\.([a-z]+)\\.[\\w.*]+)\\s*;");
    private static final Pattern QUALIFIED = Pattern.compile("\\bjwsgi\\.([a-z]+)\\.([A-Z]\\w*)");
    private static final Pattern REFERENCE_COUNT = Pattern.compile("\\b(incRef|decRef)\\s*\\(");
    private static final Pattern DOC_ROW = Pattern.compile("^\\| `(\\w+)` \\| (.*) \\|$");

    @Test
    void everyPackageImportsOnlyThePackagesBelowIt() {
        List<String> violations = new ArrayList<>();
        for (SourceFile f : mainSources()) {
            Set<String> allowed = MAY_IMPORT.get(f.pkg);
            if (allowed == null) {
                violations.add(f.name + ": package " + f.pkg + " is not in ArchitectureTest.MAY_IMPORT;"
                        + " add it there and to the table in docs/ARCHITECTURE.md");
                continue;
            }
            for (Reference r : f.references()) {
                if (r.pkg.equals(f.pkg) || allowed.contains(r.pkg)) continue;
                violations.add(f.name + ":" + r.line + " uses " + r.what + ": " + f.pkg + " may import only "
                        + (allowed.isEmpty() ? "the JDK and libraries" : String.join(", ", allowed))
                        + " (docs/ARCHITECTURE.md, \"Dependencies point one way\")");
            }
        }
        assertNone(violations);
    }

    @Test
    void everyPackageIsInItsModule() {
        List<String> violations = new ArrayList<>();
        Set<String> modules = new TreeSet<>();
        for (SourceFile f : mainSources()) {
            modules.add(f.module);
            if (!f.module.equals(MODULE.get(f.pkg))) {
                violations.add(f.name + ": package " + f.pkg + " belongs in " + MODULE.getOrDefault(f.pkg, "a module of ArchitectureTest.MODULE")
                        + " (docs/ARCHITECTURE.md, \"Modules\")");
            }
        }
        assertEquals(new TreeSet<>(MODULE.values()), modules, "the modules with main sources");
        assertNone(violations);
    }

    @Test
    void theEmbeddingPackagesUseOnlyTheLibrariesOfTheirModules() {
        List<String> violations = new ArrayList<>();
        for (SourceFile f : mainSources()) {
            List<String> forbidden = MAY_NOT_USE.getOrDefault(f.pkg, List.of());
            for (int i = 0; i < f.code.size(); i++) {
                Matcher m = LIBRARY_IMPORT.matcher(f.code.get(i));
                if (!m.find()) continue;
                for (String library : forbidden) {
                    if (m.group(1).startsWith(library)) {
                        violations.add(f.name + ":" + (i + 1) + " imports " + m.group(1) + ": " + f.pkg + " may not use " + library
                                + " (docs/ARCHITECTURE.md, \"Modules\")");
                    }
                }
            }
        }
        assertNone(violations);
    }

    @Test
    void onlyPythonAndWsgiUseTheCApiOrCountReferences() {
        List<String> violations = new ArrayList<>();
        for (SourceFile f : mainSources()) {
            if (C_API_PACKAGES.contains(f.pkg)) continue;
            for (Reference r : f.references()) {
                if (r.what.startsWith("jwsgi.python.CPython") || r.what.equals("jwsgi.python.*")) {
                    violations.add(f.name + ":" + r.line + " uses " + r.what + ": only python and wsgi may use the C API;"
                            + " call the Python glue through Interpreter.callGlue or a PythonFunction");
                }
            }
            for (int i = 0; i < f.code.size(); i++) {
                Matcher m = REFERENCE_COUNT.matcher(f.code.get(i));
                while (m.find()) {
                    violations.add(f.name + ":" + (i + 1) + " calls " + m.group(1) + ": only python and wsgi count references;"
                            + " let Interpreter.callGlue, PythonFunction or Interpreter.toPython own them");
                }
            }
        }
        assertNone(violations);
    }

    @Test
    void noMainSourceFileIsOver500Lines() {
        List<String> violations = new ArrayList<>();
        for (SourceFile f : mainSources()) {
            if (f.lines > MAX_LINES) {
                violations.add(f.name + " has " + f.lines + " lines: no main source file may have more than " + MAX_LINES
                        + "; split it along its responsibilities");
            }
        }
        assertNone(violations);
    }

    @Test
    void theDirectionsPointOneWay() {
        for (String pkg : MAY_IMPORT.keySet()) {
            List<String> path = new ArrayList<>();
            assertTrue(acyclic(pkg, path, new HashSet<>()), "MAY_IMPORT has a cycle: " + String.join(" -> ", path));
        }
    }

    @Test
    void architectureMdListsTheSameDirections() throws IOException {
        Map<String, Set<String>> documented = new TreeMap<>();
        for (String line : Files.readAllLines(ARCHITECTURE, StandardCharsets.UTF_8)) {
            Matcher m = DOC_ROW.matcher(line);
            if (!m.matches()) continue;
            documented.put(m.group(1), Stream.of(m.group(2).replace("`", "").replace("—", "").split("[,\\s]+"))
                    .filter(s -> !s.isEmpty()).collect(Collectors.toCollection(TreeSet::new)));
        }
        assertEquals(new TreeMap<>(MAY_IMPORT), documented,
                "the dependency table in docs/ARCHITECTURE.md must list what ArchitectureTest.MAY_IMPORT allows");
    }

    private static boolean acyclic(String pkg, List<String> path, Set<String> done) {
        if (path.contains(pkg)) {
            path.add(pkg);
            return false;
        }
        if (done.contains(pkg)) return true;
        path.add(pkg);
        for (String next : MAY_IMPORT.getOrDefault(pkg, Set.of())) {
            if (!acyclic(next, path, done)) return false;
        }
        path.remove(path.size() - 1);
        done.add(pkg);
        return true;
    }

    private static void assertNone(List<String> violations) {
        if (!violations.isEmpty()) fail(violations.size() + " violation(s):\n  " + String.join("\n  ", violations));
    }

    private static Map<String, String> modules(String... pairs) {
        Map<String, String> table = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            for (String pkg : pairs[i + 1].split(" ")) table.put(pkg, pairs[i]);
        }
        return table;
    }

    private static Map<String, Set<String>> directions(String... pairs) {
        Map<String, Set<String>> table = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            table.put(pairs[i], pairs[i + 1].isEmpty() ? new TreeSet<>() : new TreeSet<>(List.of(pairs[i + 1].split(" "))));
        }
        return table;
    }

    /** A use of another jwsgi class: an import line, or a qualified name in code. */
    private record Reference(int line, String pkg, String what) {}

    /**
     * A main source file, its package and its code with comments and string contents blanked
     * (line numbers kept), so prose about a package is not a dependency on it.
     */
    private record SourceFile(String name, String module, String pkg, int lines, List<String> code) {
        List<Reference> references() {
            List<Reference> refs = new ArrayList<>();
            for (int i = 0; i < code.size(); i++) {
                String line = code.get(i);
                Matcher imp = IMPORT.matcher(line);
                if (imp.find()) {
                    refs.add(new Reference(i + 1, imp.group(2), imp.group(1)));
                    continue;
                }
                Matcher q = QUALIFIED.matcher(line);
                while (q.find()) refs.add(new Reference(i + 1, q.group(1), q.group()));
            }
            return refs;
        }
    }

    /** The main sources of every module ({@code jwsgi-<name>/src/main/java/jwsgi}). */
    private static List<SourceFile> mainSources() {
        try (Stream<Path> modules = Files.list(ROOT.toAbsolutePath())) {
            List<SourceFile> files = new ArrayList<>();
            for (Path module : modules.filter(m -> m.getFileName().toString().startsWith("jwsgi-")).sorted().toList()) {
                Path main = module.resolve("src/main/java/jwsgi");
                if (!Files.isDirectory(main)) continue;
                try (Stream<Path> paths = Files.walk(main)) {
                    for (Path p : paths.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                        String relative = main.relativize(p).toString();
                        String pkg = relative.contains("/") ? relative.substring(0, relative.indexOf('/')) : "(jwsgi)";
                        String text = Files.readString(p, StandardCharsets.UTF_8);
                        List<String> lines = text.lines().toList();
                        files.add(new SourceFile(ROOT.toAbsolutePath().relativize(p).toString(), module.getFileName().toString(), pkg,
                                lines.size(), blankCommentsAndStrings(text).lines().toList()));
                    }
                }
            }
            assertTrue(files.size() > 50, "found only " + files.size() + " files under " + ROOT.toAbsolutePath() + "/jwsgi-*/src/main/java");
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Replaces comments and the contents of string, text-block and char literals with spaces, keeping newlines. */
    static String blankCommentsAndStrings(String s) {
        StringBuilder out = new StringBuilder(s.length());
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            String end = null;
            if (s.startsWith("//", i)) end = "\n";
            else if (s.startsWith("/*", i)) end = "*/";
            else if (s.startsWith("\"\"\"", i)) end = "\"\"\"";
            else if (c == '"') end = "\"";
            else if (c == '\'') end = "'";
            if (end == null) {
                out.append(c);
                i++;
                continue;
            }
            int start = i;
            i += end.equals("\n") || end.equals("*/") ? 2 : end.length();
            while (i < s.length() && !s.startsWith(end, i)) i += s.charAt(i) == '\\' && !end.equals("\n") && !end.equals("*/") ? 2 : 1;
            i = Math.min(s.length(), i + (end.equals("\n") ? 0 : end.length()));
            for (int k = start; k < i; k++) out.append(s.charAt(k) == '\n' ? '\n' : ' ');
        }
        return out.toString();
    }
}
