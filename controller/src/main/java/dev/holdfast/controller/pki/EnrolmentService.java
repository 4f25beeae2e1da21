package dev.holdfast.controller.pki;

import com.google.protobuf.ByteString;
import dev.holdfast.agent.link.EnrolmentToken;
import dev.holdfast.agent.link.Pem;
import dev.holdfast.controller.Tokens;
import dev.holdfast.controller.api.EnrolmentTokenIssuer;
import dev.holdfast.controller.api.IssuedEnrolmentToken;
import dev.holdfast.controller.catalog.AgentRecord;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.CertificateRecord;
import dev.holdfast.controller.catalog.EnrolmentTokenRecord;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.v1.EnrollRequest;
import dev.holdfast.protocol.v1.EnrollResponse;
import dev.holdfast.protocol.v1.RenewRequest;
import dev.holdfast.protocol.v1.RenewResponse;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Enrolment, renewal and revocation of agents.
 *
 * <ul>
 *   <li>{@link #issueToken}: a one-time token bound to a host, valid for
 *       {@code agents.enrolment_token_ttl}; only the SHA-256 of its secret part is stored (format:
 *       {@link EnrolmentToken}).</li>
 *   <li>{@link #enroll}: refuses ({@code enrolment_refused}) a malformed, unknown, used, expired or
 *       other host's token, a token of another controller (its CA pin differs) and a request whose
 *       subject is not exactly {@code CN=host}; otherwise consumes the token (exactly once, by
 *       {@link Catalog#consumeEnrolmentToken}), revokes the host's earlier certificates (enrolling
 *       again replaces the identity), issues a certificate for {@code agents.certificate_ttl} and
 *       records it and the agent.</li>
 *   <li>{@link #renew}: a new certificate for the host of a presented certificate that this CA
 *       issued and that is unexpired and unrevoked.</li>
 *   <li>{@link #revoke}: revokes every certificate of a host and refreshes the trust manager, so
 *       that the host's next handshake fails.</li>
 * </ul>
 *
 * <p>Every outcome is audited ({@code enrolment.token}, {@code enrolment.ok},
 * {@code enrolment.refused}, {@code renewal.ok}, {@code renewal.refused}, {@code agent.revoke},
 * {@code tls.refused}) with the reason, never a token. Signing runs on a worker; everything else
 * composes catalog futures.
 */
public final class EnrolmentService {
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,252}");

    /** A token as shown once to the admin who asked for it. {@link #toString()} hides it. */
    public record IssuedToken(String token, Instant expiresAt) {
        @Override
        public String toString() {
            return "IssuedToken[expiresAt=" + expiresAt + "]";
        }
    }

    private final Vertx vertx;
    private final Catalog catalog;
    private final ControllerCa ca;
    private final AgentTrustManager trust;
    private final X509Certificate anchor;
    private final ControllerConfig.Agents settings;
    private final Clock clock;
    private final SecureRandom random;
    /** Refused handshakes of one host for one reason are audited at most this often. */
    static final java.time.Duration REFUSAL_AUDIT_INTERVAL = java.time.Duration.ofMinutes(1);
    private volatile java.util.function.Consumer<String> hostRevoked = h -> { };

    /**
     * @param anchor the certificate that anchors the HTTPS listener's chain (the CA itself unless
     *               {@code tls:} names another certificate): enrolment tokens pin it and agents store it as {@code ca.crt}
     */
    public EnrolmentService(Vertx vertx, Catalog catalog, ControllerCa ca, AgentTrustManager trust, X509Certificate anchor,
                            ControllerConfig.Agents settings, Clock clock, SecureRandom random) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.catalog = Objects.requireNonNull(catalog, "catalog");
        this.ca = Objects.requireNonNull(ca, "ca");
        this.trust = Objects.requireNonNull(trust, "trust");
        this.anchor = Objects.requireNonNull(anchor, "anchor");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
    }

    /**
     * Told the host whose earlier certificates were just revoked (a revocation, or an enrolment
     * that replaces the host's key): the link ends that host's open connection, which TLS alone
     * would let run on.
     */
    public EnrolmentService onHostRevoked(java.util.function.Consumer<String> listener) {
        this.hostRevoked = java.util.Objects.requireNonNull(listener, "listener");
        return this;
    }

    /** Audits the trust manager's handshake refusals (call once, from a Vert.x context). */
    public EnrolmentService auditHandshakeRefusals() {
        Context ctx = vertx.getOrCreateContext();
        // At most one entry per host and reason a minute: anyone who can reach the port can fail
        // handshakes, and must not be able to fill the audit log (a revoked agent retries, too).
        Map<String, Instant> lastAudited = new java.util.concurrent.ConcurrentHashMap<>();
        trust.onRefusal(r -> {
            String key = r.host() + "\u0000" + r.reason();
            Instant now = clock.instant();
            Instant last = lastAudited.get(key);
            if (last != null && now.isBefore(last.plus(REFUSAL_AUDIT_INTERVAL))) {
                return;
            }
            lastAudited.put(key, now);
            if (lastAudited.size() > 10_000) {
                lastAudited.clear();
            }
            ctx.runOnContext(v -> audit(newRequestId(), r.host().isEmpty() ? "unknown" : r.host(), "agent",
                    "tls.refused", r.host(), "refused", r.reason() + (r.peer().isEmpty() ? "" : " (from " + r.peer() + ")")));
        });
        return this;
    }

    /** The pin that tokens carry: the listener anchor's fingerprint. */
    public String anchorFingerprint() {
        return Pem.fingerprint(anchor);
    }

    /**
     * Issues a one-time enrolment token for {@code host} (for {@code POST /api/v1/enrolment-tokens});
     * fails with {@code usage} for a host name that is not one.
     */
    public Future<IssuedToken> issueToken(String host, String actor, String requestId) {
        return newToken(host, actor).compose(t -> audit(requestId, actor, "admin", "enrolment.token", host, "ok",
                "token issued, expires at " + t.expiresAt()).map(seq -> t));
    }

    /**
     * The issuer behind {@code POST /api/v1/enrolment-tokens}: as {@link #issueToken}, without
     * the audit entry (the API audits its requests itself).
     */
    public EnrolmentTokenIssuer tokenIssuer() {
        return (host, actor, requestId) -> newToken(host, actor.name()).map(t -> new IssuedEnrolmentToken(t.token(), t.expiresAt()));
    }

    private Future<IssuedToken> newToken(String host, String actor) {
        if (host == null || !HOST.matcher(host).matches()) {
            return Future.failedFuture(new HoldfastException(ErrorCode.USAGE,
                    "host must be a host name of letters, digits, '.', '-' and '_', found '" + host + "'"));
        }
        Instant now = clock.instant();
        Instant expires = now.plus(settings.enrolmentTokenTtl());
        String secret = Tokens.newToken(EnrolmentToken.PREFIX, random);
        EnrolmentToken token = EnrolmentToken.of(secret, anchorFingerprint());
        EnrolmentTokenRecord rec = new EnrolmentTokenRecord(Tokens.hash(secret), host, now, expires, actor, Optional.empty());
        return catalog.insertEnrolmentToken(rec).map(v -> new IssuedToken(token.value(), expires));
    }

    /** As {@link #enroll(EnrollRequest, String)} with a fresh request id. */
    public Future<EnrollResponse> enroll(EnrollRequest request) {
        return enroll(request, newRequestId());
    }

    /** Enrols an agent (see the class comment); a refusal fails with {@code enrolment_refused} and is audited. */
    public Future<EnrollResponse> enroll(EnrollRequest request, String requestId) {
        String host = request.getHost();
        Instant now = clock.instant();
        Future<EnrollResponse> result;
        try {
            if (!HOST.matcher(host).matches()) {
                throw refused("the host name '" + host + "' is not a valid host name");
            }
            EnrolmentToken token = EnrolmentToken.parse(request.getToken());
            if (!anchorFingerprint().startsWith(token.caPin())) {
                throw refused("the enrolment token was issued by another controller (its CA fingerprint differs)");
            }
            String hash = Tokens.hash(token.secret());
            result = catalog.enrolmentToken(hash).compose(found -> {
                if (found.isEmpty()) {
                    throw refused("unknown enrolment token");
                }
                EnrolmentTokenRecord rec = found.get();
                if (rec.usedAt().isPresent()) {
                    throw refused("the enrolment token was already used (at " + rec.usedAt().get() + ")");
                }
                if (!now.isBefore(rec.expiresAt())) {
                    throw refused("the enrolment token expired at " + rec.expiresAt());
                }
                if (!rec.host().equals(host)) {
                    throw refused("the enrolment token is bound to host '" + rec.host() + "', not '" + host + "'");
                }
                byte[] csr = request.getCsrDer().toByteArray();
                return vertx.executeBlocking(() -> ControllerCa.verifiedCsrKey(csr, host))
                        .compose(key -> catalog.consumeEnrolmentToken(hash, now))
                        .compose(consumed -> {
                            if (!consumed) {
                                throw refused("the enrolment token was already used");
                            }
                            return catalog.revokeCertificates(host, now);
                        })
                        .compose(n -> vertx.executeBlocking(() -> ca.signAgentCsr(csr, host, settings.certificateTtl())))
                        .compose(cert -> record(host, cert, now)
                                .compose(v -> trust.refresh(catalog))
                                .onSuccess(v -> hostRevoked.accept(host))
                                .compose(v -> audit(requestId, host, "agent", "enrolment.ok", host, "ok",
                                        "certificate serial " + ControllerCa.serialHex(cert) + " issued, expires at "
                                                + cert.getNotAfter().toInstant() + "; earlier certificates of the host revoked"))
                                .map(seq -> EnrollResponse.newBuilder()
                                        .setCertificateDer(ByteString.copyFrom(Pem.der(cert)))
                                        .setCaCertificateDer(ByteString.copyFrom(Pem.der(anchor)))
                                        .setNotAfterMs(cert.getNotAfter().getTime())
                                        .build()));
            });
        } catch (HoldfastException e) {
            result = Future.failedFuture(e);
        }
        return result.recover(t -> auditFailure(requestId, host.isEmpty() ? "unknown" : host, "enrolment", t));
    }

    /** As {@link #renew(X509Certificate, RenewRequest, String)} with a fresh request id. */
    public Future<RenewResponse> renew(X509Certificate presented, RenewRequest request) {
        return renew(presented, request, newRequestId());
    }

    /**
     * Renews the certificate {@code presented} (the client certificate of the connection the
     * request came on): it must be this CA's, unexpired and unrevoked, and the request's subject
     * must name the same host.
     */
    public Future<RenewResponse> renew(X509Certificate presented, RenewRequest request, String requestId) {
        if (presented == null) {
            return auditFailure(requestId, "unknown", "renewal",
                    refused("renewal needs the agent's current client certificate on the connection"));
        }
        String host = ControllerCa.host(presented);
        String serial = ControllerCa.serialHex(presented);
        Instant now = clock.instant();
        Future<RenewResponse> result;
        try {
            if (!ca.issued(presented)) {
                throw refused("the presented certificate was not issued by this controller's CA");
            }
            try {
                presented.checkValidity(java.util.Date.from(now));
            } catch (CertificateException e) {
                throw refused("the presented certificate (serial " + serial + ") is not valid now (expires "
                        + presented.getNotAfter().toInstant() + ")");
            }
            byte[] csr = request.getCsrDer().toByteArray();
            result = catalog.revokedSerials().compose(revoked -> {
                if (revoked.stream().anyMatch(s -> s.equalsIgnoreCase(serial))) {
                    throw refused("the presented certificate (serial " + serial + ") is revoked");
                }
                return vertx.executeBlocking(() -> ca.signAgentCsr(csr, host, settings.certificateTtl()));
            }).compose(cert -> record(host, cert, now)
                    .compose(v -> revokedSince(serial, cert))
                    .compose(v -> audit(requestId, host, "agent", "renewal.ok", host, "ok", "certificate serial "
                            + ControllerCa.serialHex(cert) + " replaces " + serial + ", expires at " + cert.getNotAfter().toInstant()))
                    .map(seq -> RenewResponse.newBuilder()
                            .setCertificateDer(ByteString.copyFrom(Pem.der(cert)))
                            .setNotAfterMs(cert.getNotAfter().getTime())
                            .build()));
        } catch (HoldfastException e) {
            result = Future.failedFuture(e);
        }
        return result.recover(t -> auditFailure(requestId, host.isEmpty() ? "unknown" : host, "renewal", t));
    }

    /**
     * Closes the race of a renewal with a revocation: the revoked set was read before the new
     * certificate was recorded, so a revocation of the host in between would miss it. Read again;
     * if the presented certificate is revoked now, revoke the new one too and refuse.
     */
    private Future<Void> revokedSince(String presentedSerial, X509Certificate issued) {
        return catalog.revokedSerials().compose(revoked -> {
            if (revoked.stream().noneMatch(s -> s.equalsIgnoreCase(presentedSerial))) {
                return Future.succeededFuture();
            }
            return catalog.revokeCertificates(ControllerCa.host(issued), clock.instant()).compose(n -> trust.refresh(catalog))
                    .compose(v -> Future.failedFuture(refused("the presented certificate (serial " + presentedSerial
                            + ") was revoked while it was being renewed")));
        });
    }

    /** As {@link #revoke(String, String, String)} with a fresh request id. */
    public Future<Integer> revoke(String host, String actor) {
        return revoke(host, actor, newRequestId());
    }

    /**
     * Revokes every certificate of {@code host} and refreshes the trust manager; completes with
     * how many were revoked. Connections already open are not closed here (the link closes them).
     */
    public Future<Integer> revoke(String host, String actor, String requestId) {
        Instant now = clock.instant();
        return catalog.revokeCertificates(host, now)
                .compose(n -> trust.refresh(catalog)
                        .onSuccess(v -> hostRevoked.accept(host))
                        .compose(v -> audit(requestId, actor, "admin", "agent.revoke", host, "ok", n + " certificate(s) revoked"))
                        .map(seq -> n));
    }

    private Future<Void> record(String host, X509Certificate cert, Instant now) {
        String serial = ControllerCa.serialHex(cert);
        Instant notAfter = cert.getNotAfter().toInstant();
        return catalog.insertCertificate(new CertificateRecord(serial, host, cert.getNotBefore().toInstant(), notAfter, Optional.empty()))
                .compose(v -> catalog.agent(host))
                .compose(existing -> catalog.upsertAgent(existing
                        .map(a -> new AgentRecord(a.host(), a.agentVersion(), a.capabilities(), a.enrolledAt(), a.lastSeen(),
                                a.connected(), serial, notAfter))
                        .orElseGet(() -> new AgentRecord(host, "", List.of(), now, Optional.empty(), false, serial, notAfter))));
    }

    private <T> Future<T> auditFailure(String requestId, String actor, String what, Throwable t) {
        HoldfastException h = HoldfastException.find(t);
        boolean refusal = h != null && h.code() == ErrorCode.ENROLMENT_REFUSED;
        String detail = h != null ? h.getMessage() : String.valueOf(t);
        return audit(requestId, actor, "agent", what + (refusal ? ".refused" : ".failed"), actor, refusal ? "refused" : "failed", detail)
                .transform(ar -> Future.failedFuture(t));
    }

    private Future<Long> audit(String requestId, String actor, String role, String action, String object, String outcome,
                               String detail) {
        return catalog.appendAudit(new AuditRecord(0, clock.instant(), requestId, actor, role, action, object, outcome, detail));
    }

    private static HoldfastException refused(String message) {
        return new HoldfastException(ErrorCode.ENROLMENT_REFUSED, message);
    }

    /** A fresh request id for the audit log (random, 16 hex digits). */
    public String newRequestId() {
        byte[] b = new byte[8];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
