package jwsgi.config;

import java.nio.file.Files;
import java.nio.file.Path;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/** TLS on every listener, from PEM files as gunicorn takes them (gunicorn's "SSL"). */
public final class TlsOptions {
    /** gunicorn's --cert-reqs values, those of Python's ssl module. */
    public enum ClientCerts {
        /** 0: no client certificate is asked for. */
        NONE,
        /** 1: a client certificate is asked for and verified if sent. */
        OPTIONAL,
        /** 2: a verified client certificate is required. */
        REQUIRED
    }

    /**
     * @param certfile the server certificate chain (PEM); null when TLS is off
     * @param keyfile  its private key (PEM); null when the key is in {@code certfile}
     * @param caCerts  CA certificates (PEM) that verify client certificates; null for none
     * @param certReqs whether client certificates are asked for
     * @param ciphers  cipher suites by OpenSSL or IANA name, comma- or colon-separated; null for the defaults
     */
    public record Settings(Path certfile, Path keyfile, Path caCerts, ClientCerts certReqs, String ciphers) {
        public boolean enabled() {
            return certfile != null;
        }
    }

    @Option(names = "--certfile", paramLabel = "FILE",
            description = "Serve TLS with this certificate chain (PEM); the key may be in it too.")
    String certfile;

    @Option(names = "--keyfile", paramLabel = "FILE", description = "The certificate's private key (PEM).")
    String keyfile;

    @Option(names = "--ca-certs", paramLabel = "FILE", description = "CA certificates (PEM) that verify client certificates.")
    String caCerts;

    @Option(names = "--cert-reqs", paramLabel = "INT", defaultValue = "0",
            description = "Client certificates: 0 not asked for, 1 optional, 2 required. Default: ${DEFAULT-VALUE}.")
    int certReqs;

    @Option(names = "--ciphers", paramLabel = "LIST",
            description = "TLS 1.2 cipher suites by OpenSSL or IANA name, separated by ':' or ','. TLS 1.3 suites stay on."
                    + " Default: the JDK's modern suites.")
    String ciphers;

    Settings settings(CommandLine cmd) {
        if (certfile == null) {
            if (keyfile != null) throw new CommandLine.ParameterException(cmd, "--keyfile " + keyfile + ": needs --certfile too");
            if (caCerts != null || certReqs != 0) {
                throw new CommandLine.ParameterException(cmd, "--ca-certs and --cert-reqs need --certfile and --keyfile (TLS)");
            }
            return new Settings(null, null, null, ClientCerts.NONE, null);
        }
        if (certReqs < 0 || certReqs > 2) {
            throw new CommandLine.ParameterException(cmd, "--cert-reqs " + certReqs + ": expected 0 (none), 1 (optional) or 2 (required)");
        }
        ClientCerts reqs = ClientCerts.values()[certReqs];
        if (reqs != ClientCerts.NONE && caCerts == null) {
            throw new CommandLine.ParameterException(cmd, "--cert-reqs " + certReqs + ": needs --ca-certs to verify client certificates");
        }
        return new Settings(readable(cmd, "--certfile", certfile), keyfile == null ? null : readable(cmd, "--keyfile", keyfile),
                caCerts == null ? null : readable(cmd, "--ca-certs", caCerts), reqs, ciphers);
    }

    private static Path readable(CommandLine cmd, String flag, String file) {
        Path path = Path.of(file).toAbsolutePath().normalize();
        if (!Files.isRegularFile(path)) throw new CommandLine.ParameterException(cmd, flag + " " + file + ": no such file");
        if (!Files.isReadable(path)) {
            throw new CommandLine.ParameterException(cmd, flag + " " + file + ": not readable by this user; check its permissions");
        }
        return path;
    }
}
