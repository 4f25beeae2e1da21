package dev.holdfast.controller.link;

import dev.holdfast.controller.catalog.AgentRecord;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.SourceLiveState;
import dev.holdfast.controller.catalog.SourceRecord;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.protocol.Errors;
import dev.holdfast.protocol.ProtocolVersion;
import dev.holdfast.protocol.v1.AgentLinkGrpcService;
import dev.holdfast.protocol.v1.AgentMessage;
import dev.holdfast.protocol.v1.ControllerMessage;
import dev.holdfast.protocol.v1.Heartbeat;
import dev.holdfast.protocol.v1.Hello;
import dev.holdfast.protocol.v1.JobProgress;
import dev.holdfast.protocol.v1.PolicyUpdate;
import dev.holdfast.protocol.v1.SourceInfo;
import dev.holdfast.protocol.v1.SourceState;
import dev.holdfast.protocol.v1.Welcome;
import io.vertx.core.Future;
import io.vertx.core.http.HttpConnection;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerRequest;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * The controller's end of {@code holdfast.v1.AgentLink/Connect} (docs/protocol.md).
 *
 * <h2>Who may connect</h2>
 * The TLS handshake already refused a certificate of another CA, an expired one and a revoked one
 * (the listener's trust manager). Here a stream without a client certificate is refused with
 * {@code UNAUTHENTICATED}, and so is one whose certificate serial was revoked after the TLS session
 * began (sessions can outlive a revocation). The certificate's subject CN is the agent's host; a
 * Hello naming another host is refused.
 *
 * <h2>Order</h2>
 * The agent's first message must be Hello; the controller answers Welcome (or an ErrorReply and the
 * end of the stream), then resynchronises the agent's jobs. Messages of one stream are handled one
 * after the other, in order; heartbeats touch memory only ({@link LiveStates}).
 */
public final class AgentLinkEndpoint {
    private final Catalog catalog;
    private final AgentSessions sessions;
    private final Jobs jobs;
    private final LiveStates live;
    private final LinkListener listener;
    private final Clock clock;
    private final Predicate<String> revokedSerial;
    private final Function<String, PolicyUpdate> policyFor;
    private final Duration heartbeatInterval;
    private final String controllerVersion;
    private volatile RestoreLink restores = RestoreLink.NONE;

    /**
     * @param revokedSerial whether a certificate serial (lower-case hex) is revoked
     * @param policyFor     the policy to send a host in Welcome
     */
    public AgentLinkEndpoint(Catalog catalog, AgentSessions sessions, Jobs jobs, LiveStates live, LinkListener listener, Clock clock,
                             Predicate<String> revokedSerial, Function<String, PolicyUpdate> policyFor, Duration heartbeatInterval,
                             String controllerVersion) {
        this.catalog = Objects.requireNonNull(catalog, "catalog");
        this.sessions = Objects.requireNonNull(sessions, "sessions");
        this.jobs = Objects.requireNonNull(jobs, "jobs");
        this.live = Objects.requireNonNull(live, "live");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.revokedSerial = Objects.requireNonNull(revokedSerial, "revokedSerial");
        this.policyFor = Objects.requireNonNull(policyFor, "policyFor");
        this.heartbeatInterval = Objects.requireNonNull(heartbeatInterval, "heartbeatInterval");
        this.controllerVersion = Objects.requireNonNull(controllerVersion, "controllerVersion");
    }

    /** Serves Connect on {@code server}. */
    public void bind(GrpcServer server) {
        server.callHandler(AgentLinkGrpcService.Connect, this::connect);
    }

    /** Routes restore progress, results and Hellos to the restore service (set before agents connect). */
    public void restores(RestoreLink link) {
        this.restores = java.util.Objects.requireNonNull(link, "link");
    }

    private void connect(GrpcServerRequest<AgentMessage, ControllerMessage> req) {
        Optional<X509Certificate> cert = clientCertificate(req.connection());
        if (cert.isEmpty()) {
            refuse(req, GrpcStatus.UNAUTHENTICATED, "agent.link.refused", "?", "no client certificate: enrol this host first (holdfast enroll)");
            return;
        }
        String serial = cert.get().getSerialNumber().toString(16);
        String host = commonName(cert.get()).orElse("");
        Instant notAfter = cert.get().getNotAfter().toInstant();
        if (host.isEmpty() || revokedSerial.test(serial) || !clock.instant().isBefore(notAfter)) {
            refuse(req, GrpcStatus.UNAUTHENTICATED, "agent.link.refused", host.isEmpty() ? "?" : host,
                    host.isEmpty() ? "the client certificate names no host"
                            : revokedSerial.test(serial) ? "the certificate of " + host + " was revoked"
                            : "the certificate of " + host + " expired at " + notAfter);
            return;
        }
        new Stream(req, host, serial, notAfter).start();
    }

