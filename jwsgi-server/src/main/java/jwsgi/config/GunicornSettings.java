package jwsgi.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Every gunicorn setting (gunicorn 20 to 25), by gunicorn's name, with gunicorn's command-line
 * flags and what jwsgi does when no jwsgi option implements it.
 *
 * <p>Whether a setting is implemented is never written here: it is implemented exactly when
 * {@link Cli}'s picocli model has an option named by one of the setting's gunicorn flags or by
 * {@code --name-with-dashes}. So a flag added later, in any section mixin, starts working from
 * config files, {@code JWSGI_CMD_ARGS} and {@code --print-config} without touching this table;
 * the {@link Fallback} below only says what happens until then.
 */
public final class GunicornSettings {
    private GunicornSettings() {}

    /** What jwsgi does with a setting that none of its options implements. */
    public enum Fallback {
        /** Meaningless in a JVM; accepted with a warning saying why. */
        NOT_APPLICABLE,
        /** Not offered; accepted with a warning saying why and what to use instead. */
        UNSUPPORTED,
        /** A server hook: a function in the config file, called by {@code ServerHooks}. */
        HOOK,
        /** A Python value applied by the Python side as is (logconfig_dict). */
        PYTHON,
        /** Implemented by a jwsgi option (the table only records gunicorn's flags). */
        NONE
    }

    /**
     * One gunicorn setting.
     *
     * @param name       gunicorn's name, as in a config file
     * @param section    gunicorn's section in its settings reference
     * @param flags      gunicorn's command-line flags (empty for config-file-only settings)
     * @param takesValue false for on/off flags
     * @param fallback   what happens when no jwsgi option implements it
     * @param note       why, or which part of jwsgi will implement it
     * @param quiet      values that need no warning because they ask for nothing jwsgi lacks
     *                   (gunicorn's default, or what jwsgi always does), as Python's str() of them
     */
    public record Setting(String name, String section, List<String> flags, boolean takesValue, Fallback fallback,
                          String note, Set<String> quiet) {}

    private static final String MECHANICS = "Server Mechanics";
    private static final String LOGGING = "Logging";
    private static final String SSL = "SSL";
    private static final String SECURITY = "Security";
    private static final String WORKERS = "Worker Processes";
    private static final String HOOKS = "Server Hooks";
    private static final String STRICT = "jwsgi parses HTTP strictly (RFC 9110/9112) with Jetty and has no switch to relax it";
    private static final String SYSLOG = "syslog output is not offered: the error log goes to stderr (journald, docker logs) "
            + "or --error-logfile; for the app's own logs use logconfig_dict with a logging.handlers.SysLogHandler";
    private static final String STATSD = "statsd metrics are not offered";
    private static final String DIRTY = "dirty arbiters (gunicorn 25) are not offered";
    private static final String ASGI = "an ASGI setting; jwsgi serves WSGI";

    private static final Map<String, Setting> ALL = new LinkedHashMap<>();

