package dev.holdfast.cli.enroll;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.holdfast.agent.link.AgentIdentity;
import dev.holdfast.cli.Cli;
import dev.holdfast.cli.Json;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.CatalogFactory;
import dev.holdfast.controller.catalog.PageRequest;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.controller.pki.AgentTrustManager;
import dev.holdfast.controller.pki.ControllerCa;
import dev.holdfast.controller.pki.ControllerTls;
import dev.holdfast.controller.pki.EnrolmentEndpoint;
import dev.holdfast.controller.pki.EnrolmentService;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.grpc.server.GrpcServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code holdfast enroll} end to end against a real controller listener (TLS, gRPC) on loopback. */
class EnrollCommandTest {
    @TempDir
    Path tmp;

    private final SecureRandom random = new SecureRandom();
    private Vertx vertx;
    private Catalog catalog;
    private ControllerCa ca;
    private EnrolmentService service;
    private int port;

    @BeforeEach
    void start() throws Exception {
        vertx = Vertx.vertx();
        Clock clock = Clock.systemUTC();
        catalog = await(CatalogFactory.open(vertx, new ControllerConfig.CatalogUrl("embedded"), tmp.resolve("controller"), clock));
        Path caDir = tmp.resolve("controller/ca");
        ca = ControllerCa.loadOrCreate(caDir, clock, random);
        AgentTrustManager trust = new AgentTrustManager(ca.certificate(), clock);
        ControllerTls tls = ControllerTls.create(ca, caDir, Optional.empty(), List.of("127.0.0.1"), trust, clock);
        service = new EnrolmentService(vertx, catalog, ca, trust, tls.anchor(), ControllerConfig.Agents.DEFAULT, clock, random);
        GrpcServer grpc = GrpcServer.server(vertx);
        new EnrolmentEndpoint(service).mount(grpc);
        HttpServer server = vertx.createHttpServer(tls.serverOptions("127.0.0.1", 0)).requestHandler(req -> {
            if ("/whoami".equals(req.path())) {
                req.response().end(ControllerTls.clientCertificate(req).map(ControllerCa::host).orElse("nobody"));
            } else {
                grpc.handle(req);
            }
        });
        port = await(server.listen()).actualPort();
    }

    @AfterEach
    void stop() throws Exception {
        catalog.close();
        await(vertx.close());
    }

    @Test
    void enrollStoresAnIdentityThatTheControllerAccepts() throws Exception {
        String token = await(service.issueToken("db1", "admin", "r1")).token();
        Path dir = tmp.resolve("identity");
        Cli r = Cli.run("enroll", "--controller", url(), "--token", token, "--host", "db1", "--identity-dir", dir.toString(), "--json");
        assertEquals(0, r.status(), r::toString);
        assertFalse(r.out().contains(token.substring(0, token.indexOf('.'))), "the token's secret is not printed");
        JsonNode j = Json.MAPPER.readTree(r.out());
        assertEquals("db1", j.get("host").asText());
        assertEquals(ca.fingerprint(), j.get("ca_fingerprint").asText());
        AgentIdentity id = AgentIdentity.load(dir).orElseThrow();
        assertEquals(j.get("serial").asText(), id.serial());
        assertEquals(j.get("not_after").asText(), id.notAfter().toString());
        assertEquals("db1", await(whoami(id)));
        assertEquals(id.serial(), await(catalog.agent("db1")).orElseThrow().certSerial());

        Cli again = Cli.run("enroll", "--controller", url(), "--token", token, "--host", "db1", "--identity-dir", tmp.resolve("x").toString());
        assertEquals(64, again.status(), again::toString);
        assertTrue(again.err().contains("enrolment_refused") && again.err().contains("already used"), again::toString);
        assertTrue(await(catalog.audit(PageRequest.FIRST)).items().stream()
                .anyMatch(a -> a.action().equals("enrolment.refused") && a.detail().contains("already used")));
    }

    @Test
    void enrollTakesTheHostAndIdentityDirFromTheAgentConfiguration() throws Exception {
        String token = await(service.issueToken("db2", "admin", "r1")).token();
        Path dir = tmp.resolve("from-config");
        Path cfg = tmp.resolve("agent.yaml");
        Files.writeString(cfg, "host: db2\nrepository:\n  url: " + tmp.resolve("repo").toUri() + "\n  key_file: " + tmp.resolve("master.key")
                + "\ncontroller:\n  url: " + url() + "\n  identity_dir: " + dir + "\n");
        Cli r = Cli.run("enroll", "--config", cfg.toString(), "--controller", url(), "--token", token);
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.out().contains("enrolled db2") && r.out().contains(ca.fingerprint()), r::toString);
        assertEquals("db2", AgentIdentity.load(dir).orElseThrow().host());
    }

    @Test
    void aTokenPinningAnotherCaIsRefusedByTheClient() throws Exception {
        String token = await(service.issueToken("db1", "admin", "r1")).token();
        String forged = token.substring(0, token.length() - 4) + (token.endsWith("0000") ? "1111" : "0000");
        Path dir = tmp.resolve("identity");
        Cli r = Cli.run("enroll", "--controller", url(), "--token", forged, "--host", "db1", "--identity-dir", dir.toString());
        assertEquals(64, r.status(), r::toString);
        assertTrue(r.err().contains("the controller's CA does not match the token's fingerprint"), r::toString);
        assertFalse(Files.exists(dir.resolve("agent.crt")));
    }

    @Test
    void anUnreachableControllerExits65() throws Exception {
        String token = await(service.issueToken("db1", "admin", "r1")).token();
        HttpServer closed = await(vertx.createHttpServer().requestHandler(req -> req.response().end()).listen(0, "127.0.0.1"));
        int deadPort = closed.actualPort();
        await(closed.close());
        Cli r = Cli.run("enroll", "--controller", "https://127.0.0.1:" + deadPort, "--token", token, "--host", "db1",
                "--identity-dir", tmp.resolve("identity").toString());
        assertEquals(65, r.status(), r::toString);
        assertTrue(r.err().contains("controller_unavailable"), r::toString);
    }

    @Test
    void aMalformedTokenIsRefusedWithoutContactingTheController() {
        Cli r = Cli.run("enroll", "--controller", url(), "--token", "not-a-token", "--host", "db1", "--identity-dir", tmp.resolve("i").toString());
        assertEquals(64, r.status(), r::toString);
        assertTrue(r.err().contains("malformed enrolment token"), r::toString);
    }

    private String url() {
        return "https://127.0.0.1:" + port;
    }

    private Future<String> whoami(AgentIdentity id) {
        HttpClientAgent client = vertx.createHttpClient(id.clientOptions());
        return client.request(HttpMethod.GET, port, "127.0.0.1", "/whoami")
                .compose(r -> r.send())
                .compose(resp -> resp.body().map(Object::toString))
                .eventually(() -> client.close());
    }

    private static <T> T await(Future<T> f) throws Exception {
        try {
            return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception x ? x : e;
        }
    }
}
