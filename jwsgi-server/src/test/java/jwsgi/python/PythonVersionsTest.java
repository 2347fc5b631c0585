package jwsgi.python;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import jwsgi.testing.Http;
import jwsgi.testing.Pythons;
import jwsgi.testing.ServerProcess;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The "the user's Python, embedded": for every supported interpreter on the machine, for
 * virtualenvs, and for each way of choosing the interpreter ({@code --python PATH}, a virtualenv
 * directory, {@code $VIRTUAL_ENV}, {@code python3} on {@code PATH}), the embedded interpreter's
 * version, {@code sys.prefix}, {@code sys.base_prefix}, {@code sys.executable} and {@code sys.path}
 * equal what that interpreter shows when run on its own, and C extension modules import.
 *
 * <p>{@code sys.path} is compared like gunicorn's: the server puts the {@code --chdir} directory
 * at {@code sys.path[0]}; the rest must equal the interpreter's {@code sys.path[1:]} ({@code -c}'s
 * {@code ''} entry has no embedded equivalent).
 */
class PythonVersionsTest {
    /** What an interpreter prints about itself, in the shape of corpus.py's /info. */
    private static final String SELF_REPORT = "import json, sys; print(json.dumps({'version': '%d.%d.%d' % sys.version_info[:3],"
            + " 'prefix': sys.prefix, 'base_prefix': sys.base_prefix, 'executable': sys.executable, 'path': sys.path[1:]}))";

    @TempDir
    static Path work;

    /** Debian's python3 venv, with --system-site-packages. */
    private static Path debianVenv;
    /** A pyenv build's venv, without system site-packages (null when there is no pyenv build). */
    private static Path pyenvVenv;

    @BeforeAll
    static void makeVirtualenvs() throws Exception {
        debianVenv = work.resolve("debian-venv");
        makeVenv(Pythons.DEBIAN, debianVenv, true);
        List<Path> pyenv = pyenvInterpreters();
        if (!pyenv.isEmpty()) {
            pyenvVenv = work.resolve("pyenv-venv");
            makeVenv(pyenv.getLast(), pyenvVenv, false);
        }
    }

