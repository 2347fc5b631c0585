package jwsgi.config;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * The settings of one run from their three sources, merged with gunicorn's precedence:
 * the command line, then {@code JWSGI_CMD_ARGS}, then the config file, then the defaults.
 *
 * <p>Each source is parsed on its own by picocli (so an error names the source), into the
 * values it gives each option; the merge copies, option by option, the value from the source
 * that wins into one final {@link Cli}, which then validates itself into {@link Settings}.
 * Nothing here knows a particular option: an option any mixin declares is settable from every
 * source, by its flag or by its setting name ({@link SettingNames}).
 *
 * <p>Threads: one.
 */
public final class SettingsSources {
    /** The environment variable that holds extra command-line arguments. */
    public static final String ENV_ARGS = "JWSGI_CMD_ARGS";
    /** gunicorn's, read when {@link #ENV_ARGS} is not set, so a deployment's environment carries over. */
    public static final String GUNICORN_ENV_ARGS = "GUNICORN_CMD_ARGS";

    /** A value one source gives one option, and where it came from, for messages. */
    private record Assigned(Object value, String origin) {}

    /** What one source sets: option values by longest flag name, the APP, and warnings. */
    private record Layer(String label, Map<String, Assigned> options, Assigned app, List<String> warnings) {}

    /**
     * The merged settings.
     *
     * @param settings the validated settings
     * @param warnings one line for each setting that was accepted without effect, and why
     */
    public record Resolved(Settings settings, List<String> warnings) {}

    private final List<String> argv;
    private final Layer commandLine;
    private final Layer environment;
    private final CommandLine helpCommand;
    private final boolean helpRequested;
    private final boolean versionRequested;

    private SettingsSources(List<String> argv, Layer commandLine, Layer environment, CommandLine helpCommand,
                            boolean helpRequested, boolean versionRequested) {
        this.argv = argv;
        this.commandLine = commandLine;
        this.environment = environment;
        this.helpCommand = helpCommand;
        this.helpRequested = helpRequested;
        this.versionRequested = versionRequested;
    }

    /**
     * Parses the command line and the environment's extra arguments.
     *
     * @throws ConfigException naming the bad flag or value and its source, with a suggestion
     */
    public static SettingsSources parse(String[] args, Map<String, String> env) throws ConfigException {
        List<String> argv = new ArrayList<>();
        argv.add("jwsgi");
        argv.addAll(List.of(args));
        Cli cli = new Cli();
        CommandLine cmd = Cli.commandLine(cli);
        Layer commandLine = parseLayer(cli, cmd, List.of(args), "the command line");
        boolean help = cli.help;
        boolean version = cli.version;
        String envName = env.containsKey(ENV_ARGS) ? ENV_ARGS : env.containsKey(GUNICORN_ENV_ARGS) ? GUNICORN_ENV_ARGS : null;
        Layer environment = new Layer(ENV_ARGS, Map.of(), null, List.of());
        if (envName != null) {
            List<String> words;
            try {
                words = Shlex.split(env.get(envName));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(envName + ": " + e.getMessage());
            }
            Cli envCli = new Cli();
            environment = parseLayer(envCli, Cli.commandLine(envCli), words, envName);
        }
        return new SettingsSources(List.copyOf(argv), commandLine, environment, cmd, help, version);
    }

    private static Layer parseLayer(Cli cli, CommandLine cmd, List<String> words, String label) throws ConfigException {
        ParseResult result;
        try {
            result = cmd.parseArgs(words.toArray(String[]::new));
        } catch (CommandLine.UnmatchedArgumentException e) {
            throw new ConfigException(inSource(label, unmatched(cmd.getCommandSpec(), e)));
        } catch (CommandLine.ParameterException e) {
            throw new ConfigException(inSource(label, e.getMessage() + valueHint(e)));
        }
        Map<String, Assigned> options = new LinkedHashMap<>();
        List<String> warnings = new ArrayList<>();
        for (OptionSpec o : result.matchedOptionsSet()) {
            if (!SettingNames.isSetting(o)) continue;
            options.put(o.longestName(), new Assigned(o.getValue(), label));
            if (o.userObject() instanceof GunicornSettings.Setting s) {
                warnings.add(String.join("/", o.names()) + " (gunicorn's " + s.name() + ", from " + label + ") has no effect: " + s.note());
            }
        }
        Assigned app = result.hasMatchedPositional(0) ? new Assigned(cli.app, label) : null;
        return new Layer(label, options, app, warnings);
    }

    private static String inSource(String label, String message) {
        return label.equals("the command line") ? message : label + ": " + message;
    }

