package jwsgi.wsgi;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jwsgi.testing.Http;
import jwsgi.testing.Pythons;
import jwsgi.testing.ServerProcess;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Loading the app like gunicorn: {@code module:callable}, {@code module} alone (callable
 * {@code application}), {@code module:factory()} and {@code module:factory('arg', key=1)}, dotted
 * modules, {@code --chdir}, {@code --pythonpath} and {@code -e K=V}; and for every way of
 * naming something that is not a WSGI app: the Python traceback (when Python raised), a one-line
 * "Reason:", exit code 4 (APP_LOAD_ERROR) at once, and no Java stack trace.
 *
 * <p>The apps are in jwsgi-core/src/test/python/apps/loading/.
 */
class AppLoadingTest {
    private static final int APP_LOAD_ERROR = 4;
    private static final Path LOADING = ServerProcess.APPS.resolve("loading");
    private static final Path CHDIR_TARGET = LOADING.resolve("chdir_target");
    private static final Path PATH_A = LOADING.resolve("path_a");
    private static final Path PATH_B = LOADING.resolve("path_b");

    /** Serves {@code spec} from the loading apps directory with Debian's python3. */
    private static ServerProcess serve(String... specAndArgs) {
        return ServerProcess.startRaw(args(LOADING, specAndArgs), Map.of());
    }

    private static List<String> args(Path chdir, String... specAndArgs) {
        List<String> args = new ArrayList<>(List.of("--python", Pythons.DEBIAN.toString(), "-b", "127.0.0.1:0"));
        if (chdir != null) args.addAll(List.of("--chdir", chdir.toString()));
        args.addAll(List.of(specAndArgs));
        return args;
    }

    private static JsonNode get(ServerProcess server, String path) {
        return Http.getJson(server.url() + path);
    }

    // ---- the spec forms -------------------------------------------------------------------------

    @Test
    void moduleAndCallable() {
        try (ServerProcess server = serve("simple_app:app")) {
            assertEquals("simple_app.app", get(server, "/").path("app").asText());
        }
    }

    @Test
    void moduleAloneServesItsApplicationCallable() {
        try (ServerProcess server = serve("default_app")) {
            assertEquals("default_app.application", get(server, "/").path("app").asText(), "not default_app.app");
        }
    }

    @Test
    void factoryCalledWithoutArguments() {
        try (ServerProcess server = serve("factory_app:create_app()")) {
            JsonNode r = get(server, "/");
            assertEquals("factory_app.create_app", r.path("app").asText());
            assertEquals("[]", r.path("args").toString());
            assertEquals("{}", r.path("kwargs").toString());
            assertEquals(1, r.path("calls").asInt(), "the factory is called once");
        }
    }

    @Test
    void factoryCalledWithArguments() {
        try (ServerProcess server = serve("factory_app:create_app('arg', key=1)")) {
            JsonNode r = get(server, "/");
            assertEquals("[\"arg\"]", r.path("args").toString());
            assertEquals("{\"key\":1}", r.path("kwargs").toString());
            assertEquals(1, r.path("calls").asInt(), "the factory is called once");
        }
    }

    @Test
    void factoryArgumentsAreAnyPythonLiterals() {
        try (ServerProcess server = serve("factory_app:create_app('a,b:c)', 2.5, None, flag=True, opts={'x': [1, 2]})")) {
            JsonNode r = get(server, "/");
            assertEquals("[\"a,b:c)\",2.5,null]", r.path("args").toString());
            assertEquals("{\"flag\":true,\"opts\":{\"x\":[1,2]}}", r.path("kwargs").toString());
        }
    }

    @Test
    void moduleInAPackage() {
        try (ServerProcess server = serve("pkg.sub:app")) {
            JsonNode r = get(server, "/");
            assertEquals("pkg.sub.app", r.path("app").asText());
            assertEquals("pkg.sub", r.path("module").asText());
            assertEquals("pkg", r.path("package").asText());
        }
    }

    // ---- --chdir, --pythonpath, -e --------------------------------------------------------------

    @Test
    void chdirMakesTheDirectoryCurrentAndImportable() {
        // here_app is only in chdir_target; the server process itself runs in the project directory.
        try (ServerProcess server = ServerProcess.startRaw(args(CHDIR_TARGET, "here_app:app"), Map.of())) {
            JsonNode r = get(server, "/");
            assertEquals(CHDIR_TARGET.toString(), r.path("cwd").asText(), "os.getcwd()");
            assertEquals(CHDIR_TARGET.resolve("here_app.py").toString(), r.path("file").asText());
            assertEquals(CHDIR_TARGET.toString(), r.path("path").path(0).asText(), "sys.path[0] is the --chdir directory: " + r.path("path"));
        }
    }

