package dev.holdfast.controller.pki;

import dev.holdfast.controller.catalog.Catalog;
import io.vertx.core.Future;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Decides, during the TLS handshake, whether an agent's client certificate is accepted: it must
 * validate (PKIX, at the injected clock's time, no intermediates) up to the controller's CA and
 * nothing else, carry the clientAuth extended key usage, and its serial must not be in the
 * revoked set. Anything else fails the handshake, so a certificate from another CA, an expired
 * one or a revoked one never reaches a request handler.
 *
 * <p>The revoked set is a snapshot of {@link Catalog#revokedSerials()}, replaced by
 * {@link #refresh}; {@link EnrolmentService#revoke} refreshes it. Each refusal is reported to the
 * listener (which audits it) with the certificate's CN and serial, never more.
 *
 * <p>Used on the server side only: {@code checkServerTrusted} always refuses.
 */
public final class AgentTrustManager extends X509ExtendedTrustManager {
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

    /** One refused client certificate. @param host its CN @param serial lower-case hex @param peer the remote address, if known @param reason why */
    public record Refusal(String host, String serial, String peer, String reason) {
    }

    private final X509Certificate ca;
    private final Clock clock;
    private volatile Set<String> revoked = Set.of();
    private volatile Consumer<Refusal> listener = r -> { };

    public AgentTrustManager(X509Certificate ca, Clock clock) {
        this.ca = Objects.requireNonNull(ca, "ca");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Where refusals are reported (called on the handshake's thread; must not block). */
    public AgentTrustManager onRefusal(Consumer<Refusal> listener) {
        this.listener = Objects.requireNonNull(listener, "listener");
        return this;
    }

    /**
     * Adds the catalog's revoked serials. A union, never a replacement: revocations are never
     * undone, and two refreshes racing (an enrolment and a revocation at once) must not let an
     * older read drop a newer revocation.
     */
    public Future<Void> refresh(Catalog catalog) {
        return catalog.revokedSerials().map(serials -> {
            addRevoked(serials);
            return null;
        });
    }

    /** Adds revoked serials (lower- or upper-case hex) to the set. */
    public synchronized void addRevoked(java.util.Collection<String> serials) {
        Set<String> s = new HashSet<>(revoked);
        for (String x : serials) {
            s.add(x.toLowerCase(Locale.ROOT));
        }
        revoked = Set.copyOf(s);
    }

    public boolean isRevoked(String serialHex) {
        return revoked.contains(serialHex.toLowerCase(Locale.ROOT));
    }

    /**
     * The checks of the handshake, for a certificate presented outside one (renewal re-checks
     * the certificate of a long-lived connection).
     *
     * @throws CertificateException naming what failed
     */
    public void check(X509Certificate[] chain) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("no client certificate");
        }
        X509Certificate leaf = chain[0];
        // The path is the leaf alone (the CA issues agent certificates directly); a copy of the CA
        // sent along by the client is ignored, anything else is not part of the path.
        List<X509Certificate> path = new ArrayList<>(List.of(leaf));
        try {
            PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(ca, null)));
            params.setRevocationEnabled(false);
            params.setDate(Date.from(clock.instant()));
            CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(path), params);
        } catch (GeneralSecurityException e) {
            throw new CertificateException(reason(leaf, e), e);
        }
        List<String> eku;
        try {
            eku = leaf.getExtendedKeyUsage();
        } catch (CertificateParsingException e) {
            eku = null;
        }
        if (eku == null || !eku.contains(CLIENT_AUTH)) {
            throw new CertificateException("the certificate is not for client authentication");
        }
        if (isRevoked(ControllerCa.serialHex(leaf))) {
            throw new CertificateException("the certificate (serial " + ControllerCa.serialHex(leaf) + ") is revoked");
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        checkAndReport(chain, engine == null || engine.getPeerHost() == null ? "" : engine.getPeerHost() + ":" + engine.getPeerPort());
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        checkAndReport(chain, socket == null ? "" : String.valueOf(socket.getRemoteSocketAddress()));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        checkAndReport(chain, "");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        throw new CertificateException("the agent trust manager checks clients only");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        throw new CertificateException("the agent trust manager checks clients only");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("the agent trust manager checks clients only");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[] {ca};
    }

    private void checkAndReport(X509Certificate[] chain, String peer) throws CertificateException {
        try {
            check(chain);
        } catch (CertificateException e) {
            X509Certificate leaf = chain == null || chain.length == 0 ? null : chain[0];
            try {
                listener.accept(new Refusal(leaf == null ? "" : ControllerCa.host(leaf), leaf == null ? "" : ControllerCa.serialHex(leaf),
                        peer, e.getMessage()));
            } catch (RuntimeException ignored) {
                // Reporting must never turn a refusal into something else.
            }
            throw e;
        }
    }

    private String reason(X509Certificate leaf, GeneralSecurityException e) {
        Date now = Date.from(clock.instant());
        if (now.after(leaf.getNotAfter())) {
            return "the certificate (serial " + ControllerCa.serialHex(leaf) + ") expired at " + leaf.getNotAfter().toInstant();
        }
        if (now.before(leaf.getNotBefore())) {
            return "the certificate (serial " + ControllerCa.serialHex(leaf) + ") is not valid before " + leaf.getNotBefore().toInstant();
        }
        if (!leaf.getIssuerX500Principal().equals(ca.getSubjectX500Principal())) {
            return "the certificate was not issued by this controller's CA (issuer " + leaf.getIssuerX500Principal() + ")";
        }
        return "the certificate does not validate against this controller's CA: " + e.getMessage();
    }
}