    /** The message for an unknown option or a stray argument, with the closest valid flag. */
    private static String unmatched(CommandSpec spec, CommandLine.UnmatchedArgumentException e) {
        List<String> unmatched = e.getUnmatched();
        String first = unmatched.stream().filter(a -> a.startsWith("-")).findFirst().orElse(unmatched.isEmpty() ? "" : unmatched.get(0));
        if (!first.startsWith("-")) {
            return "unexpected argument '" + first + "': jwsgi serves one APP (MODULE:CALLABLE); put options before or after it";
        }
        String flag = first.contains("=") ? first.substring(0, first.indexOf('=')) : first;
        List<String> names = new ArrayList<>();
        for (OptionSpec o : spec.options()) names.addAll(List.of(o.names()));
        return "Unknown option: '" + flag + "'" + Suggest.hint(flag, names);
    }

    /** For a bad value of an option with a closed set of values (completion candidates), the closest valid one. */
    private static String valueHint(CommandLine.ParameterException e) {
        if (!(e.getArgSpec() instanceof OptionSpec o) || o.completionCandidates() == null || e.getValue() == null) return "";
        List<String> candidates = new ArrayList<>();
        o.completionCandidates().forEach(candidates::add);
        return Suggest.hint(e.getValue(), candidates);
    }

    public boolean helpRequested() {
        return helpRequested;
    }

    public boolean versionRequested() {
        return versionRequested;
    }

    public void printHelp(PrintStream out) {
        helpCommand.usage(out);
    }

    public void printVersion(PrintStream out) {
        helpCommand.printVersionHelp(out);
    }

    /**
     * The config file to read: {@code -c} from the command line, else from the environment's
     * arguments, else ./jwsgi.conf.py or ./gunicorn.conf.py in {@code cwd} when one exists.
     */
    public Optional<String> configLocation(Path cwd) {
        for (Layer layer : List.of(commandLine, environment)) {
            Assigned c = layer.options().get("--config");
            if (c != null && c.value() != null) return Optional.of((String) c.value());
        }
        return ConfigFile.defaultLocation(cwd);
    }

    /**
     * Merges the sources and validates the result.
     *
     * @param file what the config file set, or null when there is none (or it is not read yet)
     * @throws ConfigException naming the bad setting, its value and its source
     */
    public Resolved resolve(ConfigFile.Values file) throws ConfigException {
        Layer fileLayer = file == null ? new Layer("config file", Map.of(), null, List.of()) : fileLayer(file);
        Cli cli = new Cli();
        CommandLine cmd = Cli.commandLine(cli);
        cmd.parseArgs();  // applies the defaults
        CommandSpec spec = cmd.getCommandSpec();
        Map<String, Assigned> winners = new LinkedHashMap<>();
        Assigned app = null;
        List<String> warnings = new ArrayList<>();
        for (Layer layer : List.of(fileLayer, environment, commandLine)) {
            winners.putAll(layer.options());
            if (layer.app() != null) app = layer.app();
            warnings.addAll(layer.warnings());
        }
        for (Map.Entry<String, Assigned> w : winners.entrySet()) {
            spec.findOption(w.getKey()).setValue(w.getValue().value());
        }
        cli.app = app == null ? null : (String) app.value();
        Map<String, Object> effective = new TreeMap<>();
        for (OptionSpec o : spec.options()) {
            if (!SettingNames.isSetting(o) || (SettingNames.isCompatibilityOnly(o) && !winners.containsKey(o.longestName()))) continue;
            effective.put(SettingNames.name(o), o.getValue());
        }
        effective.put("wsgi_app", cli.app);
        String location = file == null ? null : file.location();
        effective.put("config", location);
        try {
            return new Resolved(cli.settings(cmd, argv, location, effective), List.copyOf(warnings));
        } catch (CommandLine.ParameterException e) {
            throw new ConfigException(e.getMessage() + originOf(spec, winners, e.getMessage()));
        }
    }

    /** " (set by workers = 0 in gunicorn.conf.py)" when the option the message starts with came from a file or the environment. */
    private static String originOf(CommandSpec spec, Map<String, Assigned> winners, String message) {
        int end = 0;
        while (end < message.length() && !Character.isWhitespace(message.charAt(end)) && message.charAt(end) != ':') end++;
        OptionSpec o = end > 0 ? spec.findOption(message.substring(0, end)) : null;
        Assigned a = o == null ? null : winners.get(o.longestName());
        if (a == null || a.origin().equals("the command line")) return "";
        return " (from " + a.origin() + ")";
    }

