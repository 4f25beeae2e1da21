package dev.holdfast.cli.list;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.holdfast.cli.Cli;
import dev.holdfast.cli.Json;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupManifest;
import dev.holdfast.repository.backup.TestBackups;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.fs.FsObjectStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code holdfast list} with base backups: the stable JSON keys, incomplete backups, and the PITR window. */
class ListCommandTest {
    static final String SYSID = "7300000000000000001";

    @TempDir
    Path dir;
    String cfg;
    Repository repo;
    TestBackups b;

    @BeforeEach
    void setUp() throws Exception {
        Path key = dir.resolve("master.key");
        assertEquals(0, Cli.run("keys", "init", "--out", key.toString()).status());
        Path config = dir.resolve("agent.yaml");
        Files.writeString(config, "repository:\n  url: " + dir.resolve("repo").toUri() + "\n  key_file: " + key + "\n"
                + "sources:\n  - name: main\n    type: postgres\n    data_dir: " + dir.resolve("data") + "\n");
        cfg = config.toString();
        assertEquals(0, Cli.run("repo", "init", "--config", cfg).status());
        repo = Repository.open(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()), KeyFile.load(key), Clock.systemUTC(), new SecureRandom());
        b = new TestBackups(repo, "main", SYSID);
    }

    @AfterEach
    void tearDown() {
        repo.close();
    }

    private JsonNode main(Cli list) throws Exception {
        assertEquals(0, list.status(), list::toString);
        for (JsonNode s : Json.MAPPER.readTree(list.out()).get("sources")) {
            if (s.get("name").asText().equals("main")) {
                return s;
            }
        }
        throw new AssertionError(list.toString());
    }

    @Test
    void listsBackupsWithTheStableKeysAndThePitrWindowFromTheOldestBackupTheWalCarries() throws Exception {
        BackupManifest old = b.full("20261122T090000Z-full", 1, TestBackups.files("a"));
        BackupManifest full = b.full("20261123T090000Z-full", 3, TestBackups.files("a", "b", "c"));
        b.incr("20261123T100000Z-incr", full, 4, TestBackups.files("a"));
        b.incomplete("20261123T110000Z-full", TestBackups.files("a"));
        b.wal(1, 1, 1);   // the old backup's WAL, then a gap at segment 2
        b.wal(1, 3, 5);

        JsonNode main = main(Cli.run("list", "--config", cfg, "--json"));
        assertEquals(SYSID, main.get("system_identifier").asText());
        assertEquals("0/600000", main.get("wal").get("last_durable_lsn").asText(), "the WAL section is unchanged");
        JsonNode backups = main.get("backups");
        assertEquals(4, backups.size());
        JsonNode f = backups.get(1);
        assertEquals("20261123T090000Z-full", f.get("id").asText());
        assertEquals("full", f.get("type").asText());
        assertEquals("test", f.get("tag").asText());
        assertTrue(f.get("complete").asBoolean());
        assertEquals(full.startedAt().toString(), f.get("started_at").asText());
        assertEquals(full.finishedAt().toString(), f.get("finished_at").asText());
        assertEquals("0/300028", f.get("start_lsn").asText());
        assertEquals("0/300138", f.get("stop_lsn").asText());
        assertEquals(1, f.get("timeline").asInt());
        assertEquals(full.bytes(), f.get("bytes").asLong());
        assertEquals(full.storedBytes(), f.get("stored_bytes").asLong());
        assertTrue(f.get("parent").isNull());
        assertTrue(f.get("restorable_to_latest").asBoolean());
        assertEquals("20261123T090000Z-full", backups.get(2).get("parent").asText());
        assertFalse(backups.get(0).get("restorable_to_latest").asBoolean(), "the gap at segment 2 cuts the old backup off");
        assertEquals("0/200000", backups.get(0).get("restorable_to_lsn").asText());
        JsonNode incomplete = backups.get(3);
        assertFalse(incomplete.get("complete").asBoolean());
        assertTrue(incomplete.get("stored_bytes").asLong() > 0);
        assertTrue(incomplete.get("started_at").isNull() && incomplete.get("stop_lsn").isNull() && incomplete.get("bytes").isNull());

        JsonNode w = main.get("pitr_window");
        assertEquals(full.finishedAt().toString(), w.get("from").asText(), "the oldest backup the WAL carries to the newest WAL");
        assertEquals(main.get("wal").get("last_durable_at").asText(), w.get("to").asText());
        assertEquals("20261123T090000Z-full", w.get("from_backup").asText());
        assertTrue(old.finishedAt().isBefore(full.finishedAt()));

        Cli human = Cli.run("list", "--config", cfg, "--source", "main");
        assertEquals(0, human.status(), human::toString);
        assertTrue(human.out().contains("backups of main (system id " + SYSID + "):"), human::toString);
        assertTrue(human.out().contains("RESTORABLE TO") && human.out().contains("0/200000 (WAL gap)") && human.out().contains("latest"), human::toString);
        assertTrue(human.out().contains("point-in-time recovery of main (system id " + SYSID + "): from " + full.finishedAt()), human::toString);
        assertTrue(human.out().contains("backup 20261123T110000Z-full of main (system id " + SYSID + ") is incomplete"), human::toString);
    }

    @Test
    void withoutARestorableBackupThePitrWindowIsNullAndADamagedManifestDoesNotFailTheListing() throws Exception {
        BackupManifest full = b.full("20261123T090000Z-full", 3, TestBackups.files("a"));
        b.wal(1, 5, 6);   // nothing from the backup's start
        JsonNode main = main(Cli.run("list", "--config", cfg, "--json"));
        assertTrue(main.get("pitr_window").isNull());
        assertFalse(main.get("backups").get(0).get("restorable_to_latest").asBoolean());
        assertTrue(main.get("backups").get(0).get("restorable_to_lsn").isNull());

        for (var key : new dev.holdfast.repository.store.ObjectKey[] {b.layout(full.id()).manifest(), b.layout(full.id()).manifestCopy()}) {
            Path file = dir.resolve("repo").resolve(key.value());
            file.toFile().setWritable(true);
            byte[] bytes = Files.readAllBytes(file);
            bytes[60] ^= 1;
            Files.write(file, bytes);
        }
        JsonNode damaged = main(Cli.run("list", "--config", cfg, "--json")).get("backups").get(0);
        assertTrue(damaged.get("complete").asBoolean());
        assertTrue(damaged.get("error").asText().contains("integrity_failure"), damaged::toString);
    }

    @Test
    void backupsWithoutWalAreListedToo() throws Exception {
        b.full("20261123T090000Z-full", 3, TestBackups.files("a"));
        JsonNode main = main(Cli.run("list", "--config", cfg, "--json"));
        assertTrue(main.get("wal").isNull());
        assertEquals(1, main.get("backups").size());
        assertTrue(main.get("pitr_window").isNull());
    }
}