    private static void makeVenv(Path python, Path dir, boolean systemSitePackages) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(python.toString(), "-m", "venv", "--without-pip"));
        if (systemSitePackages) cmd.add("--system-site-packages");
        cmd.add(dir.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "venv creation hung: " + cmd);
        assertEquals(0, p.exitValue(), "cannot make a venv with " + cmd + ":\n" + out);
        assertTrue(Files.exists(dir.resolve("pyvenv.cfg")), "no pyvenv.cfg in " + dir);
    }

    private static List<Path> pyenvInterpreters() {
        return Pythons.supported().stream().filter(p -> !p.equals(Pythons.DEBIAN)).toList();
    }

    // ---- every supported interpreter ------------------------------------------------------------

    static Stream<Path> interpreters() {
        return Pythons.supported().stream();
    }

    @ParameterizedTest(name = "--python {0}")
    @MethodSource("interpreters")
    void embedsEachSupportedInterpreterAsItRunsAlone(Path python) {
        try (ServerProcess server = ServerProcess.startRaw(corpusArgs("--python", python.toString()), Map.of())) {
            assertEmbedsLike(python, server.url(), server.output());
        }
    }

    // ---- virtualenvs ----------------------------------------------------------------------------

    /** How the virtualenv is chosen. */
    enum Choice { DIRECTORY, BIN_PYTHON, VIRTUAL_ENV }

    static Stream<Arguments> venvCases() {
        List<Arguments> cases = new ArrayList<>();
        for (String venv : List.of("debian", "pyenv")) {
            for (Choice choice : Choice.values()) cases.add(Arguments.of(venv, choice));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} venv chosen by {1}")
    @MethodSource("venvCases")
    void embedsAVirtualenv(String which, Choice choice) throws Exception {
        Path venv = which.equals("debian") ? debianVenv : pyenvVenv;
        Assumptions.assumeTrue(venv != null, "no pyenv build of 3.10-3.13 to make a venv from");
        // What the user would run: the venv's python3 (what an activated venv's PATH gives), or bin/python.
        Path asUserRuns = venv.resolve(choice == Choice.BIN_PYTHON ? "bin/python" : "bin/python3");
        List<String> args = switch (choice) {
            case DIRECTORY -> corpusArgs("--python", venv.toString());
            case BIN_PYTHON -> corpusArgs("--python", asUserRuns.toString());
            case VIRTUAL_ENV -> corpusArgs();
        };
        Map<String, String> env = choice == Choice.VIRTUAL_ENV ? Map.of("VIRTUAL_ENV", venv.toString()) : Map.of();
        try (ServerProcess server = ServerProcess.startRaw(args, env)) {
            JsonNode info = assertEmbedsLike(asUserRuns, server.url(), server.output());
            assertEquals(venv.toString(), info.path("prefix").asText(), "sys.prefix is the virtualenv");
            assertFalse(info.path("prefix").asText().equals(info.path("base_prefix").asText()), "a virtualenv: " + info);
            String sitePackages = venv.resolve("lib/python" + minor(info.path("version").asText()) + "/site-packages").toString();
            assertTrue(textList(info.path("path")).contains(sitePackages), "the venv's site-packages on sys.path: " + info.path("path"));
            boolean systemSite = textList(info.path("path")).stream().anyMatch(p -> p.endsWith("dist-packages"));
            assertEquals(which.equals("debian"), systemSite,
                    "system site-packages only for the --system-site-packages venv: " + info.path("path"));
        }
    }

    @Test
    void pythonOptionWinsOverVirtualEnv() throws Exception {
        Path other = pyenvInterpreters().isEmpty() ? null : pyenvInterpreters().getFirst();
        Assumptions.assumeTrue(other != null, "no pyenv build of 3.10-3.13");
        try (ServerProcess server = ServerProcess.startRaw(corpusArgs("--python", other.toString()), Map.of("VIRTUAL_ENV", debianVenv.toString()))) {
            JsonNode info = assertEmbedsLike(other, server.url(), server.output());
            assertFalse(info.path("prefix").asText().equals(debianVenv.toString()), "--python, not $VIRTUAL_ENV: " + info);
        }
    }

    // ---- python3 on PATH ------------------------------------------------------------------------

    @Test
    void withoutPythonOrVirtualEnvUsesPython3OnPath() throws Exception {
        // An interpreter that differs from whatever `python3` on the usual PATH is (pyenv's shim,
        // Debian's), so that using the wrong one shows.
        String usual = Pythons.run(Path.of("python3"), "import sys; print(sys.executable, '%d.%d.%d' % sys.version_info[:3])").strip();
        Path target = Pythons.supported().stream()
                .filter(p -> p.toString().contains("/3.12."))
                .findFirst()
                .orElseGet(() -> Pythons.supported().stream()
                        .filter(p -> !usual.endsWith(" " + version(p)))
                        .findFirst().orElse(null));
        Assumptions.assumeTrue(target != null, "no supported interpreter that differs from python3 on PATH (" + usual + ")");
        assertFalse(usual.endsWith(" " + version(target)), "the test needs an interpreter other than " + usual);

        Path bin = Files.createDirectories(work.resolve("path-bin"));
        Path python3 = bin.resolve("python3");
        Files.deleteIfExists(python3);
        Files.createSymbolicLink(python3, target);
        String path = bin + ":" + System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        // ServerProcess.launch passes on no VIRTUAL_ENV of this JVM: no --python, no $VIRTUAL_ENV.
        try (ServerProcess server = ServerProcess.startRaw(corpusArgs(), Map.of("PATH", path))) {
            JsonNode info = assertEmbedsLike(python3, server.url(), server.output());
            assertEquals(version(target), info.path("version").asText());
            assertEquals(python3.toString(), info.path("executable").asText(), "the python3 found first on PATH");
        }
    }

    // ---- helpers --------------------------------------------------------------------------------

    private static List<String> corpusArgs(String... first) {
        List<String> args = new ArrayList<>(List.of(first));
        args.addAll(List.of("--chdir", ServerProcess.APPS.toString(), "-b", "127.0.0.1:0", "corpus"));
        return args;
    }

    /**
     * GETs /info and /imports and checks them against what {@code python} prints on its own.
     *
     * @return the /info reply
     */
    private static JsonNode assertEmbedsLike(Path python, String url, String log) {
        JsonNode alone = Http.json(Pythons.run(python, SELF_REPORT));
        JsonNode info = Http.getJson(url + "/info");
        String context = "\nembedded: " + info + "\nalone (" + python + "): " + alone + "\nserver log:\n" + log;
        assertEquals(alone.path("version").asText(), info.path("version").asText(), "version" + context);
        assertEquals(alone.path("prefix").asText(), info.path("prefix").asText(), "sys.prefix" + context);
        assertEquals(alone.path("base_prefix").asText(), info.path("base_prefix").asText(), "sys.base_prefix" + context);
        assertEquals(alone.path("executable").asText(), info.path("executable").asText(), "sys.executable" + context);
        List<String> embeddedPath = textList(info.path("path"));
        assertFalse(embeddedPath.isEmpty(), "sys.path" + context);
        assertEquals(ServerProcess.APPS.toString(), embeddedPath.getFirst(), "sys.path[0] is the --chdir directory" + context);
        assertEquals(textList(alone.path("path")), embeddedPath.subList(1, embeddedPath.size()),
                "sys.path after the --chdir entry" + context);

        JsonNode imports = Http.getJson(url + "/imports");
        assertTrue(imports.path("c_scanner").asBoolean(), "json's C scanner (_json) loaded: " + imports + context);
        assertEquals("decimal", imports.path("decimal").asText(), "_decimal imports: " + imports + context);
        JsonNode modules = Http.getJson(url + "/info").path("modules");
        for (String m : List.of("_json", "_ssl", "_decimal")) {
            assertTrue(modules.path(m).asBoolean(), m + " in sys.modules after /imports: " + modules + context);
        }
        return info;
    }

    private static List<String> textList(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static String version(Path python) {
        return Pythons.run(python, "import sys; print('%d.%d.%d' % sys.version_info[:3])").strip();
    }

    private static String minor(String version) {
        return version.substring(0, version.lastIndexOf('.'));
    }
}
