package dev.holdfast.controller.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Future;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The catalog contract on the embedded store: H2 in a file under the data directory. */
class H2CatalogTest extends CatalogContract {
    @TempDir
    Path tmp;
    Path dataDir;

    @Override
    void newStore() {
        dataDir = tmp.resolve("data");
    }

    @Override
    Future<Catalog> open() {
        return CatalogFactory.open(vertx, new ControllerConfig.CatalogUrl("embedded"), dataDir);
    }

    @Test
    void aStoreAnotherProcessHoldsIsRefusedAsInUse() throws Exception {
        catalog.close();
        catalog = null;
        Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), H2Holder.class.getName(), dataDir.resolve("catalog").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            String line = new java.io.BufferedReader(new java.io.InputStreamReader(holder.getInputStream())).readLine();
            assertEquals("ready", line);
            HoldfastException e = failure(open());
            assertEquals(ErrorCode.CONFLICT, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("in use by another process"), e.getMessage());
        } finally {
            holder.getOutputStream().close();
            holder.waitFor();
        }
        catalog = await(open());
        assertEquals(java.util.Optional.empty(), await(catalog.agent("db1")), "usable once the other process is gone");
    }

    @Test
    void aCatalogWhoseChainWasMadeWithAnotherKeyIsRefused() throws Exception {
        await(catalog.appendAudit(new AuditRecord(0, t(0), "r", "a", "admin", "x", "y", "ok", "")));
        String id = catalog.auditKey().orElseThrow().id();
        catalog.close();
        catalog = null;
        Files.delete(dataDir.resolve("audit.key"));
        dev.holdfast.controller.audit.AuditKey.generate(new java.security.SecureRandom()).writeNew(dataDir.resolve("audit.key"));
        HoldfastException e = failure(open());
        assertEquals(ErrorCode.AUDIT_KEY_MISMATCH, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains(id), e.getMessage());
        assertFalse(e.getMessage().contains("\"key\""), e.getMessage());
        Catalog reading = await(CatalogFactory.openForReading(vertx, new ControllerConfig.CatalogUrl("embedded"), dataDir, java.time.Clock.systemUTC()));
        try {
            assertEquals(1, await(reading.auditHead()).seq(), "reading needs no key");
            assertEquals(ErrorCode.AUDIT_KEY_MISMATCH, failure(reading.appendAudit(new AuditRecord(0, t(1), "r", "a", "admin", "x", "y", "ok",
                    ""))).code());
        } finally {
            reading.close();
        }
    }

    @Test
    void entriesWrittenBeforeTheChainKeepNoMacAndTheChainStartsAfterThem() throws Exception {
        catalog.close();
        catalog = null;
        // A catalog of schema version 1 with two audit entries, as an earlier release left it.
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:h2:file:" + dataDir.resolve("catalog")
                + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE", "holdfast", "")) {
            c.createStatement().execute("DELETE FROM schema_version WHERE version > 1");
            c.createStatement().execute("DROP TABLE audit_head");
            c.createStatement().execute("ALTER TABLE audit DROP COLUMN mac");
            c.createStatement().execute("DROP INDEX jobs_kind");
            c.createStatement().execute("DROP TABLE restores");
            c.createStatement().execute("DROP TABLE verifications");
            c.createStatement().execute("DROP TABLE controller_state");
            c.createStatement().execute("INSERT INTO audit (at_us, request_id, actor, role, action, object_name, outcome, detail)"
                    + " VALUES (1, 'r1', 'a', 'admin', 'x', 'y', 'ok', ''), (2, 'r2', 'a', 'admin', 'x', 'y', 'ok', '')");
        }
        catalog = await(open());
        AuditHead h = await(catalog.auditHead());
        assertEquals(2, h.baseSeq());
        assertEquals(2, h.exportedSeq());
        assertEquals(3, await(catalog.appendAudit(new AuditRecord(0, t(3), "r3", "a", "admin", "x", "y", "ok", ""))));
        List<AuditEntry> all = await(catalog.auditAfter(0, 10));
        assertEquals(List.of(Optional.empty(), Optional.empty()), all.subList(0, 2).stream().map(AuditEntry::mac).toList());
        assertEquals(Optional.of(dev.holdfast.controller.audit.AuditChain.link(catalog.auditKey().orElseThrow(),
                dev.holdfast.controller.audit.AuditMac.GENESIS, all.get(2).record())), all.get(2).mac());
        var v = await(dev.holdfast.controller.audit.AuditCatalogVerifier.verify(vertx, catalog, catalog.auditKey().orElseThrow()));
        assertEquals(3, v.verified().firstSeq());
        assertEquals(1, v.verified().count());
    }

    @Test
    void theStoreIsAFileInTheDataDirectory() {
        assertTrue(Files.isRegularFile(dataDir.resolve("catalog.mv.db")));
    }
}
