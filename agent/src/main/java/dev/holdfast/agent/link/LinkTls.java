package dev.holdfast.agent.link;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.net.TrustOptions;
import io.vertx.core.net.KeyCertOptions;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509TrustManager;

/**
 * TLS settings of the agent's connections to the controller: TLS 1.3 or 1.2, HTTP/2 negotiated by
 * ALPN, the server's host name verified. Mutual-TLS options come from
 * {@link AgentIdentity#clientOptions()}; before enrolment, {@link #enrolmentClientOptions} trusts
 * only a server chain that contains the CA the token pins.
 */
public final class LinkTls {
    /** The TLS versions the agent and the controller accept. */
    public static final Set<String> PROTOCOLS = Set.of("TLSv1.3", "TLSv1.2");
    private static final char[] NO_PASSWORD = new char[0];

    private LinkTls() {
    }

    /** HTTP/2 over TLS with ALPN, host name verification on; no key or trust set yet. */
    public static HttpClientOptions baseClientOptions() {
        return new HttpClientOptions()
                .setSsl(true)
                .setUseAlpn(true)
                .setProtocolVersion(HttpVersion.HTTP_2)
                .setHttp2ClearTextUpgrade(false)
                .setVerifyHost(true)
                .setEnabledSecureTransportProtocols(PROTOCOLS);
    }

    /**
     * Mutual-TLS options: {@code key} and {@code certificate} offered to the server whatever CA
     * list its handshake names (so a refusal is the server's, at the handshake), and only
     * {@code ca} trusted for the server's chain (PKIX; the host name checked by verifyHost).
     */
    public static HttpClientOptions mutualClientOptions(PrivateKey key, X509Certificate certificate, X509Certificate ca) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, NO_PASSWORD);
            ks.setCertificateEntry("holdfast-ca", ca);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(ks);
            return baseClientOptions()
                    .setKeyCertOptions(KeyCertOptions.wrap(new FixedKeyManager(key, certificate)))
                    .setTrustOptions(TrustOptions.wrap(tmf));
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build the trust store of the pinned CA", e);
        }
    }

    /** Options for {@code Enroll}: no client certificate; the server chain must contain the pinned CA. */
    public static HttpClientOptions enrolmentClientOptions(CaPin pin) {
        return baseClientOptions().setTrustOptions(TrustOptions.wrap(pin));
    }

    /** The host and port of an https URL (port 443 when the URL names none). */
    public static SocketAddress address(URI url) {
        if (!"https".equals(url.getScheme()) || url.getHost() == null) {
            throw new HoldfastException(ErrorCode.USAGE, "the controller URL must be https://HOST[:PORT], found " + url);
        }
        String host = url.getHost();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return SocketAddress.inetSocketAddress(url.getPort() < 0 ? 443 : url.getPort(), host);
    }

    /**
     * Trust on first contact, pinned by the enrolment token: the server's chain must contain a
     * certificate whose SHA-256 fingerprint starts with the token's pin (the anchor), and the
     * leaf must validate (PKIX, at the clock's time) up to that anchor. The JDK adds the host
     * name check around this (a plain {@link X509TrustManager} is wrapped for it). Remembers the
     * anchor it accepted, and whether it refused a chain for want of the pin.
     */
    public static final class CaPin implements X509TrustManager {
        private final EnrolmentToken token;
        private final Clock clock;
        private volatile X509Certificate anchor;
        private volatile boolean mismatched;

        public CaPin(EnrolmentToken token, Clock clock) {
            this.token = token;
            this.clock = clock;
        }

        /** The pinned CA the server presented, once a handshake accepted it. */
        public X509Certificate anchor() {
            return anchor;
        }

        /** True when a server chain was refused because no certificate in it matched the pin. */
        public boolean mismatched() {
            return mismatched;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            if (chain == null || chain.length == 0) {
                throw new CertificateException("the controller presented no certificate");
            }
            int at = -1;
            for (int i = 0; i < chain.length; i++) {
                if (token.pins(chain[i])) {
                    at = i;
                    break;
                }
            }
            if (at < 0) {
                mismatched = true;
                throw new CertificateException("the controller's CA does not match the token's fingerprint");
            }
            X509Certificate ca = chain[at];
            if (at > 0) {
                try {
                    PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(ca, null)));
                    params.setRevocationEnabled(false);
                    params.setDate(Date.from(clock.instant()));
                    List<X509Certificate> path = Arrays.asList(chain).subList(0, at);
                    CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(path), params);
                } catch (GeneralSecurityException e) {
                    throw new CertificateException("the controller's certificate does not validate up to the pinned CA: " + e.getMessage(), e);
                }
            } else {
                ca.checkValidity(Date.from(clock.instant()));
            }
            anchor = ca;
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("a client-side trust manager");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    /** Always offers the one key and certificate: a refusal is then the controller's, visible at the handshake. */
    private static final class FixedKeyManager extends X509ExtendedKeyManager {
        private static final String ALIAS = "holdfast-agent";
        private final PrivateKey key;
        private final X509Certificate[] chain;

        FixedKeyManager(PrivateKey key, X509Certificate certificate) {
            this.key = key;
            this.chain = new X509Certificate[] {certificate};
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return new String[] {ALIAS};
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return ALIAS;
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            return ALIAS;
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return ALIAS.equals(alias) ? chain.clone() : null;
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return ALIAS.equals(alias) ? key : null;
        }
    }
}
