package jwsgi.frontend;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import jwsgi.testing.ServerProcess;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad front-end flags: exit 2 and a message that names the flag and says what is expected. */
class FrontendFlagsTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--protocol spdy | --protocol spdy: expected http, uwsgi or fastcgi",
        "--http-protocols h3 | --http-protocols h3: expected a comma-separated list of h1 and h2",
        "--protocol uwsgi --http-protocols h2 | HTTP versions apply to --protocol http only",
        "--http2-max-frame-size 1000 | --http2-max-frame-size 1000: HTTP/2 allows frame sizes from 16384 to 16777215 bytes (RFC 9113 6.5.2); give one in that range",
        "--http2-max-frame-size 16777216 | --http2-max-frame-size 16777216: HTTP/2 allows frame sizes from 16384 to 16777215 bytes",
        "--http2-max-concurrent-streams 0 | --http2-max-concurrent-streams 0: must be at least 1",
        "--http2-initial-window-size 0 | --http2-initial-window-size 0: must be from 1 to 2147483647 bytes",
        "--http2-initial-window-size 2147483648 | Invalid value for option '--http2-initial-window-size': '2147483648' is not an int",
        "--http2-max-header-list-size -1 | --http2-max-header-list-size -1: must be 0 (no limit) or more bytes",
        "--forwarder-headers SCRIPT_NAME,a:b | --forwarder-headers SCRIPT_NAME,a:b: 'a:b' is not a header name; give names separated by commas",
        "--umask 0999 | --umask 0999: expected a mode mask from 0 to 0777",
        "--forwarded-allow-ips 10.0.0.0/40 | --forwarded-allow-ips 10.0.0.0/40: '10.0.0.0/40': the network prefix must be 0 to 32",
        "--proxy-allow-from proxy.example | proxy.example' is not an IP address, a CIDR network",
        "--proxy-protocol v3 | --proxy-protocol v3: expected off, auto, v1 or v2",
        "--secure-scheme-headers X-PROTO | --secure-scheme-headers X-PROTO: expected HEADER=VALUE pairs",
        "--root-path app | --root-path app: must start with '/'",
        "--keyfile k.pem | --keyfile k.pem: needs --certfile too",
        "--cert-reqs 2 --certfile /etc/hostname | --cert-reqs 2: needs --ca-certs",
        "-b unix: | expected unix:PATH",
    })
    void refusedWithTheReason(String flags, String message) {
        ServerProcess p = ServerProcess.launch(List.of(flags.split(" ")), Map.of());
        assertEquals(2, p.waitFor(Duration.ofSeconds(20)), p.output());
        assertTrue(p.output().contains(message), p.output());
    }
}
