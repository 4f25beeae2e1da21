package dev.holdfast.cli.verify;

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
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.fs.FsObjectStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code holdfast verify} end to end against a file:// repository holding synthetic backups in the real format. */
class VerifyCommandTest {
    static final String SYSID = "7300000000000000001";
    static final String FULL = "20261123T090000Z-full";
    static final String INCR = "20261123T100000Z-incr";
    static final String FULL2 = "20261123T120000Z-full";

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
        Files.writeString(config, "repository:\n  url: " + dir.resolve("repo").toUri() + "\n  key_file: " + key + "\n");
        cfg = config.toString();
        Cli init = Cli.run("repo", "init", "--config", cfg);
        assertEquals(0, init.status(), init::toString);
        repo = Repository.open(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()), KeyFile.load(key), Clock.systemUTC(), new SecureRandom());
        b = new TestBackups(repo, "main", SYSID);
    }

    @AfterEach
    void tearDown() {
        repo.close();
    }

    /** full (pack 1: a, b; pack 2: c), an incremental on it taking b from pack 1 and c from pack 2, a second full. */
    private BackupManifest chain() {
        BackupManifest full = b.full(FULL, 3, TestBackups.files("base/1/a", "base/1/b", "global/c"));
        b.incr(INCR, full, 4, TestBackups.files("base/1/a"));
        b.full(FULL2, 6, TestBackups.files("base/1/a", "base/1/b", "global/c"));
        return full;
    }

    private static Set<String> affected(JsonNode report) {
        Set<String> ids = new HashSet<>();
        report.get("problems").forEach(p -> {
            if (p.get("severity").asText().equals("error")) {
                ids.add(p.get("backup").asText());
            }
        });
        return ids;
    }

    @Test
    void aHealthyChainVerifiesWithItsDataReadAndExits0() throws Exception {
        chain();
        b.wal(1, 3, 7);
        Cli human = Cli.run("verify", "--config", cfg, "--read-data");
        assertEquals(0, human.status(), human::toString);
        assertTrue(human.out().contains(INCR) && human.out().contains("OK: restorable to the newest WAL"), human::toString);
        assertTrue(human.out().contains("0 error(s), 0 warning(s): all is well"), human::toString);

        Cli json = Cli.run("verify", "--config", cfg, "--read-data", "--json");
        assertEquals(0, json.status(), json::toString);
        JsonNode r = Json.MAPPER.readTree(json.out());
        assertTrue(r.get("ok").asBoolean());
        assertEquals(3, r.get("backups").size());
        JsonNode incr = r.get("backups").get(1);
        assertEquals(INCR, incr.get("id").asText());
        assertEquals(FULL, incr.get("chain").get(0).asText());
        assertEquals(3, incr.get("packs").asInt());
        assertEquals(3, incr.get("packs_read").asInt());
        assertTrue(incr.get("restorable_to_latest").asBoolean());
    }

    @Test
    void aDeletedPackFailsWith14NamingTheBackupsAndThePack() throws Exception {
        BackupManifest full = chain();
        b.wal(1, 3, 7);
        ObjectKey pack2 = b.layout(full.id()).pack(2);
        Futures.await(repo.store().delete(pack2));
        Cli c = Cli.run("verify", "--config", cfg, "--json");
        assertEquals(14, c.status(), c::toString);
        JsonNode r = Json.MAPPER.readTree(c.out());
        assertEquals("integrity_failure", r.get("failure").asText());
        assertEquals(Set.of(FULL, INCR), affected(r), c::toString);
        r.get("problems").forEach(p -> {
            assertEquals("pack_missing", p.get("kind").asText());
            assertEquals(pack2.value(), p.get("object").asText());
        });
        assertTrue(c.err().contains("integrity_failure") && c.err().contains(INCR) && !c.err().contains(FULL2), c::toString);
    }

    @Test
    void aFlippedByteIsFoundWithReadDataAndNamesExactlyTheBackupsThatUseThePack() throws Exception {
        BackupManifest full = chain();
        b.wal(1, 3, 7);
        ObjectKey pack1 = b.layout(full.id()).pack(1);
        Path file = dir.resolve("repo").resolve(pack1.value());
        file.toFile().setWritable(true);
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 0x40;
        Files.write(file, bytes);

        assertEquals(0, Cli.run("verify", "--config", cfg).status(), "the structure is intact: only reading the data finds the flip");
        Cli c = Cli.run("verify", "--config", cfg, "--read-data");
        assertEquals(14, c.status(), c::toString);
        assertTrue(c.out().contains("ERROR pack_damaged backup " + FULL + " object " + pack1), c::toString);
        assertTrue(c.out().contains("ERROR pack_damaged backup " + INCR + " object " + pack1), c::toString);
        assertTrue(c.out().contains("stored in " + pack1 + " of backup " + FULL), "the incremental says it depends on its parent's pack");
        assertFalse(c.out().contains("backup " + FULL2 + " object"), c::toString);
        assertTrue(c.out().contains(FULL2 + "  full  OK"), c::toString);

        Cli one = Cli.run("verify", "--config", cfg, "--read-data", "--backup", FULL2, "--json");
        assertEquals(0, one.status(), one::toString);
        assertEquals(1, Json.MAPPER.readTree(one.out()).get("backups").size());
        Cli none = Cli.run("verify", "--config", cfg, "--backup", "20200101T000000Z-full");
        assertEquals(20, none.status(), none::toString);
        assertEquals(2, Cli.run("verify", "--config", cfg, "--backup", "yesterday").status());
    }

    @Test
    void aWalGapAfterABackupFailsWith33AndStatesItsWindow() throws Exception {
        chain();
        b.wal(1, 3, 4);
        b.wal(1, 6, 8);
        Cli c = Cli.run("verify", "--config", cfg, "--json");
        assertEquals(33, c.status(), c::toString);
        JsonNode r = Json.MAPPER.readTree(c.out());
        assertEquals("wal_gap", r.get("failure").asText());
        assertEquals(Set.of(FULL, INCR), affected(r), "the backups before the gap; the one after it reaches the newest WAL");
        JsonNode full = r.get("backups").get(0);
        assertTrue(full.get("restorable").asBoolean() && !full.get("restorable_to_latest").asBoolean());
        assertEquals("0/500000", full.get("restorable_to_lsn").asText());
        assertEquals("000000010000000000000005", full.get("wal_gap").asText());
        assertTrue(r.get("problems").get(0).get("message").asText().contains("can be restored to at most 0/500000"), c::toString);
        assertTrue(r.get("backups").get(2).get("restorable_to_latest").asBoolean());
    }

    @Test
    void anIncompleteBackupIsAWarningAndExits0() throws Exception {
        b.full(FULL, 3, TestBackups.files("a"));
        b.incomplete(FULL2, TestBackups.files("a", "b", "c"));
        b.wal(1, 3, 3);
        Cli c = Cli.run("verify", "--config", cfg);
        assertEquals(0, c.status(), c::toString);
        assertTrue(c.out().contains("WARNING incomplete backup " + FULL2), c::toString);
        assertTrue(c.out().contains(FULL2 + "  full  INCOMPLETE (warning)"), c::toString);
        assertTrue(c.out().contains("1 warning(s): all is well"), c::toString);
    }

    @Test
    void aBackupWhosePruneStoppedHalfWayIsBeingRemovedAWarning() throws Exception {
        b.full(FULL, 3, TestBackups.files("base/1/a"));
        b.full(FULL2, 5, TestBackups.files("base/1/a"));
        b.wal(1, 3, 6);
        // What retention leaves when stopped right after deleting the manifest: its marker and manifest.copy.
        var layout = b.layout(dev.holdfast.repository.backup.BackupId.parse(FULL));
        repo.put(layout.pruning(), new java.io.ByteArrayInputStream("{}".getBytes(java.nio.charset.StandardCharsets.UTF_8)), true);
        dev.holdfast.repository.store.Futures.await(repo.store().delete(layout.manifest()));
        Cli v = Cli.run("verify", "--config", cfg);
        assertEquals(0, v.status(), v::toString);
        assertTrue(v.out().contains(FULL + "  full  BEING REMOVED by retention (warning)"), v.out());
    }
}
