package dev.holdfast.cli.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.holdfast.cli.Cli;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupCatalog;
import dev.holdfast.repository.backup.TestBackups;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.fs.FsObjectStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code holdfast retention plan}: the planner over a file:// repository; it deletes nothing. */
class RetentionPlanCommandTest {
    static final String SYSID = "7300000000000000001";

    @TempDir
    Path dir;

    @Test
    void thePlanNamesWhatWouldGoAndWhyAndDeletesNothing() throws Exception {
        Path key = dir.resolve("master.key");
        assertEquals(0, Cli.run("keys", "init", "--out", key.toString()).status());
        Path config = dir.resolve("agent.yaml");
        Files.writeString(config, "repository:\n  url: " + dir.resolve("repo").toUri() + "\n  key_file: " + key + "\n");
        assertEquals(0, Cli.run("repo", "init", "--config", config.toString()).status());
        try (Repository repo = Repository.open(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()), KeyFile.load(key), Clock.systemUTC(),
                new SecureRandom())) {
            TestBackups b = new TestBackups(repo, "main", SYSID);
            b.full("20261101T090000Z-full", 2, TestBackups.files("base/1/1"));
            b.full("20261102T090000Z-full", 3, TestBackups.files("base/1/1"));
            b.full("20261103T090000Z-full", 4, TestBackups.files("base/1/1"));
            b.wal(1, 1, 5);

            Cli r = Cli.run("retention", "plan", "--config", config.toString(), "--daily", "2", "--weekly", "0", "--monthly", "0",
                    "--pitr-window", "0d", "--json");
            assertEquals(0, r.status(), r::toString);
            JsonNode c = new ObjectMapper().readTree(r.out()).get("clusters").get(0);
            assertEquals("main", c.get("source").asText());
            assertEquals("drop", c.get("backups").get(0).get("action").asText());
            assertEquals("beyond 2 daily / 0 weekly / 0 monthly", c.get("backups").get(0).get("reasons").get(0).asText());
            assertEquals("keep", c.get("backups").get(2).get("action").asText());
            assertEquals(2, c.get("wal_delete").size(), "segments 1 and 2, before the oldest kept backup's start");

            Cli text = Cli.run("retention", "plan", "--config", config.toString(), "--daily", "2", "--weekly", "0", "--monthly", "0",
                    "--pitr-window", "0d");
            assertTrue(text.out().contains("20261101T090000Z-full  DROP  beyond 2 daily"), text.out());
            assertEquals(3, new BackupCatalog(repo).list("main", SYSID).size(), "a plan deletes nothing");
        }
        assertEquals(2, Cli.run("retention", "plan", "--config", config.toString(), "--pitr-window", "forever").status());
    }
}
