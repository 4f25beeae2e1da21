package dev.holdfast.controller.pki;

import dev.holdfast.agent.link.LinkTls;
import dev.holdfast.agent.link.Pem;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.TrustOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * The TLS of the controller's single HTTPS listener (API, dashboard, enrolment and the agent
 * link): TLS 1.3 or 1.2, ALPN with h2 and http/1.1, client certificates requested but not
 * required ({@link ClientAuth#REQUEST}: the API and {@code Enroll} need none; the agent link and
 * {@code Renew} require one through {@link #clientCertificate}). A client certificate that is
 * presented is checked at the handshake by {@link AgentTrustManager}, so a bad one fails the
 * handshake instead of being ignored.
 *
 * <p>The listener's key and certificate: the {@code tls:} files when configured; else
 * {@code <data_dir>/ca/server.key} and {@code server.crt} (leaf, then the CA), issued by the
 * controller's CA for the listen host, {@code localhost} and {@code 127.0.0.1} (valid one year),
 * re-issued at start when missing, within 30 days of expiry, or not covering those names.
 * Blocking (files, signing): build from a worker.
 */
public final class ControllerTls {
    public static final String SERVER_KEY_FILE = "server.key";
    public static final String SERVER_CERT_FILE = "server.crt";
    static final Duration SERVER_VALIDITY = Duration.ofDays(365);
    static final Duration REISSUE_BEFORE = Duration.ofDays(30);
    private static final char[] NO_PASSWORD = new char[0];

    private final PrivateKey key;
    private final List<X509Certificate> chain;
    private final AgentTrustManager trust;

    private ControllerTls(PrivateKey key, List<X509Certificate> chain, AgentTrustManager trust) {
        this.key = key;
        this.chain = List.copyOf(chain);
        this.trust = trust;
    }

    /**
     * The listener's TLS: the configured {@code tls} files, or a certificate of {@code ca} kept in
     * {@code caDir} for {@code names} (plus {@code localhost} and {@code 127.0.0.1}).
     */
    public static ControllerTls create(ControllerCa ca, Path caDir, Optional<ControllerConfig.Tls> tls, List<String> names,
                                       AgentTrustManager trust, Clock clock) {
        if (tls.isPresent()) {
            List<X509Certificate> chain = Pem.readCertificates(tls.get().certFile());
            PrivateKey key = Pem.readPrivateKey(tls.get().keyFile());
            return new ControllerTls(key, chain, trust);
        }
        Set<String> all = new LinkedHashSet<>(names);
        all.add("localhost");
        all.add("127.0.0.1");
        List<String> wanted = List.copyOf(all);
        Path keyFile = caDir.resolve(SERVER_KEY_FILE);
        Path certFile = caDir.resolve(SERVER_CERT_FILE);
        if (Files.exists(keyFile) && Files.exists(certFile)) {
            List<X509Certificate> chain = Pem.readCertificates(certFile);
            if (usable(chain, ca, wanted, clock.instant())) {
                return new ControllerTls(Pem.readPrivateKey(keyFile), chain, trust);
            }
        }
        ControllerCa.KeyAndChain issued = ca.issueServerCertificate(wanted, SERVER_VALIDITY);
        Pem.ensurePrivateDirectory(caDir);
        Pem.writeAtomically(keyFile, Pem.privateKey(issued.key()).getBytes(StandardCharsets.US_ASCII), Pem.OWNER_RW);
        Pem.writeAtomically(certFile, Pem.certificates(issued.chain()).getBytes(StandardCharsets.US_ASCII), Pem.PUBLIC_READ);
        return new ControllerTls(issued.key(), issued.chain(), trust);
    }

    /** The listener's certificate chain, leaf first. */
    public List<X509Certificate> chain() {
        return chain;
    }

    /**
     * The certificate that anchors the listener's chain as served (the last one): the controller's
     * CA by default. Enrolment tokens pin it; agents keep it as {@code ca.crt}.
     */
    public X509Certificate anchor() {
        return chain.get(chain.size() - 1);
    }

    public AgentTrustManager trustManager() {
        return trust;
    }

    /** Server options for the listener on {@code host:port} (port 0: any free port). */
    public HttpServerOptions serverOptions(String host, int port) {
        return new HttpServerOptions()
                .setHost(host)
                .setPort(port)
                .setSsl(true)
                .setUseAlpn(true)
                .setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1))
                .setEnabledSecureTransportProtocols(LinkTls.PROTOCOLS)
                .setClientAuth(ClientAuth.REQUEST)
                .setKeyCertOptions(keyCertOptions())
                .setTrustOptions(TrustOptions.wrap(trust));
    }

    /** The listener's key and chain as Vert.x options. */
    public KeyCertOptions keyCertOptions() {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, NO_PASSWORD);
            ks.setKeyEntry("holdfast-controller", key, NO_PASSWORD, chain.toArray(Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, NO_PASSWORD);
            return KeyCertOptions.wrap(kmf);
        } catch (GeneralSecurityException | IOException e) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "the listener's key does not fit its certificate: " + e.getMessage(), e);
        }
    }

    /** The verified client certificate of a request's connection, if the client presented one. */
    public static Optional<X509Certificate> clientCertificate(HttpServerRequest request) {
        return clientCertificate(request.connection());
    }

    /** The verified client certificate of a connection (the agent link's, a gRPC call's), if any. */
    public static Optional<X509Certificate> clientCertificate(HttpConnection connection) {
        return connection == null || !connection.isSsl() ? Optional.empty() : clientCertificate(connection.sslSession());
    }

    /** The verified client certificate of a TLS session, if the client presented one. */
    public static Optional<X509Certificate> clientCertificate(SSLSession session) {
        if (session == null) {
            return Optional.empty();
        }
        try {
            Certificate[] peer = session.getPeerCertificates();
            return peer.length > 0 && peer[0] instanceof X509Certificate x ? Optional.of(x) : Optional.empty();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }

    private static boolean usable(List<X509Certificate> chain, ControllerCa ca, List<String> names, Instant now) {
        X509Certificate leaf = chain.get(0);
        if (!ca.issued(leaf) || now.plus(REISSUE_BEFORE).isAfter(leaf.getNotAfter().toInstant())) {
            return false;
        }
        try {
            Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
            Set<String> have = new HashSet<>();
            if (sans != null) {
                for (List<?> san : sans) {
                    have.add(String.valueOf(san.get(1)));
                }
            }
            return have.containsAll(new ArrayList<>(names));
        } catch (CertificateParsingException e) {
            return false;
        }
    }
}
