package dev.holdfast.controller.pki;

import dev.holdfast.controller.ManualClock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.holdfast.agent.link.AgentIdentity;
import dev.holdfast.agent.link.EnrolmentCalls;
import dev.holdfast.agent.link.EnrolmentToken;
import dev.holdfast.agent.link.Enroller;
import dev.holdfast.agent.link.LinkTls;
import dev.holdfast.agent.link.Renewal;
import dev.holdfast.controller.api.Actor;
import dev.holdfast.controller.api.IssuedEnrolmentToken;
import dev.holdfast.controller.api.Role;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.CatalogFactory;
import dev.holdfast.controller.catalog.PageRequest;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.v1.EnrollRequest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.TrustOptions;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import io.vertx.grpc.server.GrpcServer;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Enrolment and mutual TLS over real TLS on loopback: the controller's listener options, the
 * Enrolment gRPC endpoint on a Vert.x GrpcServer, and a route that reports the client
 * certificate's CN (what the agent link will require).
 */
class EnrolmentTlsTest {
    private static final ControllerConfig.Agents SETTINGS = new ControllerConfig.Agents(Duration.ofSeconds(10), Duration.ofSeconds(60),
            Duration.ofHours(1), Duration.ofMinutes(30));

    @TempDir
    Path tmp;

    private final SecureRandom random = new SecureRandom();
    private Vertx vertx;
    private ManualClock clock;
    private final AuditWatch audits = new AuditWatch();
    private Catalog catalog;
    private ControllerCa ca;
    private ControllerTls tls;
    private EnrolmentService service;
    private ControllerConfig config;
    private int port;
    private int dirs;

    @BeforeEach
    void start() throws Exception {
        vertx = Vertx.vertx();
        clock = new ManualClock(Instant.now());
        Path file = tmp.resolve("controller.yaml");
        Files.writeString(file, "listen: 127.0.0.1:0\ndata_dir: " + tmp.resolve("data") + "\nagents:\n  certificate_ttl: 1h\n"
                + "  enrolment_token_ttl: 30m\n");
        config = ControllerConfig.load(file, cron -> { });
        assertEquals(SETTINGS, config.agents());
        catalog = audits.watch(await(CatalogFactory.open(vertx, config.catalog(), config.dataDir(), clock)));
        Pki pki = await(Pki.open(vertx, config, catalog, clock, random));
        ca = pki.ca();
        tls = pki.tls();
        service = pki.enrolment();
        port = listen(pki);
    }

    /** Starts a listener as the controller's: the Enrolment endpoint, and GET /whoami reporting the client certificate's CN. */
    private int listen(Pki pki) throws Exception {
        GrpcServer grpc = pki.mount(GrpcServer.server(vertx));
        HttpServer server = vertx.createHttpServer(pki.serverOptions()).requestHandler(req -> {
            if ("/whoami".equals(req.path())) {
                Optional<X509Certificate> c = ControllerTls.clientCertificate(req);
                req.response().setStatusCode(c.isPresent() ? 200 : 403).end(c.map(ControllerCa::host).orElse("no client certificate"));
            } else {
                grpc.handle(req);
            }
        });
        return await(server.listen()).actualPort();
    }

    @AfterEach
    void stop() throws Exception {
        catalog.close();
        await(vertx.close());
    }

