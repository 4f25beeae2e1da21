package dev.holdfast.cli.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.AgentConfig.LogLevel;
import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.cli.Cli;
import dev.holdfast.controller.audit.AuditExporter;
import dev.holdfast.controller.audit.AuditKey;
import dev.holdfast.controller.audit.AuditLayout;
import dev.holdfast.controller.audit.AuditSettings;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.CatalogFactory;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryConfig;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.fs.FsObjectStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code holdfast audit export} and {@code verify}, run as the real command line: an export passes
 * untouched, and an edit, a deletion, a swap or a truncation fails with exit 77 naming the right entry;
 * the catalog and the repository's exports verify too, also without the controller's data directory.
 */
class AuditVerifyCommandTest {
    static final int ENTRIES = 20;

    @TempDir
    Path dir;
    Path config;
    Path dataDir;
    KeyFile keys;
    String keyId;

    @BeforeEach
    void setUp() throws Exception {
        keys = KeyFile.create(dir.resolve("master.key"), Clock.systemUTC(), new SecureRandom());
        Repository.init(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()), keys, RepositoryConfig.DEFAULT_SEGMENT_SIZE, 3, "test",
                Clock.systemUTC(), new SecureRandom()).close();
        dataDir = dir.resolve("controller");
        config = dir.resolve("controller.yaml");
        Files.writeString(config, "listen: 127.0.0.1:0\ndata_dir: " + dataDir + "\ncatalog: embedded\n"
                + "repository:\n  url: " + dir.resolve("repo").toUri() + "\n  key_file: " + dir.resolve("master.key") + "\n"
                + "audit:\n  export_interval: 1m\n");
        withCatalog((vertx, c) -> {
            for (int i = 1; i <= ENTRIES; i++) {
                await(c.appendAudit(new AuditRecord(0, Instant.parse("2026-11-24T09:00:00.000001Z").plusSeconds(i), "req-" + i, "grafana",
                        "analyst", "token.create", "/api/v1/tokens", i % 3 == 0 ? "refused" : "ok", "detail \"" + i + "\"\nline two")));
            }
            keyId = c.auditKey().orElseThrow().id();
        });
    }

    interface CatalogWork {
        void run(Vertx vertx, Catalog catalog) throws Exception;
    }

    void withCatalog(CatalogWork work) throws Exception {
        Vertx vertx = Vertx.vertx();
        try (Catalog c = await(CatalogFactory.open(vertx, new ControllerConfig.CatalogUrl("embedded"), dataDir))) {
            work.run(vertx, c);
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    /** The export's lines (entries, then the trailer). */
    List<String> export() {
        Cli c = Cli.run("audit", "export", "--config", config.toString());
        assertEquals(0, c.status(), c::toString);
        List<String> lines = new ArrayList<>(List.of(c.out().split("\n")));
        assertEquals(ENTRIES + 1, lines.size(), c.out());
        assertTrue(lines.get(ENTRIES).startsWith("{\"trailer\":{\"format\":\"holdfast-audit-log\""), lines.get(ENTRIES));
        return lines;
    }

    Path write(List<String> lines) throws Exception {
        Path f = dir.resolve("audit.jsonl");
        Files.writeString(f, String.join("\n", lines) + "\n");
        return f;
    }

    Cli verifyFile(List<String> lines) throws Exception {
        return Cli.run("audit", "verify", "--file", write(lines).toString(), "--config", config.toString());
    }

    void assertBroken(List<String> lines, String message) throws Exception {
        Cli c = verifyFile(lines);
        assertEquals(77, c.status(), c::toString);
        assertEquals("holdfast: audit_chain_broken: " + dir.resolve("audit.jsonl") + ": " + message + "\n", c.err());
    }

    @Test
    void anUntouchedExportVerifiesWithTheConfigOrTheKeyFile() throws Exception {
        List<String> lines = export();
        Cli c = verifyFile(lines);
        assertEquals(0, c.status(), c::toString);
        assertEquals(dir.resolve("audit.jsonl") + ": chain verified, seq 1 to 20 (20 entries), key " + keyId + "\n", c.out());
        Cli k = Cli.run("audit", "verify", "--file", dir.resolve("audit.jsonl").toString(), "--key-file", dataDir.resolve("audit.key").toString(),
                "--json");
        assertEquals(0, k.status(), k::toString);
        assertTrue(k.out().contains("\"ok\" : true") || k.out().contains("\"ok\":true"), k.out());
    }

    @Test
    void anEditedFieldOfOneEntryIsNamed() throws Exception {
        List<String> lines = export();
        String edited = lines.get(10).replace("\"outcome\":\"ok\"", "\"outcome\":\"refused\"");
        assertTrue(!edited.equals(lines.get(10)) && edited.startsWith("{\"seq\":11,"), edited);
        lines.set(10, edited);
        assertBroken(lines, "entry seq 11: mac mismatch (edited or reordered)");
    }

    @Test
    void aDeletedEntryIsNamed() throws Exception {
        List<String> lines = export();
        lines.remove(16);
        assertBroken(lines, "seq 17 missing (deleted) between 16 and 18");
    }

    @Test
    void twoSwappedEntriesAreNamed() throws Exception {
        List<String> lines = export();
        Collections.swap(lines, 4, 5);
        assertBroken(lines, "entry seq 6 is out of order: seq 5 belongs here (reordered)");
    }

    @Test
    void aTruncatedTailIsNamedWithTheRecordedHead() throws Exception {
        List<String> lines = export();
        List<String> truncated = new ArrayList<>(lines.subList(0, 15));
        truncated.add(lines.get(ENTRIES));
        assertBroken(truncated, "log truncated after seq 15: the recorded head is seq 20");
        assertBroken(new ArrayList<>(lines.subList(0, 15)), "log truncated after seq 15: no trailer line (a complete export ends with one)");
    }

    @Test
    void theWrongKeyIsExit78() throws Exception {
        List<String> lines = export();
        write(lines);
        Path other = dir.resolve("other.key");
        AuditKey.generate(new SecureRandom()).writeNew(other);
        Cli c = Cli.run("audit", "verify", "--file", dir.resolve("audit.jsonl").toString(), "--key-file", other.toString());
        assertEquals(78, c.status(), c::toString);
        assertTrue(c.err().startsWith("holdfast: audit_key_mismatch: "), c.err());
    }

    @Test
    void theCatalogAndTheRepositorysExportsVerifyAndAgreeAlsoWithoutTheDataDirectory() throws Exception {
        Cli catalogOnly = Cli.run("audit", "verify", "--config", config.toString(), "--from", "catalog");
        assertEquals(0, catalogOnly.status(), catalogOnly::toString);
        assertEquals("catalog: chain verified, seq 1 to 20 (20 entries), key " + keyId + "\n", catalogOnly.out());

        withCatalog((vertx, c) -> {
            EventLog log = new EventLog(new PrintStream(OutputStream.nullOutputStream()), Clock.systemUTC(), LogLevel.INFO, false);
            ControllerConfig cfg = AuditSources.config(config);
            AuditExporter exporter = new AuditExporter(vertx, c, () -> AuditSources.openRepository(cfg), AuditSettings.of(cfg),
                    Clock.systemUTC(), log);
            assertEquals(ENTRIES, await(exporter.exportNow()));
            await(exporter.stop());
        });
        Cli both = Cli.run("audit", "verify", "--config", config.toString());
        assertEquals(0, both.status(), both::toString);
        assertEquals("catalog: chain verified, seq 1 to 20 (20 entries), key " + keyId + "\n"
                + "repository: chain verified, seq 1 to 20 (20 entries), key " + keyId + "\n", both.out());

        // The controller is lost: only the repository (and the master key) remain.
        Files.delete(dataDir.resolve("audit.key"));
        Cli repoOnly = Cli.run("audit", "verify", "--config", config.toString(), "--from", "repository");
        assertEquals(0, repoOnly.status(), repoOnly::toString);
        assertEquals("repository: chain verified, seq 1 to 20 (20 entries), key " + keyId + "\n", repoOnly.out());

        try (Repository repo = Repository.open(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()), keys, Clock.systemUTC(),
                new SecureRandom())) {
            Futures.await(repo.store().delete(AuditLayout.export(keyId, 1, ENTRIES)));
        }
        Cli deleted = Cli.run("audit", "verify", "--config", config.toString());
        assertEquals(77, deleted.status(), deleted::toString);
        assertEquals("holdfast: audit_chain_broken: repository: log truncated before seq 1: the recorded head is seq 20 (the catalog's export"
                + " position; an export object deleted)\n", deleted.err());
    }

    @Test
    void aCatalogWhoseHeadWasRewrittenToDisownItsChainDisagreesWithTheExports() throws Exception {
        withCatalog((vertx, c) -> {
            EventLog log = new EventLog(new PrintStream(OutputStream.nullOutputStream()), Clock.systemUTC(), LogLevel.INFO, false);
            ControllerConfig cfg = AuditSources.config(config);
            AuditExporter exporter = new AuditExporter(vertx, c, () -> AuditSources.openRepository(cfg), AuditSettings.of(cfg),
                    Clock.systemUTC(), log);
            assertEquals(ENTRIES, await(exporter.exportNow()));
            await(exporter.stop());
        });
        // Someone with the database's password, not the audit key: every entry declared "before the
        // chain" (so the catalog's own check covers nothing), then an entry edited.
        try (java.sql.Connection db = java.sql.DriverManager.getConnection("jdbc:h2:file:" + dataDir.resolve("catalog")
                + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE", "holdfast", "")) {
            db.createStatement().execute("UPDATE audit_head SET base_seq = seq, exported_seq = seq, mac = '" + "0".repeat(64) + "'");
            db.createStatement().execute("UPDATE audit SET detail = 'nothing to see' WHERE seq = 7");
        }
        Cli c = Cli.run("audit", "verify", "--config", config.toString());
        assertEquals(77, c.status(), c::toString);
        assertTrue(c.err().contains("catalog: its chain starts after seq 20 but the repository's exports chain entries from seq 1"), c::toString);
    }
}
