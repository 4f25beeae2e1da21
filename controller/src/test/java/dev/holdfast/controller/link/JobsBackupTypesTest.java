package dev.holdfast.controller.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.ManualClock;
import dev.holdfast.controller.catalog.AgentRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.CatalogFactory;
import dev.holdfast.controller.catalog.JobRecord;
import dev.holdfast.controller.catalog.JobState;
import dev.holdfast.controller.catalog.SourceRecord;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ad-hoc backups of each source type through the real job service and catalog: the type must fit the source. */
class JobsBackupTypesTest {
    @TempDir
    Path dir;
    private final ManualClock clock = new ManualClock(Instant.parse("2026-11-24T10:00:00Z"));
    private Vertx vertx;
    private Catalog catalog;
    private Jobs jobs;

    @BeforeEach
    void open() throws Exception {
        vertx = Vertx.vertx();
        catalog = await(CatalogFactory.open(vertx, new ControllerConfig.CatalogUrl("embedded"), dir, clock));
        await(catalog.upsertAgent(new AgentRecord("db1", "0.1.0", List.of(), clock.instant(), Optional.empty(), false, "0a",
                clock.instant().plus(Duration.ofDays(1)))));
        await(catalog.replaceSources("db1", List.of(new SourceRecord("db1", "main", "postgres", "7301", "15.8", "stream", Optional.empty()),
                new SourceRecord("db1", "cache", "redis", "", "7.0", "", Optional.empty()),
                new SourceRecord("db1", "app-config", "files", "", "", "", Optional.empty()))));
        jobs = new Jobs(catalog, new AgentSessions(), clock, new SecureRandom(), new LinkListener() {
        });
    }

    @AfterEach
    void close() throws Exception {
        catalog.close();
        await(vertx.close());
    }

    private static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    private HoldfastException refused(String source, String type) throws Exception {
        try {
            await(jobs.requestBackup("db1", source, type, "adhoc", "ops"));
        } catch (ExecutionException e) {
            return (HoldfastException) e.getCause();
        }
        throw new AssertionError(source + " took type " + type);
    }

    @Test
    void eachSourceTypeTakesItsOwnBackupTypes() throws Exception {
        for (String[] ok : new String[][] {{"main", "full"}, {"main", "incr"}, {"main", "logical"}, {"cache", "rdb"},
                {"app-config", "snapshot"}}) {
            JobRecord j = await(jobs.requestBackup("db1", ok[0], ok[1], "adhoc", "ops"));
            assertEquals(JobState.QUEUED, j.state(), "the agent is offline: the job waits for it");
            assertEquals(ok[1], j.type());
            assertEquals(ok[0], await(catalog.job(j.id())).orElseThrow().source());
        }
    }

    @Test
    void aTypeThatDoesNotFitTheSourceIsAUsageErrorNamingTheRightOnes() throws Exception {
        HoldfastException e = refused("cache", "full");
        assertEquals(ErrorCode.USAGE, e.code());
        assertTrue(e.getMessage().contains("'cache' is a redis source; its backup type is rdb"), e.getMessage());
        e = refused("app-config", "rdb");
        assertTrue(e.getMessage().contains("'app-config' is a files source; its backup type is snapshot"), e.getMessage());
        e = refused("main", "snapshot");
        assertTrue(e.getMessage().contains("its backup types are full, incr, logical"), e.getMessage());
        e = refused("main", "differential");
        assertTrue(e.getMessage().contains("not 'differential'"), e.getMessage());
    }
}
