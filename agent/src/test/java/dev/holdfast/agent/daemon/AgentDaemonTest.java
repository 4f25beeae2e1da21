package dev.holdfast.agent.daemon;

import static dev.holdfast.agent.daemon.TestAgent.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.config.FilesSourceConfig;
import dev.holdfast.agent.config.PostgresSourceConfig;
import dev.holdfast.agent.config.SourceConfig;
import dev.holdfast.agent.config.WalConfig;
import dev.holdfast.agent.daemon.TestAgent.CapturedLog;
import dev.holdfast.agent.daemon.TestAgent.Response;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.RepositoryLocation;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon starts its parts and its sources, serves status and metrics, and stops everything, also when a source fails. */
class AgentDaemonTest {
    @TempDir
    Path dir;
    RepositoryLocation repo;
    Vertx client;
    final List<String> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() {
        repo = TestAgent.repository(dir);
        client = Vertx.vertx();
    }

    @AfterEach
    void tearDown() throws Exception {
        await(client.close());
    }

    /** A source that records its lifecycle, registers a route, and fails to start when told to. */
    final class RecordingSource implements AgentSource {
        final String name;
        final boolean fail;
        final AgentContext ctx;

        RecordingSource(SourceConfig c, AgentContext ctx, boolean fail) {
            this.name = c.name();
            this.ctx = ctx;
            this.fail = fail;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public String type() {
            return "postgres";
        }

        @Override
        public Future<Void> start() {
            events.add("start " + name);
            assertNotNull(ctx.repository());
            assertNotNull(ctx.pipeline());
            ctx.control().route(HttpMethod.GET, "/v1/test/" + name, req -> req.response().end("hello from " + name));
            return fail ? Future.failedFuture(new HoldfastException(ErrorCode.SOURCE_UNAVAILABLE, "cannot reach the server"))
                    : Future.succeededFuture();
        }

        @Override
        public Future<Void> stop() {
            events.add("stop " + name);
            return Future.succeededFuture();
        }

        @Override
        public JsonObject status() {
            return new JsonObject().put("state", "running");
        }
    }

    private static PostgresSourceConfig pg(String name) {
        return new PostgresSourceConfig(name, Path.of("/var/lib/postgresql/16/main"), "host=/tmp password=hunter2",
                WalConfig.defaults(name));
    }

