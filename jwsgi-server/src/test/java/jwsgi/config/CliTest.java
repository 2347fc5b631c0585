package jwsgi.config;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The command line and JWSGI_CMD_ARGS, parsed and validated as the {@code jwsgi} command does
 * before anything starts ({@link SettingsSources}, {@link Cli}): every way to get a flag wrong
 * gives a message that names the flag, its value and where it came from, and the closest valid
 * flag or value when there is one. That such a message reaches stderr with exit code 2 and no
 * Java stack trace is {@code BadSettingsTest}'s, end to end.
 */
@Tag("fast")
class CliTest {
    /** Asserts that {@code args} and {@code env} are refused with {@code message} in what the command would print after "jwsgi: error: ". */
    private static void assertRefused(String args, Map<String, String> env, String message) {
        ConfigException e = assertThrows(ConfigException.class, () -> SettingsSources.parse(args.split(" "), env).resolve(null), args);
        String error = e.getMessage() + (e.detail() == null ? "" : "\n" + e.detail());
        assertTrue(error.contains(message), "'" + message + "' in:\n" + error);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
        # the server's flags
        --thread 2|Unknown option: '--thread'; did you mean '--threads'?
        --acess-logfile -|Unknown option: '--acess-logfile'; did you mean '--access-logfile'?
        --log-levl debug|Unknown option: '--log-levl'; did you mean '--log-level'?
        --bnd 127.0.0.1:0|Unknown option: '--bnd'; did you mean '--bind'?
        --frobnicate|Unknown option: '--frobnicate'
        -w 0|--workers 0: must be at least 1
        --worker-class gevent|--worker-class gevent: jwsgi has no greenlet or event-loop workers
        -k uvicorn.workers.UvicornWorker|that is an ASGI worker, and jwsgi serves WSGI apps
        -t -1|--timeout -1: must be 0 or more seconds
        --max-requests -1|--max-requests -1: must be 0 or more
        --min-worker-lifetime -1|--min-worker-lifetime -1: must be 0 or more seconds
        --threads many|Invalid value for option '--threads': 'many' is not an int
        --threads 0|--threads 0: must be at least 1
        --backlog 0|--backlog 0: must be at least 1
        --keep-alive -5|--keep-alive -5: must be 0 or more seconds
        --graceful-timeout -1|--graceful-timeout -1: must be 0 or more seconds
        --log-level warn|--log-level warn: expected one of debug, info, warning, error, critical; did you mean 'warning'?
        --log-level loud|--log-level loud: expected one of debug, info, warning, error, critical
        `--access-logformat %(h)d`|--access-logformat '%(h)d': access log format: at "%(h)d": %(h)d needs a number
        `--access-logformat 100%`|a '%' must start %(name)s, or be doubled as %% for a percent sign
        --umask 0999|--umask 0999: expected a mode mask from 0 to 0777
        --umask 0o1000|--umask 0o1000: expected a mode mask from 0 to 0777
        --user no_such_user_zz|--user no_such_user_zz: no such user
        --group no_such_group_zz|--group no_such_group_zz: no such group
        --pid /no/such/dir/jwsgi.pid|--pid /no/such/dir/jwsgi.pid: directory /no/such/dir does not exist
        --log-config /no/such/logging.ini|--log-config /no/such/logging.ini: no such file
        corpus other|unexpected argument 'other': jwsgi serves one APP
        -b 127.0.0.1:99999|port 99999 is not in 0-65535
        -b 127.0.0.1:http|expected HOST:PORT, [IPv6]:PORT, HOST, :PORT or unix:PATH
        -b ::1:8000|expected HOST:PORT, [IPv6]:PORT, HOST, :PORT or unix:PATH
        --chdir /no/such/dir|--chdir /no/such/dir: no such directory
        -e NOEQUALS|-e NOEQUALS: expected KEY=VALUE
        --static-map /static=/no/such/dir|--static-map /static=/no/such/dir: /no/such/dir does not exist; create it
        # the front end's: protocols, HTTP/2, proxies, TLS, Unix sockets
        --protocol spdy|--protocol spdy: expected http, uwsgi or fastcgi
        --http-protocols h3|--http-protocols h3: expected a comma-separated list of h1 and h2
        --protocol uwsgi --http-protocols h2|HTTP versions apply to --protocol http only
        --http2-max-frame-size 1000|--http2-max-frame-size 1000: HTTP/2 allows frame sizes from 16384 to 16777215 bytes (RFC 9113 6.5.2); give one in that range
        --http2-max-frame-size 16777216|--http2-max-frame-size 16777216: HTTP/2 allows frame sizes from 16384 to 16777215 bytes
        --http2-max-concurrent-streams 0|--http2-max-concurrent-streams 0: must be at least 1
        --http2-initial-window-size 0|--http2-initial-window-size 0: must be from 1 to 2147483647 bytes
        --http2-initial-window-size 2147483648|Invalid value for option '--http2-initial-window-size': '2147483648' is not an int
        --http2-max-header-list-size -1|--http2-max-header-list-size -1: must be 0 (no limit) or more bytes
        --forwarder-headers SCRIPT_NAME,a:b|--forwarder-headers SCRIPT_NAME,a:b: 'a:b' is not a header name; give names separated by commas
        --forwarded-allow-ips 10.0.0.0/40|--forwarded-allow-ips 10.0.0.0/40: '10.0.0.0/40': the network prefix must be 0 to 32
        --proxy-allow-from proxy.example|proxy.example' is not an IP address, a CIDR network
        --proxy-protocol v3|--proxy-protocol v3: expected off, auto, v1 or v2
        --secure-scheme-headers X-PROTO|--secure-scheme-headers X-PROTO: expected HEADER=VALUE pairs
        --root-path app|--root-path app: must start with '/'
        --keyfile k.pem|--keyfile k.pem: needs --certfile too
        --cert-reqs 2 --certfile /etc/hostname|--cert-reqs 2: needs --ca-certs
        -b unix:|expected unix:PATH
        """)
    void badCommandLines(String args, String message) {
        assertRefused(args, Map.of(), message);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "`--threads 'unclosed`|JWSGI_CMD_ARGS: no closing quotation (')",
        "--thread 2|JWSGI_CMD_ARGS: Unknown option: '--thread'; did you mean '--threads'?",
        "--threads 0|--threads 0: must be at least 1 (from JWSGI_CMD_ARGS)",
        "--log-level verbose|--log-level verbose: expected one of debug, info, warning, error, critical (from JWSGI_CMD_ARGS)",
    })
    void badJwsgiCmdArgs(String value, String message) {
        assertRefused("corpus", Map.of(SettingsSources.ENV_ARGS, value), message);
    }

    /** What {@code print} writes. */
    private static String printed(Consumer<PrintStream> print) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        print.accept(new PrintStream(out, true, StandardCharsets.UTF_8));
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void helpListsTheGunicornFlags() throws ConfigException {
        SettingsSources sources = SettingsSources.parse(new String[] {"--help"}, Map.of());
        assertTrue(sources.helpRequested());
        String help = printed(sources::printHelp);
        for (String flag : List.of("--bind", "--threads", "--python", "--chdir", "--pythonpath", "--env", "--log-level",
                "--access-logfile", "--graceful-timeout")) {
            assertTrue(help.contains(flag), flag + " in:\n" + help);
        }
    }

    @Test
    void versionPrintsTheVersion() throws ConfigException {
        SettingsSources sources = SettingsSources.parse(new String[] {"--version"}, Map.of());
        assertTrue(sources.versionRequested());
        assertEquals("jwsgi " + Cli.jwsgiVersion(), printed(sources::printVersion).strip());
    }
}
