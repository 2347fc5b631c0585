package jwsgi.config;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import jwsgi.hooks.Hook;
import jwsgi.testing.Pythons;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docs/settings.md is generated from the code (picocli's model of {@link Cli}, {@link GunicornSettings}
 * and {@link Hook}) and must be current; and the registries agree with each other and with the
 * Python glue. Regenerate with {@code ./test -Dtest=SettingsDocTest -Djwsgi.updateDocs=true}.
 */
@Tag("fast")
class SettingsDocTest {
    private static final Path DOC = Path.of("docs/settings.md");

    private static CommandSpec spec() {
        return Cli.commandLine(new Cli()).getCommandSpec();
    }

    @Test
    void docsSettingsMdIsCurrent() throws Exception {
        String rendered = render();
        if (Boolean.getBoolean("jwsgi.updateDocs")) Files.writeString(DOC, rendered, StandardCharsets.UTF_8);
        String current = Files.exists(DOC) ? Files.readString(DOC, StandardCharsets.UTF_8) : "";
        assertEquals(rendered, current, "docs/settings.md is out of date: run ./test -Dtest=SettingsDocTest -Djwsgi.updateDocs=true");
    }

    @Test
    void everySettingMarkedImplementedHasAnOption() {
        CommandSpec spec = spec();
        for (GunicornSettings.Setting s : GunicornSettings.all()) {
            if (s.fallback() != GunicornSettings.Fallback.NONE || s.name().equals("wsgi_app")) continue;
            assertTrue(SettingNames.option(spec, s.name()).filter(o -> !SettingNames.isCompatibilityOnly(o)).isPresent(),
                    s.name() + " is marked implemented but no option implements it");
        }
    }

    @Test
    void everyOptionHasADescriptionAndASettingName() {
        Set<String> names = new TreeSet<>();
        CommandSpec spec = spec();
        for (OptionSpec o : spec.options()) {
            if (!SettingNames.isSetting(o)) continue;
            assertTrue(o.description().length > 0 && !o.description()[0].isBlank(), o.longestName() + " has no description");
            assertTrue(names.add(SettingNames.name(o)), "two options are named " + SettingNames.name(o));
            assertEquals(o, SettingNames.option(spec, SettingNames.name(o)).orElse(null),
                    "the setting name of " + o.longestName() + " maps back to it");
        }
    }

    @Test
    void theHooksAgreeWithTheTableAndThePythonGlue() {
        Set<String> table = new TreeSet<>();
        for (GunicornSettings.Setting s : GunicornSettings.all()) {
            if (s.fallback() == GunicornSettings.Fallback.HOOK) table.add(s.name());
        }
        Map<String, String> java = new LinkedHashMap<>();
        for (Hook h : Hook.values()) java.put(h.pythonName, h.args);
        assertEquals(table, new TreeSet<>(java.keySet()));
        String glue = Pythons.run(Pythons.DEBIAN, "import sys; sys.path.insert(0, 'jwsgi-core/src/main/resources/jwsgi'); import _jwsgi_gunicorn as g; "
                + "print('\\n'.join(k + '=' + ', '.join(v) for k, v in g.HOOKS.items()))");
        Map<String, String> python = new LinkedHashMap<>();
        for (String line : glue.strip().split("\n")) python.put(line.substring(0, line.indexOf('=')), line.substring(line.indexOf('=') + 1));
        assertEquals(java, python, "Hook.args and the glue's HOOKS");
    }

    @Test
    void helpHidesTheFlagsThatOnlyWarn() {
        String help = Cli.commandLine(new Cli()).getUsageMessage(CommandLine.Help.Ansi.OFF);
        assertFalse(help.contains("--preload"), help);
        assertTrue(help.contains("--access-logformat"), help);
    }

    // ---- the document ---------------------------------------------------------------------

