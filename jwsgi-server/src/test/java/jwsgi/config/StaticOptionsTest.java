package jwsgi.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --static-map, --static-max-age and --static-follow-symlinks, read as the server reads them (no config file). */
@Tag("fast")
class StaticOptionsTest {
    @TempDir
    Path dir;

    private static StaticOptions.Settings statics(String... args) throws ConfigException {
        return SettingsSources.parse(args, Map.of()).resolve(null).settings().statics();
    }

    private String error(String... args) {
        return assertThrows(ConfigException.class, () -> statics(args)).getMessage();
    }

    @Test
    void noMapServesNoFiles() throws Exception {
        assertTrue(statics().mounts().isEmpty());
        assertFalse(statics().followSymlinks());
    }

    @Test
    void mountsKeepTheirPrefixTheRealDirectoryAndAMaxAge() throws Exception {
        Path site = Files.createDirectories(dir.resolve("site/staticfiles"));
        Path media = Files.createDirectories(dir.resolve("media"));
        Files.createSymbolicLink(dir.resolve("current"), dir.resolve("site"));
        StaticOptions.Settings s = statics("--static-map", "/static/=" + dir.resolve("current/staticfiles"),
                "--static-map", "/app/media=" + media, "--static-max-age", "/app/media=0", "--static-follow-symlinks");
        assertEquals(List.of(new StaticOptions.Mount("/static", site.toRealPath(), StaticOptions.DEFAULT_MAX_AGE),
                new StaticOptions.Mount("/app/media", media.toRealPath(), 0)), s.mounts());
        assertTrue(s.followSymlinks());
    }

    @Test
    void aMaxAgeWithoutPrefixIsEveryMountsAndAPrefixedOneWins() throws Exception {
        Path a = Files.createDirectories(dir.resolve("a"));
        Path b = Files.createDirectories(dir.resolve("b"));
        StaticOptions.Settings s = statics("--static-map", "/a=" + a, "--static-map", "/b=" + b,
                "--static-max-age", "/b/=7", "--static-max-age", "3600");
        assertEquals(3600, s.mounts().get(0).maxAge());
        assertEquals(7, s.mounts().get(1).maxAge());
    }

    @Test
    void aRelativeDirectoryIsRelativeToChdir() throws Exception {
        Path files = Files.createDirectories(dir.resolve("project/staticfiles"));
        StaticOptions.Settings s = statics("--chdir", dir.resolve("project").toString(), "--static-map", "/static=staticfiles");
        assertEquals(files.toRealPath(), s.mounts().get(0).directory());
    }

    @Test
    void badValuesSayWhatIsWrongAndWhatToDo() throws Exception {
        Path file = Files.writeString(dir.resolve("file.txt"), "x");
        String d = dir.toString();
        List<String[]> cases = new ArrayList<>();
        cases.add(new String[] {"--static-map /static", "--static-map /static: expected PREFIX=DIR, e.g. /static=/srv/site/staticfiles"});
        cases.add(new String[] {"--static-map static=" + d, "--static-map static=" + d + ": the URL prefix must start with '/'"});
        cases.add(new String[] {"--static-map /=" + d, "the prefix / would leave no path to the app; map a prefix such as /static"});
        cases.add(new String[] {"--static-map /a/../b=" + d, "the prefix /a/../b must be plain path segments"});
        cases.add(new String[] {"--static-map /a%2fb=" + d, "the prefix /a%2fb must be plain path segments"});
        cases.add(new String[] {"--static-map /static=", "--static-map /static=: no directory after '='"});
        cases.add(new String[] {"--static-map /static=" + d + "/missing", d + "/missing does not exist; create it (Django: set"
                + " STATIC_ROOT and run manage.py collectstatic) or correct the path"});
        cases.add(new String[] {"--static-map /static=" + file, file + " is not a directory"});
        cases.add(new String[] {"--static-map /s=" + d + " --static-map /s/=" + d, "/s is mapped twice; give each prefix once"});
        cases.add(new String[] {"--static-map /s=" + d + " --static-max-age /t=5", "--static-max-age /t=5: no --static-map has the"
                + " prefix /t; mapped: /s"});
        cases.add(new String[] {"--static-max-age soon", "--static-max-age soon: expected [PREFIX=]SECONDS"});
        cases.add(new String[] {"--static-max-age -1", "--static-max-age -1: expected [PREFIX=]SECONDS"});
        for (String[] c : cases) {
            String message = error(c[0].split(" "));
            assertTrue(message.contains(c[1]), c[0] + ": " + message);
        }
    }
}
