package dev.holdfast.controller.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.AgentConfig.LogLevel;
import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.CatalogFactory;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryConfig;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectLock;
import dev.holdfast.repository.store.fs.FsObjectStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
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

/** The exporter against a real (filesystem) repository and an embedded catalog, and verification from the repository. */
class AuditExporterTest {
    @TempDir
    Path dir;
    Vertx vertx;
    Catalog catalog;
    KeyFile keys;
    Repository repo;
    final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    EventLog log;

    @BeforeEach
    void setUp() throws Exception {
        vertx = Vertx.vertx();
        keys = KeyFile.create(dir.resolve("master.key"), Clock.systemUTC(), new SecureRandom());
        Repository.init(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()), keys, RepositoryConfig.DEFAULT_SEGMENT_SIZE, 3, "test",
                Clock.systemUTC(), new SecureRandom()).close();
        repo = openRepo();
        catalog = await(CatalogFactory.open(vertx, new ControllerConfig.CatalogUrl("embedded"), dir.resolve("data")));
        log = new EventLog(new PrintStream(logBytes, true, StandardCharsets.UTF_8), Clock.systemUTC(), LogLevel.DEBUG, false);
    }

    @AfterEach
    void tearDown() throws Exception {
        catalog.close();
        repo.close();
        await(vertx.close());
    }

    Repository openRepo() {
        return Repository.open(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()), keys, Clock.systemUTC(), new SecureRandom());
    }

    AuditExporter exporter(AuditSettings settings) {
        return new AuditExporter(vertx, catalog, this::openRepo, settings, Clock.systemUTC(), log);
    }

    void append(int n) throws Exception {
        for (int i = 0; i < n; i++) {
            await(catalog.appendAudit(new AuditRecord(0, Instant.parse("2026-11-24T09:00:00Z").plusSeconds(i), "req-" + i, "admin", "admin",
                    "backup.request", "db1/main", "ok", "entry " + i)));
        }
    }

    static <T> T await(Future<T> f) throws Exception {
        try {
            return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception x) {
                throw x;
            }
            throw e;
        }
    }

    @Test
    void newEntriesGoIntoSealedObjectsNamedByTheirRangeAndVerifyFromTheRepositoryAlone() throws Exception {
        AuditExporter exporter = exporter(AuditSettings.DEFAULT);
        append(5);
        assertEquals(5, await(exporter.exportNow()));
        append(3);
        assertEquals(3, await(exporter.exportNow()));
        assertEquals(0, await(exporter.exportNow()), "nothing new");
        await(exporter.stop());
        AuditKey key = catalog.auditKey().orElseThrow();
        AuditRepository audit = new AuditRepository(repo);
        assertEquals(List.of(AuditLayout.export(key.id(), 1, 5), AuditLayout.export(key.id(), 6, 8)),
                audit.exports(Optional.empty()).stream().map(AuditLayout.ExportName::name).toList());
        assertEquals("audit/log/" + key.id() + "/00000000000000000001-00000000000000000005.jsonl", AuditLayout.export(key.id(), 1, 5).value());
        assertEquals(8, await(catalog.auditHead()).exportedSeq());
        assertEquals(key.id(), audit.key(key.id()).orElseThrow().id(), "the sealed key copy");
        assertEquals(List.of(key.id()), audit.exportedKeyIds());

        AuditVerifier.Verified v = new AuditRepository(openRepo()).verify(audit.key(key.id()).orElseThrow());
        assertEquals(1, v.firstSeq());
        assertEquals(8, v.lastSeq());
        assertEquals(8, v.count());
        assertTrue(logBytes.toString(StandardCharsets.UTF_8).contains("audit_exported"));
    }

    @Test
    void aDeletedExportObjectIsNamedByTheSeqsItHeld() throws Exception {
        AuditExporter exporter = exporter(AuditSettings.DEFAULT);
        for (int round = 0; round < 3; round++) {
            append(4);
            await(exporter.exportNow());
        }
        AuditKey key = catalog.auditKey().orElseThrow();
        Futures.await(repo.store().delete(AuditLayout.export(key.id(), 5, 8)));
        HoldfastException e = assertThrows(HoldfastException.class, () -> new AuditRepository(repo).verify(key));
        assertEquals(ErrorCode.AUDIT_CHAIN_BROKEN, e.code());
        assertEquals("seqs 5 to 8 missing (an export deleted) between 4 and 9", e.getMessage());

        Futures.await(repo.store().delete(AuditLayout.export(key.id(), 1, 4)));
        e = assertThrows(HoldfastException.class, () -> new AuditRepository(repo).verify(key));
        assertTrue(e.getMessage().startsWith(AuditLayout.export(key.id(), 9, 12).value() + ": seqs before 9 missing"), e.getMessage());
    }

    @Test
    void aStoreThatCannotLockFailsTheExportAndTheEntriesWaitInTheCatalog() throws Exception {
        AuditExporter exporter = exporter(new AuditSettings(Duration.ofMinutes(5), Optional.of(new AuditSettings.Lock(ObjectLock.Mode.COMPLIANCE,
                Duration.ofDays(30)))));
        append(2);
        HoldfastException e = assertThrows(HoldfastException.class, () -> await(exporter.exportNow()));
        assertEquals(ErrorCode.STORE_ERROR, e.code(), e.getMessage());
        assertEquals(0, await(catalog.auditHead()).exportedSeq());
        assertTrue(logBytes.toString(StandardCharsets.UTF_8).contains("audit_export_failed"));
        assertEquals(2, await(exporter(AuditSettings.DEFAULT).exportNow()), "exported once the store can take them");
    }

    @Test
    void anExportInterruptedBeforeItsPositionWasRecordedIsRecordedByTheNextRun() throws Exception {
        append(3);
        AuditKey key = catalog.auditKey().orElseThrow();
        var entries = await(catalog.auditAfter(0, 10));
        byte[] jsonl = AuditJsonl.export(entries, AuditJsonl.Trailer.of(key, 1, 3, AuditMac.GENESIS, entries.get(2).mac().orElseThrow()));
        new AuditRepository(repo).writeExport(AuditLayout.export(key.id(), 1, 3), jsonl, AuditSettings.DEFAULT.putOptions(Instant.now()));
        assertEquals(3, await(exporter(AuditSettings.DEFAULT).exportNow()));
        assertEquals(3, await(catalog.auditHead()).exportedSeq());
        assertEquals(3, new AuditRepository(repo).verify(key).count());
    }
}
