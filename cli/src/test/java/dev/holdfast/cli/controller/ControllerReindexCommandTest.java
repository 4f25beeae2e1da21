package dev.holdfast.cli.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.holdfast.cli.Cli;
import dev.holdfast.cli.Json;
import dev.holdfast.controller.catalog.BackupRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.CatalogFactory;
import dev.holdfast.controller.catalog.PageRequest;
import dev.holdfast.controller.catalog.WalRangeRecord;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryConfig;
import dev.holdfast.repository.backup.BackupManifest;
import dev.holdfast.repository.backup.TestBackups;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.fs.FsObjectStore;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code holdfast controller reindex}: the catalog named by a controller configuration, filled from its repository. */
class ControllerReindexCommandTest {
    static final String SYS = "7300000000000000001";

    @TempDir
    Path dir;
    Path config;
    BackupManifest full;

    @BeforeEach
    void setUp() throws Exception {
        Path key = dir.resolve("master.key");
        KeyFile keys = KeyFile.create(key, Clock.systemUTC(), new SecureRandom());
        try (Repository repo = Repository.init(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()), keys,
                RepositoryConfig.DEFAULT_SEGMENT_SIZE, 3, "test", Clock.systemUTC(), new SecureRandom())) {
            TestBackups b = new TestBackups(repo, "main", SYS);
            full = b.full("20261123T090000Z-full", 2, TestBackups.files("a", "b"));
            b.incr("20261123T100000Z-incr", full, 3, TestBackups.files("a"));
            b.incomplete("20261123T110000Z-full", TestBackups.files("a"));
            b.wal(1, 1, 3);
            b.wal(1, 6, 6);
        }
        config = dir.resolve("controller.yaml");
        Files.writeString(config, "listen: 127.0.0.1:0\ndata_dir: " + dir.resolve("controller") + "\ncatalog: embedded\n"
                + "repository:\n  url: " + dir.resolve("repo").toUri() + "\n  key_file: " + key + "\n");
    }

    @Test
    void reindexFillsTheEmbeddedCatalogAndReportsWhatItFound() throws Exception {
        Cli human = Cli.run("controller", "reindex", "--config", config.toString());
        assertEquals(0, human.status(), human::toString);
        assertEquals("reindexed 3 backups (2 complete) and 2 WAL ranges for 1 sources\n", human.out());

        Cli json = Cli.run("controller", "reindex", "--config", config.toString(), "--json");
        assertEquals(0, json.status(), json::toString);
        JsonNode n = Json.MAPPER.readTree(json.out());
        assertEquals(1, n.get("sources").asInt());
        assertEquals(3, n.get("backups").asInt());
        assertEquals(2, n.get("complete").asInt());
        assertEquals(2, n.get("wal_ranges").asInt());
        assertEquals(0, n.get("problems").size());

        Vertx vertx = Vertx.vertx();
        try (Catalog c = CatalogFactory.open(vertx, new ControllerConfig.CatalogUrl("embedded"), dir.resolve("controller"))
                .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS)) {
            List<BackupRecord> backups = c.backups(Optional.empty(), PageRequest.FIRST).toCompletionStage().toCompletableFuture()
                    .get(30, TimeUnit.SECONDS).items();
            assertEquals(List.of("20261123T110000Z-full", "20261123T100000Z-incr", "20261123T090000Z-full"),
                    backups.stream().map(BackupRecord::id).toList(), "reindexing twice indexes each backup once");
            assertEquals(full.storedBytes(), backups.get(2).storedBytes());
            assertEquals(List.of(new WalRangeRecord("main", SYS, 1, "000000010000000000000001", "000000010000000000000003", 3),
                    new WalRangeRecord("main", SYS, 1, "000000010000000000000006", "000000010000000000000006", 1)),
                    c.walRanges("main").toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS));
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aConfigurationWithoutARepositoryIsRefused() throws Exception {
        Files.writeString(config, "data_dir: " + dir.resolve("controller") + "\n");
        Cli r = Cli.run("controller", "reindex", "--config", config.toString());
        assertEquals(ErrorCode.CONFIG_INVALID.exitStatus(), r.status(), r::toString);
        assertTrue(r.err().contains("no 'repository' section"), r::toString);
    }

    @Test
    void theControllerGroupNeedsASubcommand() {
        assertEquals(2, Cli.run("controller").status());
        Cli help = Cli.run("controller", "reindex", "--help");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("--config"), help::toString);
    }
}
