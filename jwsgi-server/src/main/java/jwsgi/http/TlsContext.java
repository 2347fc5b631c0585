package jwsgi.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import javax.net.ssl.SSLContext;

import jwsgi.config.TlsOptions;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * The server's TLS set-up from PEM files, as gunicorn (Python's ssl module) takes them: a
 * certificate chain, its private key (PKCS#8, PKCS#1 RSA or SEC1 EC, in its own file or after
 * the chain), optionally CA certificates for client certificates. TLS 1.2 and 1.3 only, with
 * the JDK's modern cipher suites unless {@code --ciphers} names others.
 */
public final class TlsContext {
    /** OpenSSL's names for the TLS 1.2 suites worth offering, and the IANA names the JDK uses. */
    private static final Map<String, String> OPENSSL_NAMES = Map.ofEntries(
            Map.entry("ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
            Map.entry("ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            Map.entry("ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
            Map.entry("ECDHE-RSA-AES256-GCM-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
            Map.entry("ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
            Map.entry("ECDHE-RSA-CHACHA20-POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
            Map.entry("DHE-RSA-AES128-GCM-SHA256", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"),
            Map.entry("DHE-RSA-AES256-GCM-SHA384", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"),
            Map.entry("DHE-RSA-CHACHA20-POLY1305", "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
            Map.entry("ECDHE-ECDSA-AES128-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"),
            Map.entry("ECDHE-RSA-AES128-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
            Map.entry("ECDHE-ECDSA-AES256-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"),
            Map.entry("ECDHE-RSA-AES256-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"),
            Map.entry("ECDHE-ECDSA-AES128-SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
            Map.entry("ECDHE-RSA-AES128-SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
            Map.entry("ECDHE-ECDSA-AES256-SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
            Map.entry("ECDHE-RSA-AES256-SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
            Map.entry("AES128-GCM-SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256"),
            Map.entry("AES256-GCM-SHA384", "TLS_RSA_WITH_AES_256_GCM_SHA384"));
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private TlsContext() {}

    /** A certificate, key or cipher list that cannot be used; the message says which file and why. */
    public static final class TlsException extends Exception {
        TlsException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Reads the PEM files and makes Jetty's server-side TLS factory.
     *
     * @throws TlsException naming the file and what is wrong with it
     */
    public static SslContextFactory.Server load(TlsOptions.Settings tls) throws TlsException {
        List<X509Certificate> chain = certificates(tls.certfile(), "--certfile");
        if (chain.isEmpty()) throw new TlsException("--certfile " + tls.certfile() + ": no PEM certificate in it", null);
        Path keyFile = tls.keyfile() != null ? tls.keyfile() : tls.certfile();
        PrivateKey key = privateKey(keyFile, tls.keyfile() != null ? "--keyfile" : "--certfile (no --keyfile given)");
        if (!matches(chain.getFirst(), key)) {
            throw new TlsException("--keyfile " + keyFile + ": this private key does not belong to the certificate in --certfile "
                    + tls.certfile(), null);
        }
        try {
            char[] password = randomPassword();
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("server", key, password, chain.toArray(new Certificate[0]));
            SslContextFactory.Server factory = new SslContextFactory.Server();
            factory.setKeyStore(keys);
            factory.setKeyStorePassword(new String(password));
            factory.setKeyManagerPassword(new String(password));
            factory.setIncludeProtocols(PROTOCOLS);
            // Python's ssl module does not match the Host header against the certificate; neither do we.
            factory.setSniRequired(false);
            if (tls.caCerts() != null) {
                KeyStore trust = KeyStore.getInstance("PKCS12");
                trust.load(null, null);
                int i = 0;
                for (X509Certificate ca : certificates(tls.caCerts(), "--ca-certs")) trust.setCertificateEntry("ca" + i++, ca);
                if (i == 0) throw new TlsException("--ca-certs " + tls.caCerts() + ": no PEM certificate in it", null);
                factory.setTrustStore(trust);
            }
            switch (tls.certReqs()) {
                case OPTIONAL -> factory.setWantClientAuth(true);
                case REQUIRED -> factory.setNeedClientAuth(true);
                case NONE -> { }
            }
            if (tls.ciphers() != null) {
                factory.setIncludeCipherSuites(cipherSuites(tls.ciphers()));
                factory.setExcludeCipherSuites();
            }
            return factory;
        } catch (IOException | GeneralSecurityException e) {
            throw new TlsException("cannot set up TLS with --certfile " + tls.certfile() + ": " + e.getMessage(), e);
        }
    }

    private static List<X509Certificate> certificates(Path file, String flag) throws TlsException {
        try (InputStream in = Files.newInputStream(file)) {
            List<X509Certificate> out = new ArrayList<>();
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(onlyCertificates(in))) {
                out.add((X509Certificate) c);
            }
            return out;
        } catch (IOException e) {
            throw new TlsException(flag + " " + file + ": cannot read it: " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new TlsException(flag + " " + file + ": not a PEM certificate file: " + e.getMessage(), e);
        }
    }

    /** The CERTIFICATE blocks of a PEM file (which may also hold the key, which the JDK's reader rejects). */
    private static InputStream onlyCertificates(InputStream in) throws IOException {
        String text = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        StringBuilder certs = new StringBuilder();
        int at = 0;
        while (true) {
            int begin = text.indexOf("-----BEGIN CERTIFICATE-----", at);
            if (begin < 0) break;
            int end = text.indexOf("-----END CERTIFICATE-----", begin);
            if (end < 0) break;
            at = end + "-----END CERTIFICATE-----".length();
            certs.append(text, begin, at).append('\n');
        }
        return new java.io.ByteArrayInputStream(certs.toString().getBytes(StandardCharsets.US_ASCII));
    }

    private static PrivateKey privateKey(Path file, String flag) throws TlsException {
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser pem = new PEMParser(reader)) {
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            for (Object o = pem.readObject(); o != null; o = pem.readObject()) {
                if (o instanceof PEMKeyPair pair) return converter.getKeyPair(pair).getPrivate();
                if (o instanceof PrivateKeyInfo info) return converter.getPrivateKey(info);
                if (o instanceof PKCS8EncryptedPrivateKeyInfo || o instanceof org.bouncycastle.openssl.PEMEncryptedKeyPair) {
                    throw new TlsException(flag + " " + file + ": the private key is encrypted; give the server an unencrypted key"
                            + " (openssl pkey -in KEY -out KEY.plain) readable only by its user", null);
                }
            }
            throw new TlsException(flag + " " + file + ": no PEM private key in it (expected a '-----BEGIN ... PRIVATE KEY-----' block)",
                    null);
        } catch (IOException e) {
            throw new TlsException(flag + " " + file + ": cannot read the private key: " + e.getMessage(), e);
        }
    }

    /** Whether the key signs what the certificate's public key verifies. */
    private static boolean matches(X509Certificate cert, PrivateKey key) {
        try {
            String algorithm = switch (key.getAlgorithm().toUpperCase(Locale.ROOT)) {
                case "RSA" -> "SHA256withRSA";
                case "EC", "ECDSA" -> "SHA256withECDSA";
                case "ED25519" -> "Ed25519";
                case "ED448" -> "Ed448";
                default -> null;
            };
            if (algorithm == null) return true;  // an algorithm we cannot test: the handshake will tell
            byte[] probe = "jwsgi".getBytes(StandardCharsets.US_ASCII);
            java.security.Signature signer = java.security.Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            java.security.Signature verifier = java.security.Signature.getInstance(algorithm);
            verifier.initVerify(cert.getPublicKey());
            verifier.update(probe);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /**
     * The TLS 1.2 suites named (OpenSSL or IANA names, separated by ':' or ','), plus every TLS 1.3
     * suite: as with OpenSSL's cipher list, the list does not touch TLS 1.3.
     */
    static String[] cipherSuites(String list) throws TlsException {
        Set<String> supported;
        try {
            supported = Set.of(SSLContext.getDefault().getSupportedSSLParameters().getCipherSuites());
        } catch (GeneralSecurityException e) {
            throw new TlsException("the JDK has no default TLS context: " + e.getMessage(), e);
        }
        Set<String> suites = new LinkedHashSet<>();
        for (String raw : list.split("[:,]")) {
            String name = raw.strip();
            if (name.isEmpty()) continue;
            String iana = OPENSSL_NAMES.getOrDefault(name.toUpperCase(Locale.ROOT), name.toUpperCase(Locale.ROOT));
            if (!supported.contains(iana)) {
                throw new TlsException("--ciphers " + list + ": '" + name + "' is not a cipher suite this JDK supports."
                        + " Name suites one by one (OpenSSL names such as ECDHE-RSA-AES128-GCM-SHA256, or IANA names such as"
                        + " TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256); OpenSSL keywords such as HIGH or !aNULL are not understood", null);
            }
            suites.add(iana);
        }
        if (suites.isEmpty()) throw new TlsException("--ciphers " + list + ": names no cipher suite", null);
        for (String s : supported) {
            if (s.startsWith("TLS_AES_") || s.startsWith("TLS_CHACHA20_")) suites.add(s);
        }
        return suites.toArray(new String[0]);
    }

    private static char[] randomPassword() {
        byte[] bytes = new byte[18];
        new SecureRandom().nextBytes(bytes);
        return Base64.getEncoder().encodeToString(bytes).toCharArray();
    }
}
