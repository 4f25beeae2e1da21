package dev.holdfast.controller.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.holdfast.agent.config.AgentConfig.LogLevel;
import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.controller.server.ControllerServer;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryConfig;
import dev.holdfast.repository.backup.TestBackups;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.fs.FsObjectStore;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The controller as it starts: with a {@code repository:} configured, the plan endpoint reads it. */
class ControllerRetentionWiringTest {
    @TempDir
    Path dir;

    @Test
    void aStartedControllerPlansItsRepository() throws Exception {
        KeyFile key = KeyFile.create(dir.resolve("master.key"), Clock.systemUTC(), new SecureRandom());
        try (Repository repo = Repository.init(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()), key,
                RepositoryConfig.DEFAULT_SEGMENT_SIZE, 3, "test", Clock.systemUTC(), new SecureRandom())) {
            TestBackups b = new TestBackups(repo, "main", "7300000000000000001");
            b.full("20261101T090000Z-full", 2, TestBackups.files("base/1/1"));
            b.wal(1, 1, 3);
        }
        Path yaml = dir.resolve("controller.yaml");
        Files.writeString(yaml, "listen: 127.0.0.1:0\ndata_dir: " + dir.resolve("ctl") + "\nrepository:\n  url: " + dir.resolve("repo").toUri()
                + "\n  key_file: " + dir.resolve("master.key") + "\n");
        ControllerConfig config = ControllerConfig.load(yaml, cron -> { });
        ByteArrayOutputStream logs = new ByteArrayOutputStream();
        ControllerServer server = new ControllerServer(config, Clock.systemUTC(), new SecureRandom(),
                new EventLog(new PrintStream(logs, true, StandardCharsets.UTF_8), Clock.systemUTC(), LogLevel.INFO, false), "test");
        server.start().toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
        try {
            String admin = Files.readString(config.auth().bootstrapAdminTokenFile()).trim();
            var client = server.vertx().createHttpClient(new HttpClientOptions().setSsl(true).setTrustAll(true).setVerifyHost(false));
            Buffer body = client.request(HttpMethod.GET, server.port(), "127.0.0.1", "/api/v1/policies/default/plan")
                    .compose(r -> r.putHeader("Authorization", "Bearer " + admin).send()).compose(r -> {
                        assertEquals(200, r.statusCode());
                        return r.body();
                    }).toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
            JsonObject plan = body.toJsonObject();
            assertEquals("main", plan.getJsonArray("clusters").getJsonObject(0).getString("source"), plan::encodePrettily);
            assertEquals("keep", plan.getJsonArray("clusters").getJsonObject(0).getJsonArray("backups").getJsonObject(0).getString("action"));
        } finally {
            server.stop().toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
        }
    }
}
