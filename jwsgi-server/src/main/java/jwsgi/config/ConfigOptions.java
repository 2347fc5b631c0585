package jwsgi.config;

import picocli.CommandLine.Option;

/** Where settings come from, and checking them (gunicorn's "Config File" and "Debugging" sections). */
public final class ConfigOptions {
    /**
     * @param configFile  the config file that was read, or null
     * @param printConfig print the effective settings, check the app loads, and exit
     * @param checkConfig check the settings and that the app loads, and exit
     */
    public record Settings(String configFile, boolean printConfig, boolean checkConfig) {}

    @Option(names = {"-c", "--config"}, paramLabel = "CONFIG",
            description = "A Python config file (gunicorn.conf.py format): PATH, file:PATH or python:MODULE. "
                    + "Default: ./jwsgi.conf.py, else ./gunicorn.conf.py, when present.")
    String config;

    @Option(names = "--print-config", description = "Print the effective settings, check that the app loads, and exit.")
    boolean printConfig;

    @Option(names = "--check-config", description = "Check the settings and that the app loads, and exit (0 when all is well).")
    boolean checkConfig;
}