    static String render() {
        CommandSpec spec = spec();
        StringBuilder out = new StringBuilder();
        out.append("""
                # Settings

                > Generated from the code by `SettingsDocTest`: edit the option descriptions in the
                > `jwsgi.config` mixins, `GunicornSettings` or `jwsgi.hooks.Hook`, then run
                > `./test -Dtest=SettingsDocTest -Djwsgi.updateDocs=true`.

                Settings come from, the first that has it winning: the command line, `JWSGI_CMD_ARGS`
                (or `GUNICORN_CMD_ARGS` when it is not set), the config file (`-c CONFIG`, else
                `./jwsgi.conf.py`, else `./gunicorn.conf.py`), the defaults. A config file is Python, run in
                the embedded interpreter as gunicorn runs it: each module-level name that is a setting
                sets it (gunicorn's names below; jwsgi's own are their flag without dashes, `-` read as
                `_`), other names are ignored (with a "did you mean" warning when one is close to a
                setting), and `None` means the default. `--print-config` shows the result.

                `--python` cannot come from the config file: the file runs inside Python, after the
                interpreter is chosen. A config file that names another interpreter is an error that
                says so; give `--python` on the command line or in `JWSGI_CMD_ARGS` (or set `VIRTUAL_ENV`).

                In the jwsgi column: **yes** is implemented; **n/a** has no meaning in a JVM and **no** is
                not offered: both are accepted, flag or file, with one warning that says why (none for
                values that ask for nothing jwsgi lacks, such as gunicorn's default).

                ## gunicorn's settings
                """);
        String section = null;
        for (GunicornSettings.Setting s : GunicornSettings.all()) {
            if (s.fallback() == GunicornSettings.Fallback.HOOK) continue;
            if (!s.section().equals(section)) {
                section = s.section();
                out.append("\n### ").append(section).append("\n\n");
                out.append("| Setting | Flags | Default | jwsgi | Notes |\n| --- | --- | --- | --- | --- |\n");
            }
            OptionSpec o = SettingNames.option(spec, s.name()).filter(x -> !SettingNames.isCompatibilityOnly(x)).orElse(null);
            String flags;
            String dflt;
            String status;
            String notes;
            if (s.name().equals("wsgi_app")) {
                flags = "`APP` (positional)";
                dflt = "the bundled demo app";
                status = "yes";
                notes = "The WSGI app: MODULE:CALLABLE, MODULE or MODULE:FACTORY(ARGS).";
            } else if (o != null) {
                flags = code(List.of(o.names()));
                dflt = defaultOf(o);
                status = "yes";
                notes = description(o);
            } else {
                flags = s.flags().isEmpty() ? "(config file only)" : code(s.flags());
                dflt = "";
                status = switch (s.fallback()) {
                    case NOT_APPLICABLE -> "n/a";
                    case UNSUPPORTED -> "no";
                    case PYTHON -> "yes";
                    default -> "?";
                };
                notes = capitalise(s.note()) + ".";
            }
            out.append("| `").append(s.name()).append("` | ").append(flags).append(" | ").append(cell(dflt)).append(" | ")
                    .append(status).append(" | ").append(cell(notes)).append(" |\n");
        }
        out.append("\n## jwsgi's own settings\n\n| Setting | Flags | Default | Description |\n| --- | --- | --- | --- |\n");
        for (OptionSpec o : spec.options()) {
            if (!SettingNames.isSetting(o) || SettingNames.isCompatibilityOnly(o)) continue;
            if (GunicornSettings.byName(SettingNames.name(o)).isPresent()) continue;
            out.append("| `").append(SettingNames.name(o)).append("` | ").append(code(List.of(o.names()))).append(" | ")
                    .append(cell(defaultOf(o))).append(" | ").append(cell(description(o))).append(" |\n");
        }
        out.append("""

                ## Server hooks

                Hooks are functions in the config file, checked when it loads: each must take the
                arguments gunicorn passes (as gunicorn's `validate_callable` checks; `post_request` may
                also take 2 or 3), else the server does not start. They receive stand-ins for gunicorn's
                objects: `server` (`pid`, `cfg` with every setting by name, `log`, `address`,
                `num_workers`, `WORKERS`), `worker` (`pid`, `ppid`, `age`, `nr`, `alive`, `booted`,
                `cfg`, `log`), `req` (`method`, `uri`, `path`, `query`, `fragment`, `version`, `headers`
                with upper-case names, `scheme`, `remote_addr`; `post_request` gets the same object as
                `pre_request`) and `resp` (`status`, `status_code`, `headers`, `sent`,
                `response_length`). `server.log` and `worker.log` are the `gunicorn.error` logger,
                which writes to jwsgi's error log. A hook that raises at start-up stops the server with
                its traceback; `pre_request` raising makes the request a 500; any other hook raising is
                logged and the server goes on.

                jwsgi runs as one process today; "Runs in" is where each hook runs once jwsgi has a
                master and worker processes, as in gunicorn.

                | Hook | Arguments | Runs in | When jwsgi calls it |
                | --- | --- | --- | --- |
                """);
        for (Hook h : Hook.values()) {
            String role = switch (h.role) {
                case MASTER -> "master";
                case WORKER -> "worker";
                case NONE -> "-";
            };
            String when = h.when != null ? capitalise(h.when) + "." : "Never: " + h.whyNot + " (a config file that defines it gets a warning).";
            out.append("| `").append(h.pythonName).append("` | `").append(h.args).append("` | ").append(role).append(" | ")
                    .append(cell(when)).append(" |\n");
        }
        return out.toString();
    }

    private static String defaultOf(OptionSpec o) {
        if (o.arity().max() == 0) return "off";
        String d = o.defaultValue();
        return d == null ? "" : "`" + d + "`";
    }

    /** The help text, without the "Default: ..." sentence when the Default column shows it. */
    private static String description(OptionSpec o) {
        String d = String.join(" ", o.description()).strip();
        int at = d.lastIndexOf(" Default: ");
        return o.defaultValue() != null && at >= 0 ? d.substring(0, at) : d;
    }

    private static String code(List<String> flags) {
        List<String> out = new ArrayList<>();
        for (String f : flags) out.add("`" + f + "`");
        return String.join(", ", out);
    }

    private static String cell(String s) {
        return s.replace("|", "\\|").replace("\n", " ");
    }

    private static String capitalise(String s) {
        return s.isEmpty() || s.startsWith("jwsgi") ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