    @Test
    void withoutChdirTheWorkingDirectoryIsFirstOnSysPath() throws Exception {
        try (ServerProcess server = ServerProcess.startIn(CHDIR_TARGET, args(null, "here_app:app"), Map.of())) {
            JsonNode r = get(server, "/");
            assertEquals(CHDIR_TARGET.toString(), r.path("cwd").asText(), "os.getcwd()");
            assertEquals(CHDIR_TARGET.resolve("here_app.py").toString(), r.path("file").asText());
            assertEquals(CHDIR_TARGET.toString(), r.path("path").path(0).asText(), "sys.path[0] is the working directory: " + r.path("path"));
        }
    }

    @Test
    void pythonpathDirectoriesComeFirstInOrderBeforeTheChdirEntry() {
        // mod_a is only in path_a, mod_b (which mod_a imports) only in path_b.
        try (ServerProcess server = ServerProcess.startRaw(
                args(CHDIR_TARGET, "--pythonpath", PATH_A + "," + PATH_B, "mod_a:app"), Map.of())) {
            JsonNode r = get(server, "/");
            assertEquals(PATH_A.resolve("mod_a.py").toString(), r.path("mod_a").asText());
            assertEquals(PATH_B.resolve("mod_b.py").toString(), r.path("mod_b").asText());
            assertEquals("from path_b", r.path("b").asText());
            JsonNode path = r.path("path");
            assertEquals(PATH_A.toString(), path.path(0).asText(), "sys.path: " + path);
            assertEquals(PATH_B.toString(), path.path(1).asText(), "sys.path: " + path);
            assertEquals(CHDIR_TARGET.toString(), path.path(2).asText(), "sys.path: " + path);
            assertEquals(CHDIR_TARGET.toString(), r.path("cwd").asText());
        }
    }

    @Test
    void envOptionsSetTheAppsEnvironment() {
        List<String> args = new ArrayList<>(List.of("--python", Pythons.DEBIAN.toString(), "-b", "127.0.0.1:0",
                "--chdir", ServerProcess.APPS.toString(),
                "-e", "JWSGI_T_A=1",
                "--env", "JWSGI_T_B=two words",
                "-e", "JWSGI_T_C=a=b==c",
                "-e", "JWSGI_T_EMPTY=",
                "-e", "JWSGI_T_OVER=inner",
                "corpus"));
        try (ServerProcess server = ServerProcess.startRaw(args, Map.of("JWSGI_T_OVER", "outer", "JWSGI_T_KEPT", "kept"))) {
            JsonNode env = get(server, "/info?env=JWSGI_T_A,JWSGI_T_B,JWSGI_T_C,JWSGI_T_EMPTY,JWSGI_T_OVER,JWSGI_T_KEPT").path("env");
            assertEquals("1", env.path("JWSGI_T_A").asText(), env.toString());
            assertEquals("two words", env.path("JWSGI_T_B").asText(), env.toString());
            assertEquals("a=b==c", env.path("JWSGI_T_C").asText(), "a value containing '=': " + env);
            assertTrue(env.path("JWSGI_T_EMPTY").isTextual() && env.path("JWSGI_T_EMPTY").asText().isEmpty(), "an empty value: " + env);
            assertEquals("inner", env.path("JWSGI_T_OVER").asText(), "-e overrides the inherited value: " + env);
            assertEquals("kept", env.path("JWSGI_T_KEPT").asText(), "the inherited environment stays: " + env);
        }
    }

    // ---- errors ---------------------------------------------------------------------------------

    /** What a failed start wrote, checked for the things every app-load failure shares. */
    record Failure(String output, String reason) {}