    /** Turns what a config file set into option values, warning about what jwsgi cannot use. */
    private Layer fileLayer(ConfigFile.Values file) throws ConfigException {
        String where = " in " + file.location();
        Cli probe = new Cli();
        CommandLine cmd = Cli.commandLine(probe);
        CommandSpec spec = cmd.getCommandSpec();
        List<String> tokens = new ArrayList<>();
        Map<String, ConfigFile.Entry> byOption = new LinkedHashMap<>();
        Map<String, Boolean> flags = new LinkedHashMap<>();
        List<String> warnings = new ArrayList<>();
        Assigned app = null;
        Set<String> known = new HashSet<>();
        GunicornSettings.all().forEach(s -> known.add(s.name()));
        for (OptionSpec o : spec.options()) if (SettingNames.isSetting(o)) known.add(SettingNames.name(o));
        for (ConfigFile.Entry e : file.entries()) {
            Optional<GunicornSettings.Setting> gunicorn = GunicornSettings.byName(e.name());
            GunicornSettings.Fallback fallback = gunicorn.map(GunicornSettings.Setting::fallback).orElse(null);
            if (fallback == GunicornSettings.Fallback.HOOK || fallback == GunicornSettings.Fallback.PYTHON
                    || e.name().equals("config")) {
                continue;
            }
            if (e.name().equals("wsgi_app")) {
                if (e.kind() != ConfigFile.Kind.NONE) app = new Assigned(single(e, where), e.assignment() + where);
                continue;
            }
            Optional<OptionSpec> option = SettingNames.option(spec, e.name()).filter(o -> !SettingNames.isCompatibilityOnly(o));
            if (option.isPresent()) {
                if (e.kind() == ConfigFile.Kind.NONE) continue;  // None means the default, as in gunicorn
                OptionSpec o = option.get();
                byOption.put(o.longestName(), e);
                if (o.arity().max() == 0) {
                    flags.put(o.longestName(), bool(e, where));
                } else if (e.kind() == ConfigFile.Kind.BOOL && o.arity().min() == 0) {
                    // An option whose value is optional (gunicorn 20's proxy_protocol = True): True is the bare flag.
                    if (bool(e, where)) tokens.add(o.longestName());
                } else {
                    if (e.kind() == ConfigFile.Kind.CALLABLE || e.kind() == ConfigFile.Kind.OTHER) {
                        throw new ConfigException(e.assignment() + where + ": expected a string, a number or a list of them");
                    }
                    List<String> values = e.values();
                    if (values.size() != 1 && !o.isMultiValue()) {
                        // A list or dict for a comma-separated option (forwarded_allow_ips, secure_scheme_headers).
                        boolean commaSeparated = o.type() == String.class
                                && (e.kind() == ConfigFile.Kind.LIST || e.kind() == ConfigFile.Kind.DICT);
                        if (!commaSeparated) {
                            throw new ConfigException(e.assignment() + where + ": expected one value, not " + values.size());
                        }
                        values = List.of(String.join(",", values));
                    }
                    for (String v : values) tokens.add(o.longestName() + "=" + v);
                }
            } else if (fallback != null && fallback != GunicornSettings.Fallback.NONE) {
                if (!quiet(gunicorn.get(), e)) {
                    warnings.add(e.assignment() + where + " has no effect: " + gunicorn.get().note());
                }
            } else if (e.kind() != ConfigFile.Kind.CALLABLE && e.kind() != ConfigFile.Kind.OTHER) {
                Optional<String> close = Suggest.closest(e.name(), known);
                close.ifPresent(c -> warnings.add(e.name() + where + " is not a setting, so it is ignored; did you mean '" + c + "'?"));
            }
        }
        ParseResult result;
        try {
            result = cmd.parseArgs(tokens.toArray(String[]::new));
        } catch (CommandLine.ParameterException ex) {
            ConfigFile.Entry culprit = ex.getArgSpec() instanceof OptionSpec o ? byOption.get(o.longestName()) : null;
            String prefix = culprit == null ? file.location() : culprit.assignment() + where;
            throw new ConfigException(prefix + ": " + ex.getMessage() + valueHint(ex));
        }
        Map<String, Assigned> options = new LinkedHashMap<>();
        for (OptionSpec o : result.matchedOptionsSet()) {
            options.put(o.longestName(), new Assigned(o.getValue(), byOption.get(o.longestName()).assignment() + where));
        }
        for (Map.Entry<String, Boolean> f : flags.entrySet()) {
            options.put(f.getKey(), new Assigned(f.getValue(), byOption.get(f.getKey()).assignment() + where));
        }
        return new Layer(file.location(), options, app, warnings);
    }

    private static boolean quiet(GunicornSettings.Setting s, ConfigFile.Entry e) {
        return switch (e.kind()) {
            case NONE -> true;
            case BOOL, SCALAR -> s.quiet().contains(e.values().get(0));
            case LIST, DICT -> e.values().isEmpty() || s.quiet().contains(e.repr());
            default -> false;
        };
    }

    private static String single(ConfigFile.Entry e, String where) throws ConfigException {
        if (e.kind() != ConfigFile.Kind.SCALAR) throw new ConfigException(e.assignment() + where + ": expected a string");
        return e.values().get(0);
    }

    /** gunicorn's validate_bool: True/False, or the strings "true"/"false". */
    private static boolean bool(ConfigFile.Entry e, String where) throws ConfigException {
        if (e.kind() == ConfigFile.Kind.BOOL || e.kind() == ConfigFile.Kind.SCALAR) {
            String v = e.values().get(0).strip().toLowerCase(Locale.ROOT);
            if (v.equals("true")) return true;
            if (v.equals("false")) return false;
        }
        throw new ConfigException(e.assignment() + where + ": expected True or False");
    }
}