    static {
        // Config File
        implemented("config", "Config File", "-c", "--config");
        implemented("wsgi_app", "Config File");
        // Debugging
        implemented("reload", "Debugging", "--reload");
        notApplicable("reload_engine", "Debugging", "jwsgi watches files with the JDK's WatchService (inotify on Linux), "
                + "whichever engine is named", true, Set.of("auto", "inotify", "poll"), "--reload-engine");
        implemented("reload_extra_files", "Debugging", "--reload-extra-file");
        notApplicable("spew", "Debugging", "it traces every line the server runs, and jwsgi's server is Java, not Python; "
                + "trace the app with sys.settrace or python -X importtime", false, Set.of("False"), "--spew");
        implemented("check_config", "Debugging", "--check-config");
        implemented("print_config", "Debugging", "--print-config");
        // Logging
        implemented("accesslog", LOGGING, "--access-logfile");
        unsupported("disable_redirect_access_to_syslog", LOGGING, SYSLOG, false, Set.of("False", "True"),
                "--disable-redirect-access-to-syslog");
        implemented("access_log_format", LOGGING, "--access-logformat");
        implemented("errorlog", LOGGING, "--error-logfile", "--log-file");
        implemented("loglevel", LOGGING, "--log-level");
        implemented("capture_output", LOGGING, "--capture-output");
        notApplicable("logger_class", LOGGING, "jwsgi's error and access logs are written by the JVM, so a Python logger "
                + "class cannot replace them; configure the app's Python logging with logconfig_dict",
                true, Set.of("gunicorn.glogging.Logger", "simple"), "--logger-class");
        implemented("logconfig", LOGGING, "--log-config");
        add(new Setting("logconfig_dict", LOGGING, List.of(), true, Fallback.PYTHON,
                "applied to the app's Python logging with logging.config.dictConfig, over gunicorn's defaults", Set.of("{}")));
        implemented("logconfig_json", LOGGING, "--log-config-json");
        unsupported("syslog_addr", LOGGING, SYSLOG, true, Set.of(), "--log-syslog-to");
        unsupported("syslog", LOGGING, SYSLOG, false, Set.of("False"), "--log-syslog");
        unsupported("syslog_prefix", LOGGING, SYSLOG, true, Set.of(), "--log-syslog-prefix");
        unsupported("syslog_facility", LOGGING, SYSLOG, true, Set.of("user"), "--log-syslog-facility");
        notApplicable("enable_stdio_inheritance", LOGGING, "it only matters when daemonizing, which a JVM cannot do; "
                + "jwsgi always keeps its standard streams", false, Set.of("False"), "-R", "--enable-stdio-inheritance");
        unsupported("statsd_host", LOGGING, STATSD, true, Set.of(), "--statsd-host");
        unsupported("dogstatsd_tags", LOGGING, STATSD, true, Set.of(""), "--dogstatsd-tags");
        unsupported("statsd_prefix", LOGGING, STATSD, true, Set.of(""), "--statsd-prefix");
        // Process Naming
        notApplicable("proc_name", "Process Naming", "a JVM cannot change the process title that ps and top show",
                true, Set.of(), "-n", "--name");
        notApplicable("default_proc_name", "Process Naming", "a JVM cannot change the process title that ps and top show",
                true, Set.of("gunicorn"));
        // SSL
        implemented("keyfile", SSL, "--keyfile");
        implemented("certfile", SSL, "--certfile");
        notApplicable("ssl_version", SSL, "gunicorn itself ignores it since 21.0; TLS versions follow the JVM's defaults",
                true, Set.of("2", "_SSLMethod.PROTOCOL_TLS", "TLS", "TLS_SERVER"), "--ssl-version");
        implemented("cert_reqs", SSL, "--cert-reqs");
        implemented("ca_certs", SSL, "--ca-certs");
        notApplicable("suppress_ragged_eofs", SSL, "an option of Python's ssl module; Jetty handles TLS close itself",
                false, Set.of("True", "False"), "--suppress-ragged-eofs");
        notApplicable("do_handshake_on_connect", SSL, "an option of Python's ssl module; Jetty handshakes as it reads",
                false, Set.of("True", "False"), "--do-handshake-on-connect");
        implemented("ciphers", SSL, "--ciphers");
        // Security
        implemented("limit_request_line", SECURITY, "--limit-request-line");
        implemented("limit_request_fields", SECURITY, "--limit-request-fields");
        implemented("limit_request_field_size", SECURITY, "--limit-request-field_size", "--limit-request-field-size");
        // Server Hooks (how and where each runs: jwsgi.hooks.Hook)
        for (String hook : List.of("on_starting", "on_reload", "when_ready", "pre_fork", "post_fork", "post_worker_init",
                "worker_int", "worker_abort", "pre_exec", "pre_request", "post_request", "child_exit", "worker_exit",
                "nworkers_changed", "on_exit", "ssl_context", "on_dirty_starting", "dirty_post_fork", "dirty_worker_init",
                "dirty_worker_exit")) {
            add(new Setting(hook, HOOKS, List.of(), true, Fallback.HOOK, "", Set.of()));
        }
        // Server Mechanics
        notApplicable("preload_app", MECHANICS, "a JVM cannot fork, so there is no copy-on-write preloading; "
                + "jwsgi always imports the app before it accepts requests", false, Set.of("False"), "--preload");
        notApplicable("sendfile", MECHANICS, "jwsgi sends wsgi.file_wrapper files from Java (memory-mapped), "
                + "so there is no sendfile() to turn off", false, Set.of("None", "True"), "--no-sendfile");
        implemented("reuse_port", MECHANICS, "--reuse-port");
        implemented("chdir", MECHANICS, "--chdir");
        notApplicable("daemon", MECHANICS, "a JVM cannot fork into the background, so jwsgi stays in the foreground; "
                + "run it under systemd, supervisord or a container runtime", false, Set.of("False"), "-D", "--daemon");
        implemented("raw_env", MECHANICS, "-e", "--env");
        implemented("pidfile", MECHANICS, "-p", "--pid");
        notApplicable("worker_tmp_dir", MECHANICS, "jwsgi's workers send their heartbeats to the master through a pipe, not through files", true, Set.of(), "--worker-tmp-dir");
        implemented("user", MECHANICS, "-u", "--user");
        implemented("group", MECHANICS, "-g", "--group");
        implemented("umask", MECHANICS, "-m", "--umask");
        implemented("initgroups", MECHANICS, "--initgroups");
        notApplicable("tmp_upload_dir", MECHANICS, "gunicorn ignores it too; request bodies are streamed, never spooled to disk",
                true, Set.of());
        implemented("secure_scheme_headers", MECHANICS);
        implemented("forwarded_allow_ips", MECHANICS, "--forwarded-allow-ips");
        implemented("pythonpath", MECHANICS, "--pythonpath");
        unsupported("paste", MECHANICS, "PasteDeploy apps are not loaded from .ini files; name a module whose "
                + "'application' is paste.deploy.loadapp('config:/path/app.ini')", true, Set.of(), "--paste", "--paster");
        implemented("proxy_protocol", MECHANICS, "--proxy-protocol");
        implemented("proxy_allow_ips", MECHANICS, "--proxy-allow-from");
        implemented("protocol", MECHANICS, "--protocol");
        implemented("uwsgi_allow_ips", MECHANICS, "--uwsgi-allow-from");
        unsupported("raw_paste_global_conf", MECHANICS, "PasteDeploy apps are not loaded from .ini files", true,
                Set.of("[]"), "--paste-global");
        notApplicable("permit_obsolete_folding", MECHANICS, STRICT, false, Set.of("False"), "--permit-obsolete-folding");
        notApplicable("strip_header_spaces", MECHANICS, STRICT, false, Set.of("False"), "--strip-header-spaces");
        notApplicable("permit_unconventional_http_method", MECHANICS, STRICT, false, Set.of("False"),
                "--permit-unconventional-http-method");
        notApplicable("permit_unconventional_http_version", MECHANICS, STRICT, false, Set.of("False"),
                "--permit-unconventional-http-version");
        notApplicable("casefold_http_method", MECHANICS, STRICT, false, Set.of("False"), "--casefold-http-method");
        notApplicable("tolerate_dangerous_framing", MECHANICS, STRICT, false, Set.of("False"), "--tolerate-dangerous-framing");
        implemented("forwarder_headers", MECHANICS, "--forwarder-headers");
        unsupported("header_map", MECHANICS, "jwsgi always drops request headers whose names contain '_' "
                + "(gunicorn's default, 'drop'), except the --forwarder-headers of trusted front ends", true, Set.of("drop"),
                "--header-map");
        notApplicable("root_path", MECHANICS, ASGI, true, Set.of(""), "--root-path");
        // Server Socket
        implemented("bind", "Server Socket", "-b", "--bind");
        implemented("backlog", "Server Socket", "--backlog");
        // Worker Processes
        implemented("workers", WORKERS, "-w", "--workers");
        implemented("worker_class", WORKERS, "-k", "--worker-class");
        implemented("threads", WORKERS, "--threads");
        notApplicable("worker_connections", WORKERS, "connections are held by Jetty's selectors, without a thread each; "
                + "the app's concurrency is --threads", true, Set.of("1000"), "--worker-connections");
        implemented("max_requests", WORKERS, "--max-requests");
        implemented("max_requests_jitter", WORKERS, "--max-requests-jitter");
        implemented("timeout", WORKERS, "-t", "--timeout");
        implemented("graceful_timeout", WORKERS, "--graceful-timeout");
        implemented("keepalive", WORKERS, "--keep-alive");
        notApplicable("asgi_loop", WORKERS, ASGI, true, Set.of("auto"), "--asgi-loop");
        notApplicable("asgi_lifespan", WORKERS, ASGI, true, Set.of("auto"), "--asgi-lifespan");
        // Control (gunicorn 25.1)
        implemented("control_socket", "Control", "--control-socket");
        implemented("control_socket_mode", "Control", "--control-socket-mode");
        implemented("control_socket_disable", "Control", "--no-control-socket");
        // Dirty Arbiters (gunicorn 25.0)
        unsupported("dirty_apps", "Dirty Arbiters", DIRTY, true, Set.of("[]"), "--dirty-app");
        unsupported("dirty_workers", "Dirty Arbiters", DIRTY, true, Set.of("0"), "--dirty-workers");
        unsupported("dirty_timeout", "Dirty Arbiters", DIRTY, true, Set.of(), "--dirty-timeout");
        unsupported("dirty_threads", "Dirty Arbiters", DIRTY, true, Set.of(), "--dirty-threads");
        unsupported("dirty_graceful_timeout", "Dirty Arbiters", DIRTY, true, Set.of(), "--dirty-graceful-timeout");
        // HTTP/2 (gunicorn 25.0)
        implemented("http_protocols", "HTTP/2", "--http-protocols");
        implemented("http2_max_concurrent_streams", "HTTP/2", "--http2-max-concurrent-streams");
        implemented("http2_initial_window_size", "HTTP/2", "--http2-initial-window-size");
        implemented("http2_max_frame_size", "HTTP/2", "--http2-max-frame-size");
        implemented("http2_max_header_list_size", "HTTP/2", "--http2-max-header-list-size");
    }