    @Test
    void startsServesStatusAndMetricsAndStopsEverythingInReverseOrder() throws Exception {
        AgentConfig config = TestAgent.config(dir, repo, List.of(pg("main"), pg("second")));
        CapturedLog log = new CapturedLog();
        AgentDaemon daemon = TestAgent.daemon(config, Map.of("postgres", (c, ctx) -> new RecordingSource(c, ctx, false)), log.log());
        await(daemon.start());
        Path socket = config.controlSocket();
        try {
            assertTrue(Files.exists(socket));
            assertEquals("rw-rw----", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
            Response status = TestAgent.request(client, socket, HttpMethod.GET, "/v1/status", null);
            assertEquals(200, status.status(), status::body);
            JsonObject body = new JsonObject(status.body());
            assertEquals("testhost", body.getString("host"));
            assertEquals("test-version", body.getString("version"));
            assertEquals(2, body.getJsonArray("sources").size());
            assertEquals("running", body.getJsonArray("sources").getJsonObject(0).getJsonObject("status").getString("state"));

            Response hello = TestAgent.request(client, socket, HttpMethod.GET, "/v1/test/second", null);
            assertEquals("hello from second", hello.body());

            Response unknown = TestAgent.request(client, socket, HttpMethod.GET, "/v1/nothing", null);
            assertEquals(400, unknown.status());
            assertEquals("2", unknown.exitStatus());
            assertEquals("usage", new JsonObject(unknown.body()).getJsonObject("error").getString("code"));

            int port = daemon.metricsPort().orElseThrow();
            Response metrics = TestAgent.get(client, port, "/metrics");
            assertEquals(200, metrics.status());
            String text = metrics.body();
            assertTrue(text.contains("\nholdfast_agent_up 1"), text);
            assertTrue(text.contains("\nholdfast_agent_start_time_seconds "), text);
            assertTrue(text.contains("holdfast_agent_info{host=\"testhost\",version=\"test-version\"} 1"), text);
        } finally {
            await(daemon.stop());
        }
        assertEquals(List.of("start main", "start second", "stop second", "stop main"), events);
        assertFalse(Files.exists(socket), "the socket file is removed");
        String logged = log.text();
        assertTrue(logged.contains("event=agent_started"), logged);
        assertTrue(logged.contains("event=agent_stopped"), logged);
        assertFalse(logged.contains("hunter2"), logged);
    }

    @Test
    void aSourceThatFailsToStartStopsEverythingAndSaysWhich() throws Exception {
        AgentConfig config = TestAgent.config(dir, repo, List.of(pg("good"), pg("bad")));
        AgentDaemon daemon = TestAgent.daemon(config,
                Map.of("postgres", (c, ctx) -> new RecordingSource(c, ctx, c.name().equals("bad"))), new CapturedLog().log());
        ExecutionException e = assertThrows(ExecutionException.class, () -> await(daemon.start()));
        HoldfastException h = HoldfastException.find(e);
        assertEquals(ErrorCode.SOURCE_UNAVAILABLE, h.code());
        assertTrue(h.getMessage().contains("source 'bad' failed to start: cannot reach the server"), h.getMessage());
        assertEquals(List.of("start good", "start bad", "stop bad", "stop good"), events);
        assertFalse(Files.exists(config.controlSocket()));
        await(daemon.stop());
    }

    @Test
    void aSourceTypeWithoutAFactoryIsRefusedBeforeAnythingStarts() {
        SourceConfig files = new FilesSourceConfig("app-config", List.of("/etc/app/**"), List.of(), List.of());
        AgentConfig config = TestAgent.config(dir, repo, List.of(pg("main"), files));
        AgentDaemon daemon = TestAgent.daemon(config, Map.of("postgres", (c, ctx) -> new RecordingSource(c, ctx, false)),
                new CapturedLog().log());
        HoldfastException h = HoldfastException.find(assertThrows(ExecutionException.class, () -> await(daemon.start())));
        assertEquals(ErrorCode.CONFIG_INVALID, h.code());
        assertTrue(h.getMessage().endsWith("source 'app-config': type files is not supported by this version yet"), h.getMessage());
        assertTrue(events.isEmpty());
        assertFalse(Files.exists(config.controlSocket().getParent()));

        assertTrue(AgentSources.defaults().containsKey("postgres"), "this build runs PostgreSQL sources");
        AgentDaemon without = TestAgent.daemon(TestAgent.config(dir, repo, List.of(pg("main"))), Map.of(), new CapturedLog().log());
        HoldfastException p = HoldfastException.find(assertThrows(ExecutionException.class, () -> await(without.start())));
        assertTrue(p.getMessage().endsWith("source 'main': type postgres is not available in this build"), p.getMessage());
    }

    @Test
    void aMissingKeyFileFailsTheStartAndLeavesNothingRunning() throws Exception {
        RepositoryLocation wrongKey = new RepositoryLocation(repo.url(), repo.endpoint(), repo.region(), false, dir.resolve("nokey"),
                repo.accessKeyId(), repo.secretAccessKey());
        AgentConfig config = TestAgent.config(dir, wrongKey, List.of());
        AgentDaemon daemon = TestAgent.daemon(config, Map.of(), new CapturedLog().log());
        HoldfastException h = HoldfastException.find(assertThrows(ExecutionException.class, () -> await(daemon.start())));
        assertEquals(ErrorCode.KEY_FILE_INVALID, h.code());
        assertFalse(Files.exists(config.controlSocket()));
    }
}
