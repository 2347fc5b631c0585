package jwsgi.config;

import java.util.Locale;
import java.util.Optional;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Maps setting names (gunicorn's {@code worker_class}, or jwsgi's own) to the picocli options
 * that implement them, and back. The rule is generic: a setting is implemented by the option
 * named by one of gunicorn's flags for it ({@code keepalive} is {@code --keep-alive},
 * {@code raw_env} is {@code -e/--env}), else by {@code --name-with-dashes}; an option's setting
 * name is the gunicorn setting listing one of its flags, else its longest flag without the
 * dashes, '-' read as '_' ({@code --python} is {@code python}).
 */
public final class SettingNames {
    private SettingNames() {}

    /** The option implementing setting {@code name}, if any (hidden compatibility options included). */
    public static Optional<OptionSpec> option(CommandSpec spec, String name) {
        Optional<GunicornSettings.Setting> known = GunicornSettings.byName(name);
        if (known.isPresent()) {
            for (String flag : known.get().flags()) {
                OptionSpec o = spec.findOption(flag);
                if (o != null) return Optional.of(o);
            }
        }
        if (!name.matches("[a-z][a-z0-9_]*")) return Optional.empty();
        OptionSpec o = spec.findOption("--" + name.replace('_', '-'));
        return o == null || o.usageHelp() || o.versionHelp() ? Optional.empty() : Optional.of(o);
    }

    /** The setting name of {@code option}. */
    public static String name(OptionSpec option) {
        if (option.userObject() instanceof GunicornSettings.Setting s) return s.name();
        for (String flag : option.names()) {
            Optional<GunicornSettings.Setting> s = GunicornSettings.byFlag(flag);
            if (s.isPresent()) return s.get().name();
        }
        String longest = option.longestName();
        int i = 0;
        while (i < longest.length() && longest.charAt(i) == '-') i++;
        return longest.substring(i).replace('-', '_').toLowerCase(Locale.ROOT);
    }

    /** True for gunicorn flags jwsgi accepts only to warn that they have no effect. */
    public static boolean isCompatibilityOnly(OptionSpec option) {
        return option.userObject() instanceof GunicornSettings.Setting;
    }

    /** True for options that are settings (not --help or --version). */
    public static boolean isSetting(OptionSpec option) {
        return !option.usageHelp() && !option.versionHelp();
    }
}
