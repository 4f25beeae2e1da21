package dev.holdfast.controller.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.catalog.AgentRecord;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.BackupRecord;
import dev.holdfast.controller.catalog.PageRequest;
import dev.holdfast.controller.catalog.RestoreRecord;
import dev.holdfast.controller.catalog.RestoreState;
import dev.holdfast.controller.catalog.SourceRecord;
import dev.holdfast.controller.retention.RetentionService;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryConfig;
import dev.holdfast.repository.backup.BackupCatalog;
import dev.holdfast.repository.backup.TestBackups;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.fs.FsObjectStore;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /policies/{name}/plan} and {@code POST /policies/{name}/enforce} on the real router,
 * catalog and retention service over a real file:// repository with ten daily full backups.
 */
class RetentionApiTest {
    static final String SYSID = "7300000000000000001";
    static final String V1 = "/api/v1";
    @TempDir
    Path dir;
    ApiHarness h;
    Repository repo;

    @BeforeEach
    void setUp() throws Exception {
        h = new ApiHarness(dir);
        KeyFile key = KeyFile.create(dir.resolve("master.key"), Clock.systemUTC(), new SecureRandom());
        repo = Repository.init(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()), key, RepositoryConfig.DEFAULT_SEGMENT_SIZE, 3,
                "test", Clock.systemUTC(), new SecureRandom());
        TestBackups b = new TestBackups(repo, "main", SYSID);
        for (int day = 1; day <= 10; day++) {
            b.full(String.format("202611%02dT090000Z-full", day), day + 1, TestBackups.files("base/1/1"));
        }
        b.wal(1, 1, 12);
        // db1/main is covered by the "critical" policy (db1/*): 7 daily / 4 weekly / 12 monthly, 7d window, Europe/Berlin.
        ApiHarness.await(h.catalog.upsertAgent(new AgentRecord("db1", "0.1.0", List.of("postgres"), ApiHarness.T0, Optional.empty(),
                false, "0a1b", ApiHarness.T0.plusSeconds(86400))));
        ApiHarness.await(h.catalog.replaceSources("db1", List.of(new SourceRecord("db1", "main", "postgres", SYSID, "15.8", "stream",
                Optional.empty()))));
        ApiHarness.await(h.catalog.upsertBackup(new BackupRecord("main", SYSID, "20261102T090000Z-full", "db1", "full", "daily", "complete",
                Optional.empty(), Optional.empty(), "", "", 1, Optional.empty(), 1, 1, Optional.empty())));
        h.api.retention(new RetentionService(h.vertx, h.catalog, h.config, h.clock, h.log, () -> Optional.of(repo)));
    }

    @AfterEach
    void tearDown() throws Exception {
        h.close();
        repo.close();
    }

    private static JsonObject backup(JsonObject cluster, String id) {
        return cluster.getJsonArray("backups").stream().map(o -> (JsonObject) o).filter(o -> o.getString("id").equals(id)).findFirst()
                .orElseThrow();
    }

    @Test
    void thePlanGivesEveryBackupItsReasonAndEnforcingItDeletesAuditsAndUpdatesTheCatalog() throws Exception {
        ApiHarness.Response plan = h.get(V1 + "/policies/critical/plan", h.analystToken);
        assertEquals(200, plan.status(), plan.body());
        JsonObject body = plan.json();
        assertEquals("critical", body.getString("policy"));
        JsonArray clusters = body.getJsonArray("clusters");
        assertEquals(1, clusters.size(), body::encodePrettily);
        JsonObject c = clusters.getJsonObject(0);
        assertEquals("main", c.getString("source"));
        assertEquals(SYSID, c.getString("system_id"));
        assertEquals("drop", backup(c, "20261102T090000Z-full").getString("action"));
        assertEquals(new JsonArray().add("beyond 7 daily / 4 weekly / 12 monthly and before the PITR window"),
                backup(c, "20261102T090000Z-full").getJsonArray("reasons"));
        assertEquals("drop", backup(c, "20261103T090000Z-full").getString("action"));
        assertEquals(new JsonArray().add("weekly slot 2026-W44"), backup(c, "20261101T090000Z-full").getJsonArray("reasons"));
        assertTrue(backup(c, "20261110T090000Z-full").getJsonArray("reasons").contains("serves the PITR window's start 2026-11-17T09:00:00Z"),
                c::encodePrettily);
        assertEquals(2, c.getInteger("deleted"));
        assertEquals(2, new BackupCatalog(repo).list("main", SYSID).values().stream().filter(e -> e.id().toString().startsWith("2026110")
                && (e.id().toString().startsWith("20261102") || e.id().toString().startsWith("20261103"))).count(), "a plan deletes nothing");

        ApiHarness.Response notFound = h.get(V1 + "/policies/nope/plan", h.analystToken);
        assertEquals(404, notFound.status());
        ApiHarness.Response refused = h.call("POST", V1 + "/policies/critical/enforce", h.analystToken, "{}");
        assertEquals(403, refused.status());

        ApiHarness.Response done = h.call("POST", V1 + "/policies/critical/enforce", h.adminToken, "{}");
        assertEquals(200, done.status(), done.body());
        JsonObject out = done.json().getJsonArray("clusters").getJsonObject(0);
        assertEquals(new JsonArray().add("20261103T090000Z-full").add("20261102T090000Z-full"), out.getJsonArray("backups_removed"));
        Set<String> left = new BackupCatalog(repo).list("main", SYSID).keySet().stream().map(Object::toString)
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(8, left.size(), left::toString);
        assertTrue(!left.contains("20261102T090000Z-full") && !left.contains("20261103T090000Z-full"));
        assertEquals(List.of(), ApiHarness.await(h.catalog.backups(Optional.of("main"), PageRequest.FIRST)).items(),
                "the removed backup's catalog row is gone");

        List<AuditRecord> audit = h.auditLog();
        List<AuditRecord> deletes = audit.stream().filter(a -> a.action().equals("retention.delete")).toList();
        assertTrue(!deletes.isEmpty());
        assertTrue(deletes.stream().allMatch(a -> a.object().equals("main/" + SYSID) && a.outcome().equals("ok")), deletes::toString);
        assertTrue(deletes.stream().anyMatch(a -> a.detail().contains("backups removed: 20261103T090000Z-full")), deletes::toString);
        AuditRecord enforce = audit.stream().filter(a -> a.action().equals("retention.enforce") && a.outcome().equals("ok")).findFirst()
                .orElseThrow();
        assertEquals("critical", enforce.object());
        assertTrue(audit.stream().anyMatch(a -> a.action().equals("retention.enforce") && a.outcome().equals("refused")), "the analyst's try");

        ApiHarness.Response policy = h.get(V1 + "/policies/critical", h.analystToken);
        assertEquals(3600, policy.json().getJsonObject("retention").getLong("interval_seconds"));

        // Enforcing again finds nothing more to delete.
        ApiHarness.Response again = h.call("POST", V1 + "/policies/critical/enforce", h.adminToken, "{}");
        assertEquals(0, again.json().getJsonArray("clusters").getJsonObject(0).getInteger("deleted"));
    }

    @Test
    void aBackupARunningRestoreReadsIsKeptUntilTheRestoreEnds() throws Exception {
        RestoreRecord r = new RestoreRecord("r-1", "db2", "main", "db1", "20261102T090000Z-full", "20261102T090000Z-full", SYSID, "immediate",
                "", "/var/lib/holdfast/restore/x", "critical", 1, "ops-1", List.of("ops-1"), RestoreState.RUNNING, ApiHarness.T0,
                Optional.of(ApiHarness.T0), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.of(ApiHarness.T0),
                Optional.empty(), 0, 0, "", Optional.empty(), Optional.empty(), 1);
        ApiHarness.await(h.catalog.insertRestore(r));
        JsonObject c = h.get(V1 + "/policies/critical/plan", h.analystToken).json().getJsonArray("clusters").getJsonObject(0);
        assertEquals("keep", backup(c, "20261102T090000Z-full").getString("action"), c::encodePrettily);
        assertEquals(new JsonArray().add("read by restore r-1 (running)"), backup(c, "20261102T090000Z-full").getJsonArray("reasons"));
        assertEquals("drop", backup(c, "20261103T090000Z-full").getString("action"));
        JsonObject out = h.call("POST", V1 + "/policies/critical/enforce", h.adminToken, "{}").json().getJsonArray("clusters").getJsonObject(0);
        assertEquals(new JsonArray().add("20261103T090000Z-full"), out.getJsonArray("backups_removed"));

        // Once it is done, the next run removes it.
        ApiHarness.await(h.catalog.updateRestore(r.withState(RestoreState.DONE), r.revision()));
        out = h.call("POST", V1 + "/policies/critical/enforce", h.adminToken, "{}").json().getJsonArray("clusters").getJsonObject(0);
        assertEquals(new JsonArray().add("20261102T090000Z-full"), out.getJsonArray("backups_removed"));
    }

    @Test
    void thePeriodicRunEnforcesEveryPolicyAndAuditsAsTheSystem() throws Exception {
        RetentionService service = new RetentionService(h.vertx, h.catalog, h.config, h.clock, h.log, () -> Optional.of(repo));
        ApiHarness.await(service.tick());
        Set<String> left = new BackupCatalog(repo).list("main", SYSID).keySet().stream().map(Object::toString)
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(8, left.size(), left::toString);
        List<AuditRecord> deletes = h.auditLog().stream().filter(a -> a.action().equals("retention.delete")).toList();
        assertTrue(!deletes.isEmpty() && deletes.stream().allMatch(a -> a.actor().equals("retention") && a.role().equals("system")),
                deletes::toString);
        // Within the interval (1h), the next tick does nothing.
        int audited = h.auditLog().size();
        ApiHarness.await(service.tick());
        assertEquals(audited, h.auditLog().size());
    }

    @Test
    void aStoppedServiceStartsNoRunAndDeletesNothing() throws Exception {
        RetentionService service = new RetentionService(h.vertx, h.catalog, h.config, h.clock, h.log, () -> Optional.of(repo));
        ApiHarness.await(service.stop());
        Exception e = assertThrows(Exception.class,
                () -> ApiHarness.await(service.enforce("critical", "ops-1", "admin", "")));
        HoldfastException h2 = HoldfastException.find(e);
        assertEquals(ErrorCode.RETENTION_UNAVAILABLE, h2 == null ? null : h2.code(), e::toString);
        assertEquals(10, new BackupCatalog(repo).list("main", SYSID).size());
    }
}