    /**
     * Ends a host's link now (its certificates were revoked, or it enrolled again with a new
     * key): the session is removed and the host recorded disconnected at once, whatever the
     * stream's own close callbacks do later.
     */
    public void disconnect(String host) {
        sessions.get(host).ifPresent(s -> {
            if (sessions.remove(s)) {
                s.close();
                listener.agentConnected(host, false);
                catalog.agentSeen(host, false, clock.instant());
            }
        });
    }

    private void refuse(GrpcServerRequest<AgentMessage, ControllerMessage> req, GrpcStatus status, String action, String host, String why) {
        catalog.appendAudit(new AuditRecord(0, clock.instant(), "", host, "agent", action, host, "refused", why));
        req.response().status(status).statusMessage(ErrorCode.CONTROLLER_UNAVAILABLE.code() + ": " + why).end();
    }

    /** The client certificate of a TLS connection, if one was presented. */
    static Optional<X509Certificate> clientCertificate(HttpConnection c) {
        if (c == null || !c.isSsl()) {
            return Optional.empty();
        }
        try {
            List<Certificate> chain = c.peerCertificates();
            if (chain == null || chain.isEmpty() || !(chain.get(0) instanceof X509Certificate x)) {
                return Optional.empty();
            }
            return Optional.of(x);
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }

    static Optional<String> commonName(X509Certificate c) {
        try {
            for (Rdn rdn : new LdapName(c.getSubjectX500Principal().getName()).getRdns()) {
                if ("CN".equalsIgnoreCase(rdn.getType())) {
                    return Optional.of(String.valueOf(rdn.getValue()));
                }
            }
        } catch (InvalidNameException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /** One agent's stream. */
    private final class Stream {
        private final GrpcServerRequest<AgentMessage, ControllerMessage> req;
        private final String host;
        private final String serial;
        private final Instant certNotAfter;
        private AgentSession session;
        private Future<Void> queue = Future.succeededFuture();
        private boolean ended;
        private long expiryTimer = -1;
        private io.vertx.core.Vertx vertx;

        Stream(GrpcServerRequest<AgentMessage, ControllerMessage> req, String host, String serial, Instant certNotAfter) {
            this.req = req;
            this.host = host;
            this.serial = serial;
            this.certNotAfter = certNotAfter;
        }

        void start() {
            // TLS checks the certificate at the handshake only; a link must not outlive it.
            io.vertx.core.Context ctx = io.vertx.core.Vertx.currentContext();
            if (ctx != null) {
                vertx = ctx.owner();
                long ms = Math.max(1, Duration.between(clock.instant(), certNotAfter).toMillis());
                expiryTimer = vertx.setTimer(Math.min(ms, Long.MAX_VALUE / 2), id -> {
                    expiryTimer = -1;
                    fatal(ErrorCode.CONTROLLER_UNAVAILABLE, "the certificate of " + host + " expired at " + certNotAfter
                            + "; the agent renews it before that unless the controller was unreachable for too long");
                    closed("certificate expired");
                });
            }
            req.handler(m -> queue = queue.transform(ar -> handle(m).recover(t -> {
                sendError(Errors.reply(t));
                return Future.succeededFuture();
            })));
            req.endHandler(v -> closed("ended"));
            req.exceptionHandler(t -> closed("failed: " + t));
            req.response().exceptionHandler(t -> closed("reset: " + t));
        }

        private Future<Void> handle(AgentMessage m) {
            if (ended) {
                return Future.succeededFuture();
            }
            if (session == null) {
                if (m.getBodyCase() != AgentMessage.BodyCase.HELLO) {
                    return fatal(ErrorCode.USAGE, "the first message on the link must be Hello, not " + m.getBodyCase());
                }
                return hello(m.getHello());
            }
            return switch (m.getBodyCase()) {
                case HEARTBEAT -> heartbeat(m.getHeartbeat());
                case PROGRESS -> RestoreLink.owns(m.getProgress().getJobId()) ? restores.progress(host, m.getProgress())
                        : jobs.progress(host, m.getProgress());
                case RESULT -> RestoreLink.owns(m.getResult().getJobId()) ? restores.result(host, m.getResult())
                        : jobs.result(host, m.getResult());
                case ERROR -> Future.succeededFuture(); // the agent's complaint about something we sent; it logged it
                case HELLO -> fatal(ErrorCode.USAGE, "Hello was sent twice on one link");
                default -> Future.succeededFuture(); // a newer agent's message this version does not know: ignored
            };
        }

        private Future<Void> hello(Hello h) {
            if (!h.getHost().equals(host)) {
                return fatal(ErrorCode.PERMISSION_DENIED, "this certificate is for host '" + host + "', not '" + h.getHost() + "'");
            }
            var v = ProtocolVersion.negotiate(h.getMinVersion(), h.getMaxVersion());
            if (v.isEmpty()) {
                return fatal(ErrorCode.PROTOCOL_UNSUPPORTED, "the agent speaks protocol versions " + h.getMinVersion() + ".."
                        + h.getMaxVersion() + ", this controller " + ProtocolVersion.MIN + ".." + ProtocolVersion.MAX);
            }
            Instant now = clock.instant();
            session = new AgentSession(host, v.getAsInt(), req.response());
            return catalog.agent(host).compose(existing -> {
                AgentRecord a = new AgentRecord(host, h.getAgentVersion(), h.getCapabilitiesList(),
                        existing.map(AgentRecord::enrolledAt).orElse(now), Optional.of(now), true, serial, certNotAfter);
                List<SourceRecord> sources = new ArrayList<>();
                for (SourceInfo s : h.getSourcesList()) {
                    sources.add(new SourceRecord(host, s.getName(), s.getType(), s.getSystemId(), s.getServerVersion(), s.getWalMode(),
                            live.source(host, s.getName())));
                }
                return catalog.upsertAgent(a).compose(x -> catalog.replaceSources(host, sources));
            }).compose(x -> {
                sessions.put(session);
                listener.agentConnected(host, true);
                listener.agentSeen(host, now);
                live.seen(host, now);
                Welcome w = Welcome.newBuilder().setVersion(session.version()).setControllerVersion(controllerVersion)
                        .setHeartbeatIntervalSeconds((int) Math.max(1, heartbeatInterval.toSeconds()))
                        .setPolicy(policyFor.apply(host)).build();
                return session.send(ControllerMessage.newBuilder().setWelcome(w).build());
            }).compose(x -> jobs.resync(host, h)).compose(x -> restores.hello(host, h));
        }

        private Future<Void> heartbeat(Heartbeat hb) {
            long t0 = System.nanoTime();
            Instant now = clock.instant();
            live.seen(host, now);
            listener.agentSeen(host, now);
            for (SourceState s : hb.getSourcesList()) {
                live.source(host, s.getName(), new SourceLiveState(now, s.getRpoSeconds(), s.getLagSeconds(), s.getLastDurableLsn(),
                        s.getLastDurableAtMs() > 0 ? Optional.of(Instant.ofEpochMilli(s.getLastDurableAtMs())) : Optional.empty(),
                        s.getState(), s.getDetail()));
                listener.sourceRpo(host, s.getName(), s.getRpoSeconds());
            }
            listener.heartbeatHandled(Duration.ofNanos(System.nanoTime() - t0));
            Future<Void> chain = Future.succeededFuture();
            for (JobProgress p : hb.getRunningList()) {
                chain = chain.compose(v -> RestoreLink.owns(p.getJobId()) ? restores.progress(host, p) : jobs.progress(host, p));
            }
            return chain;
        }

        private Future<Void> fatal(ErrorCode code, String message) {
            sendError(Errors.reply(code, message));
            catalog.appendAudit(new AuditRecord(0, clock.instant(), "", host, "agent", "agent.link.refused", host, "refused",
                    code.code() + ": " + message));
            ended = true;
            try {
                req.response().end();
            } catch (RuntimeException ignored) {
                // already reset
            }
            return Future.succeededFuture();
        }

        private void sendError(dev.holdfast.protocol.v1.ErrorReply e) {
            try {
                req.response().write(ControllerMessage.newBuilder().setError(e).build());
            } catch (RuntimeException ignored) {
                // the stream is gone
            }
        }

        private void closed(String how) {
            ended = true;
            if (expiryTimer >= 0 && vertx != null) {
                vertx.cancelTimer(expiryTimer);
                expiryTimer = -1;
            }
            if (session == null) {
                return;
            }
            AgentSession s = session;
            s.markClosed();
            if (sessions.remove(s)) {
                listener.agentConnected(host, false);
                catalog.agentSeen(host, false, clock.instant());
            }
        }
    }
}