    private static void implemented(String name, String section, String... flags) {
        add(new Setting(name, section, List.of(flags), true, Fallback.NONE, "", Set.of()));
    }

    private static void notApplicable(String name, String section, String why, boolean takesValue, Set<String> quiet,
                                      String... flags) {
        add(new Setting(name, section, List.of(flags), takesValue, Fallback.NOT_APPLICABLE, why, quiet));
    }

    private static void unsupported(String name, String section, String why, boolean takesValue, Set<String> quiet,
                                    String... flags) {
        add(new Setting(name, section, List.of(flags), takesValue, Fallback.UNSUPPORTED, why, quiet));
    }

    private static void add(Setting s) {
        if (ALL.put(s.name(), s) != null) throw new IllegalStateException("duplicate setting " + s.name());
    }

    /** Every setting, in gunicorn's section order. */
    public static List<Setting> all() {
        return List.copyOf(ALL.values());
    }

    public static Optional<Setting> byName(String name) {
        return Optional.ofNullable(ALL.get(name));
    }

    /** The setting one of whose gunicorn flags is {@code flag} (e.g. "-w" or "--workers"). */
    public static Optional<Setting> byFlag(String flag) {
        return ALL.values().stream().filter(s -> s.flags().contains(flag)).findFirst();
    }
}