    @Test
    void anAgentEnrolsAndItsMutualTlsRequestIsAccepted() throws Exception {
        String token = await(service.issueToken("db1", "admin-token", "r1")).token();
        assertTrue(token.matches("hfe_[A-Za-z0-9_-]{43}\\.[0-9a-f]{32}"), token);
        assertTrue(ca.fingerprint().startsWith(token.substring(token.indexOf('.') + 1)));

        Path dir = tmp.resolve("identity");
        AgentIdentity id = await(Enroller.enroll(vertx, url(), token, "db1", dir, clock, random));
        assertEquals("db1", id.host());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("agent.key"))));
        assertTrue(Files.exists(dir.resolve("agent.crt")) && Files.exists(dir.resolve("ca.crt")) && Files.exists(dir.resolve("controller.url")));
        assertEquals(List.of("agent.crt", "agent.key", "ca.crt", "controller.url"), list(dir));
        assertEquals(id.serial(), AgentIdentity.load(dir).orElseThrow().serial());
        X509Certificate cert = id.certificate();
        assertEquals(List.of("1.3.6.1.5.5.7.3.2"), cert.getExtendedKeyUsage());
        assertEquals(128, cert.getSerialNumber().bitLength());
        assertEquals(clock.instant().plus(SETTINGS.certificateTtl()).getEpochSecond(), id.notAfter().getEpochSecond());

        assertEquals("200 db1", await(whoami(id.clientOptions())));
        // Without a client certificate the handshake succeeds (REQUEST) and the route says so.
        assertEquals("403 no client certificate", await(whoami(LinkTls.baseClientOptions().setTrustOptions(caTrust()))));

        assertEquals(id.serial(), await(catalog.agent("db1")).orElseThrow().certSerial());
        AuditRecord ok = await(audits.await("enrolment.ok"));
        assertEquals("db1", ok.object());
        assertTrue(auditEntries().stream().anyMatch(a -> a.action().equals("enrolment.token") && a.actor().equals("admin-token")));
        assertNoSecretAudited(token);
    }

    @Test
    void theApisTokenIssuerIssuesTokensThatEnrol() throws Exception {
        IssuedEnrolmentToken t = await(service.tokenIssuer().issue("db3", new Actor("ops", Role.ADMIN), "r9"));
        assertEquals(clock.instant().plus(SETTINGS.enrolmentTokenTtl()), t.expiresAt());
        assertEquals("db3", await(Enroller.enroll(vertx, url(), t.token(), "db3", newDir(), clock, random)).host());
        assertFalse(auditEntries().stream().anyMatch(a -> a.action().equals("enrolment.token")), "the API audits its own requests");
    }

    @Test
    void aReplayedTokenIsRefusedAndAudited() throws Exception {
        String token = await(service.issueToken("db1", "admin", "r1")).token();
        await(Enroller.enroll(vertx, url(), token, "db1", newDir(), clock, random));
        Path second = newDir();
        assertRefused("already used", Enroller.enroll(vertx, url(), token, "db1", second, clock, random));
        assertFalse(Files.exists(second.resolve("agent.crt")));
        assertAuditedRefusal("already used");
        assertNoSecretAudited(token);
    }

    @Test
    void anExpiredTokenIsRefusedAndAudited() throws Exception {
        String token = await(service.issueToken("db1", "admin", "r1")).token();
        clock.advance(SETTINGS.enrolmentTokenTtl().plusSeconds(1));
        assertRefused("expired", Enroller.enroll(vertx, url(), token, "db1", newDir(), clock, random));
        assertAuditedRefusal("expired");
    }

    @Test
    void anotherHostsTokenIsRefusedAndAudited() throws Exception {
        String token = await(service.issueToken("db2", "admin", "r1")).token();
        assertRefused("bound to host 'db2'", Enroller.enroll(vertx, url(), token, "db1", newDir(), clock, random));
        assertAuditedRefusal("bound to host 'db2'");
        // The refusal did not use the token up: db2 can still enrol with it.
        assertEquals("db2", await(Enroller.enroll(vertx, url(), token, "db2", newDir(), clock, random)).host());
    }

    @Test
    void anUnknownTokenIsRefusedAndAudited() throws Exception {
        String token = EnrolmentToken.of("hfe_" + "A".repeat(43), ca.fingerprint()).value();
        assertRefused("unknown enrolment token", Enroller.enroll(vertx, url(), token, "db1", newDir(), clock, random));
        assertAuditedRefusal("unknown enrolment token");
    }

    @Test
    void aRequestWhoseCnIsNotTheHostIsRefused() throws Exception {
        String token = await(service.issueToken("db1", "admin", "r1")).token();
        AgentIdentity.PendingKey other = AgentIdentity.generateCsr("db2", random);
        EnrollRequest req = EnrollRequest.newBuilder().setToken(token).setHost("db1").setCsrDer(ByteString.copyFrom(other.csrDer())).build();
        LinkTls.CaPin pin = new LinkTls.CaPin(EnrolmentToken.parse(token), clock);
        GrpcClient client = GrpcClient.client(vertx, new GrpcClientOptions(), LinkTls.enrolmentClientOptions(pin));
        assertRefused("exactly CN=db1", EnrolmentCalls.enroll(client, LinkTls.address(url()), req));
        assertAuditedRefusal("exactly CN=db1");
        assertEquals("db1", await(Enroller.enroll(vertx, url(), token, "db1", newDir(), clock, random)).host());
    }

    @Test
    void theAgentRefusesAControllerWhoseCaIsNotTheTokens() throws Exception {
        String token = await(service.issueToken("db1", "admin", "r1")).token();
        char last = token.charAt(token.length() - 1);
        String forged = token.substring(0, token.length() - 1) + (last == '0' ? '1' : '0');
        Path dir = newDir();
        HoldfastException e = assertRefused(Enroller.PIN_MISMATCH, Enroller.enroll(vertx, url(), forged, "db1", dir, clock, random));
        assertEquals(ErrorCode.ENROLMENT_REFUSED, e.code());
        assertFalse(Files.exists(dir.resolve("agent.key")), "nothing stored");
        // The client stopped at the handshake: the token was never sent, so it still works.
        assertEquals("db1", await(Enroller.enroll(vertx, url(), token, "db1", newDir(), clock, random)).host());
    }

    @Test
    void aClientCertificateFromAnotherCaFailsTheHandshake() throws Exception {
        ControllerCa other = ControllerCa.loadOrCreate(tmp.resolve("other/ca"), clock, random);
        AgentIdentity.PendingKey k = AgentIdentity.generateCsr("db1", random);
        X509Certificate foreign = other.signAgentCsr(k.csrDer(), "db1", Duration.ofHours(1));
        HttpClientOptions opts = LinkTls.mutualClientOptions(k.keyPair().getPrivate(), foreign, tls.anchor());
        assertThrows(Exception.class, () -> await(whoami(opts)));
        AuditRecord refused = await(audits.await("tls.refused"));
        assertTrue(refused.detail().contains("not issued by this controller's CA"), refused.detail());
        assertEquals("db1", refused.object());
    }

    @Test
    void anExpiredCertificateFailsTheHandshake() throws Exception {
        AgentIdentity id = enrol("db1");
        assertEquals("200 db1", await(whoami(id.clientOptions())));
        clock.advance(SETTINGS.certificateTtl().plusMinutes(1));
        assertThrows(Exception.class, () -> await(whoami(id.clientOptions())));
        AuditRecord refused = await(audits.await("tls.refused"));
        assertTrue(refused.detail().contains("expired"), refused.detail());
    }

    @Test
    void aRevokedCertificateFailsTheHandshake() throws Exception {
        AgentIdentity id = enrol("db1");
        assertEquals("200 db1", await(whoami(id.clientOptions())));
        assertEquals(1, await(service.revoke("db1", "admin", "r2")));
        assertThrows(Exception.class, () -> await(whoami(id.clientOptions())));
        AuditRecord refused = await(audits.await("tls.refused"));
        assertTrue(refused.detail().contains("revoked"), refused.detail());
        assertTrue(auditEntries().stream().anyMatch(a -> a.action().equals("agent.revoke") && a.object().equals("db1")));
    }

    @Test
    void aRestartedControllerKeepsItsCaAndStillRefusesARevokedCertificate() throws Exception {
        AgentIdentity id = enrol("db1");
        await(service.revoke("db1", "admin", "r2"));
        Pki restarted = await(Pki.open(vertx, config, catalog, clock, random));
        assertEquals(ca.fingerprint(), restarted.ca().fingerprint());
        assertEquals(tls.chain().get(0), restarted.tls().chain().get(0));
        assertTrue(restarted.trust().isRevoked(id.serial()));
        port = listen(restarted);
        assertThrows(Exception.class, () -> await(whoami(id.clientOptions())));
        assertEquals("200 db2", await(whoami(enrol("db2").clientOptions())));
    }

    @Test
    void renewalYieldsANewCertificateThatWorks() throws Exception {
        AgentIdentity id = enrol("db1");
        assertFalse(id.needsRenewal(clock.instant()));
        clock.advance(Duration.ofMinutes(41));
        assertTrue(id.needsRenewal(clock.instant()));
        AgentIdentity renewed = await(Renewal.renew(vertx, id, random));
        assertNotEquals(id.serial(), renewed.serial());
        assertTrue(renewed.notAfter().isAfter(id.notAfter()));
        assertEquals(renewed.serial(), AgentIdentity.load(id.directory()).orElseThrow().serial());
        assertEquals(List.of("agent.crt", "agent.key", "ca.crt", "controller.url"), list(id.directory()));
        assertEquals("200 db1", await(whoami(renewed.clientOptions())));
        assertEquals(renewed.serial(), await(catalog.agent("db1")).orElseThrow().certSerial());
        await(audits.await("renewal.ok"));
    }

    @Test
    void renewalNeedsAClientCertificate() throws Exception {
        EnrollRequest unused = EnrollRequest.getDefaultInstance();
        assertRefused("needs the agent's current client certificate",
                service.renew(null, dev.holdfast.protocol.v1.RenewRequest.getDefaultInstance(), "r"));
        assertTrue(unused.getHost().isEmpty());
        await(audits.await("renewal.refused"));
    }

    @Test
    void theCaIsCreatedOnceAndLoadedAfterwards() throws Exception {
        Path caDir = tmp.resolve("data/ca");
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(caDir)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(caDir.resolve("ca.key"))));
        ControllerCa again = ControllerCa.loadOrCreate(caDir, clock, random);
        assertEquals(ca.fingerprint(), again.fingerprint());
        X509Certificate c = again.certificate();
        assertTrue(c.getBasicConstraints() >= 0);
        assertTrue(c.getKeyUsage()[5], "keyCertSign");
        assertTrue(Duration.between(c.getNotBefore().toInstant(), c.getNotAfter().toInstant()).toDays() >= 3652);
        // The listener's certificate is kept and reused while valid.
        ControllerTls reused = ControllerTls.create(again, caDir, Optional.empty(), List.of("127.0.0.1"), tls.trustManager(), clock);
        assertEquals(tls.chain().get(0), reused.chain().get(0));
    }

    private AgentIdentity enrol(String host) throws Exception {
        String token = await(service.issueToken(host, "admin", "r1")).token();
        return await(Enroller.enroll(vertx, url(), token, host, newDir(), clock, random));
    }

    private Path newDir() {
        return tmp.resolve("identity-" + (++dirs));
    }

    private URI url() {
        return URI.create("https://127.0.0.1:" + port);
    }

    private TrustOptions caTrust() throws Exception {
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        ks.load(null, new char[0]);
        ks.setCertificateEntry("ca", tls.anchor());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ks);
        return TrustOptions.wrap(tmf);
    }

    /** GET /whoami over a fresh client (a fresh connection, so a fresh handshake): "status body". */
    private Future<String> whoami(HttpClientOptions options) {
        HttpClientAgent client = vertx.createHttpClient(options);
        return client.request(HttpMethod.GET, port, "127.0.0.1", "/whoami")
                .compose(r -> r.send())
                .compose(resp -> resp.body().map(b -> resp.statusCode() + " " + b))
                .eventually(() -> client.close());
    }

    private void assertAuditedRefusal(String reason) throws Exception {
        await(audits.await("enrolment.refused"));
        AuditRecord r = auditEntries().stream().filter(a -> a.action().equals("enrolment.refused")).reduce((a, b) -> b).orElseThrow();
        assertEquals("refused", r.outcome());
        assertTrue(r.detail().contains(reason), r.detail());
    }

    /** The audit log as the catalog stores it. */
    private List<AuditRecord> auditEntries() throws Exception {
        return await(catalog.audit(PageRequest.FIRST)).items();
    }

    private void assertNoSecretAudited(String token) throws Exception {
        String secret = token.substring(0, token.indexOf('.'));
        for (AuditRecord a : auditEntries()) {
            assertFalse(a.toString().contains(secret), a.toString());
        }
    }

    private static HoldfastException assertRefused(String reason, Future<?> f) {
        Exception e = assertThrows(Exception.class, () -> await(f));
        HoldfastException h = HoldfastException.find(e);
        if (h == null) {
            throw new AssertionError("expected a HoldfastException", e);
        }
        assertEquals(ErrorCode.ENROLMENT_REFUSED, h.code(), h.getMessage());
        assertTrue(h.getMessage().contains(reason), h.getMessage());
        return h;
    }

    private static List<String> list(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    static <T> T await(Future<T> f) throws Exception {
        try {
            return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception x ? x : e;
        }
    }
}