    private static Failure failToLoad(String... specAndArgs) {
        long start = System.nanoTime();
        ServerProcess server = ServerProcess.launch(args(LOADING, specAndArgs), Map.of());
        int code;
        try {
            code = server.waitFor(Duration.ofSeconds(30));
        } finally {
            server.close();
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        String output = server.output();
        assertEquals(APP_LOAD_ERROR, code, "exit code 4 (app load error):\n" + output);
        assertTrue(took.compareTo(Duration.ofSeconds(10)) < 0, "exits at once, took " + took + ":\n" + output);
        assertFalse(output.contains("Listening at"), "never listened:\n" + output);
        assertFalse(output.contains("Exception in thread"), "Java stack trace in:\n" + output);
        assertFalse(output.contains("\tat jwsgi."), "Java stack trace in:\n" + output);
        assertFalse(output.contains("\tat java."), "Java stack trace in:\n" + output);
        assertFalse(output.contains("internal error"), "reported as an internal error:\n" + output);
        List<String> reasons = output.lines().filter(l -> l.contains("Reason: ")).toList();
        assertEquals(1, reasons.size(), "one 'Reason:' line:\n" + output);
        String reason = reasons.getFirst().substring(reasons.getFirst().indexOf("Reason: ") + "Reason: ".length());
        return new Failure(output, reason);
    }

    private static void assertTraceback(Failure f, String... expected) {
        assertTrue(f.output().contains("Traceback (most recent call last):"), "the Python traceback is printed:\n" + f.output());
        int at = f.output().indexOf("Traceback (most recent call last):");
        String traceback = f.output().substring(at);
        for (String e : expected) assertTrue(traceback.contains(e), "the traceback shows " + e + ":\n" + f.output());
    }

    @Test
    void missingModule() {
        Failure f = failToLoad("jwsgi_no_such_module:app");
        assertTrue(f.reason().contains("jwsgi_no_such_module"), "the reason names the module: " + f.reason());
        assertTrue(f.reason().contains("--chdir") || f.reason().contains("--pythonpath"), "says what to do: " + f.reason());
        assertTraceback(f, "ModuleNotFoundError", "jwsgi_no_such_module");
    }

    @Test
    void missingModuleInAPackage() {
        Failure f = failToLoad("pkg.jwsgi_no_such_sub:app");
        assertTrue(f.reason().contains("pkg.jwsgi_no_such_sub"), "the reason names the module: " + f.reason());
    }

    @Test
    void moduleWhoseImportRaises() {
        Failure f = failToLoad("raising_app:app");
        assertTraceback(f, "File \"" + LOADING.resolve("raising_app.py") + "\", line 4",
                "raise RuntimeError(\"boom while importing raising_app\")",
                "RuntimeError: boom while importing raising_app");
        assertTrue(f.reason().contains("raising_app") && f.reason().contains("RuntimeError"), f.reason());
        assertTrue(f.reason().contains("boom while importing raising_app"), f.reason());
    }

    @Test
    void moduleWhoseOwnImportOfADependencyFails() {
        // The app exists; what is missing is the app's dependency: the reason must say which.
        Failure f = failToLoad("broken_dependency_app:app");
        assertTraceback(f, "File \"" + LOADING.resolve("broken_dependency_app.py") + "\", line 3",
                "ModuleNotFoundError: No module named 'jwsgi_test_nonexistent_dependency'");
        assertTrue(f.reason().contains("jwsgi_test_nonexistent_dependency"), "names the missing dependency: " + f.reason());
        assertFalse(f.reason().contains("no module named 'broken_dependency_app'"), "the app module itself exists: " + f.reason());
    }

    @Test
    void missingAttribute() {
        Failure f = failToLoad("simple_app:no_such_callable");
        assertTrue(f.reason().contains("no_such_callable"), "names the attribute: " + f.reason());
        assertTrue(f.reason().contains("simple_app"), "names the module: " + f.reason());
    }

    @Test
    void moduleAloneWithoutAnApplicationCallable() {
        Failure f = failToLoad("pkg.sub");
        assertTrue(f.reason().contains("application") && f.reason().contains("pkg.sub"), f.reason());
    }

    @Test
    void attributeThatIsNotCallable() {
        Failure f = failToLoad("factory_app:not_callable");
        assertTrue(f.reason().contains("not_callable"), "names it: " + f.reason());
        assertTrue(f.reason().contains("not callable") || f.reason().contains("not a callable"), "says it is not callable: " + f.reason());
    }

    @Test
    void attributeThatIsNone() {
        Failure f = failToLoad("factory_app:unset");
        assertTrue(f.reason().contains("unset") && f.reason().contains("None"), f.reason());
    }

    @Test
    void factoryReturningNone() {
        Failure f = failToLoad("factory_app:returns_none()");
        assertTrue(f.reason().contains("returns_none") && f.reason().contains("None"), f.reason());
    }

    @Test
    void factoryThatRaises() {
        Failure f = failToLoad("factory_app:failing_factory()");
        assertTraceback(f, "File \"" + LOADING.resolve("factory_app.py") + "\", line 25",
                "ValueError: the factory failed on purpose");
        assertTrue(f.reason().contains("ValueError"), f.reason());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"simple_app:1+", "simple_app:app(", ":app", "factory_app:create_app(os.environ)", "simple_app:app.attr"})
    void unusableSpec(String spec) {
        Failure f = failToLoad(spec);
        assertTrue(f.reason().contains(spec), "the reason quotes the spec: " + f.reason());
        assertFalse(f.output().contains("Traceback"), "a bad spec is not a Python failure:\n" + f.output());
    }
}
