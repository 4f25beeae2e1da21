package dev.holdfast.controller.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.Reindexer;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.controller.verify.VerificationService;
import dev.holdfast.controller.verify.VerifySchedule;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryConfig;
import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.backup.BackupManifest;
import dev.holdfast.repository.backup.TestBackups;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.fs.FsObjectStore;
import dev.holdfast.repository.wal.WalSegmentName;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /verify/{id}} and the {@code verify} of {@code GET /backups}, end to end: a real API
 * over a real catalog, the real verification service over a real repository on a file store with
 * real backups, damaged on disk where a test says so.
 */
class VerifyApiTest {
    static final String SYS = "7300000000000000001";
    static final String FULL1 = "20261123T090000Z-full";
    static final String FULL2 = "20261123T100000Z-full";

    @TempDir
    Path dir;
    Repository repo;
    TestBackups main;
    ApiHarness h;
    VerificationService service;

    @BeforeEach
    void setUp() throws Exception {
        KeyFile key = KeyFile.create(dir.resolve("master.key"), Clock.systemUTC(), new SecureRandom());
        repo = Repository.init(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()), key, RepositoryConfig.DEFAULT_SEGMENT_SIZE, 3,
                "test", Clock.systemUTC(), new SecureRandom());
        main = new TestBackups(repo, "main", SYS);
        BackupManifest full1 = main.full(FULL1, 2, TestBackups.files("base/1/1", "base/1/2", "global/pg_control"));
        main.full(FULL2, 4, TestBackups.files("base/1/1", "base/1/3"));
        main.wal(1, 1, 6);
        Files.createDirectories(dir.resolve("api"));
        h = new ApiHarness(dir.resolve("api"), harness -> {
            service = new VerificationService(harness.vertx, harness.catalog, repo, harness.metrics, harness.clock, harness.random, harness.log);
            return (source, id, readData, actor, requestId) -> service.request(source, BackupId.parse(id), readData,
                    new VerificationService.Requester(actor.name(), actor.role().wire(), requestId, "api"));
        });
        ApiHarness.await(new Reindexer(h.vertx, repo).reindex(h.catalog));
        assertEquals(FULL1, full1.id().toString());
    }

    @AfterEach
    void tearDown() throws Exception {
        if (service != null) {
            service.close();
        }
        h.close();
        repo.close();
    }

    /** Starts a verify job through the API and waits (generously) for it to finish; the finished job. */
    JsonObject verify(String id, String body) throws Exception {
        ApiHarness.Response r = h.call("POST", "/api/v1/verify/" + id + "?source=main", h.serviceToken, body);
        assertEquals(202, r.status(), r.body());
        JsonObject started = r.json();
        assertEquals("verify", started.getString("kind"));
        assertEquals("main", started.getString("source"));
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (System.nanoTime() < deadline) {
            JsonObject job = h.get("/api/v1/jobs/" + started.getString("id"), h.analystToken).json();
            if (job.getString("state").equals("succeeded") || job.getString("state").equals("failed")) {
                return job;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("verify job " + started.getString("id") + " did not finish");
    }

    /** The {@code verify} object of backup {@code id} in {@code GET /backups}. */
    JsonObject verifyOf(String id) throws Exception {
        JsonArray items = h.get("/api/v1/backups?source=main", h.analystToken).json().getJsonArray("items");
        for (int i = 0; i < items.size(); i++) {
            if (id.equals(items.getJsonObject(i).getString("id"))) {
                return items.getJsonObject(i).getJsonObject("verify");
            }
        }
        throw new AssertionError("no backup " + id + " in " + items);
    }

    String scrape() throws Exception {
        return h.get("/metrics", h.analystToken).body();
    }

    @Test
    void aGoodBackupVerifiesWithItsDataReadAndShowsOkInBackups() throws Exception {
        assertEquals("never", verifyOf(FULL1).getString("state"));
        JsonObject job = verify(FULL1, "{\"read_data\": true}");
        assertEquals("succeeded", job.getString("state"), job.encode());
        assertEquals("read_data", job.getString("type"));
        assertEquals(FULL1, job.getString("backup_id"));
        JsonObject v = verifyOf(FULL1);
        assertEquals("ok", v.getString("state"), v.encode());
        assertEquals(h.clock.instant().toString(), v.getString("at"));
        assertNull(v.getValue("error"));
        assertEquals(true, v.getBoolean("data_read"));
        assertTrue(v.getLong("bytes_read") > 0, v.encode());
        assertEquals(job.getString("id"), v.getString("job_id"));
        assertEquals("never", verifyOf(FULL2).getString("state"), "only the backup asked for");
        List<AuditRecord> audit = h.auditLog();
        assertTrue(audit.stream().anyMatch(a -> a.action().equals("verify.request") && a.object().equals("main/" + FULL1)
                && a.actor().equals("ci-runner") && a.outcome().equals("ok")), audit.toString());
        assertTrue(audit.stream().anyMatch(a -> a.action().equals("verify.run") && a.object().equals("main/" + FULL1)
                && a.actor().equals("ci-runner") && a.outcome().equals("ok")), audit.toString());
        assertTrue(scrape().contains("holdfast_verify_failures_total{source=\"main\"} 0.0"));
    }

    @Test
    void aCorruptedPackIsCaughtByTheDataReadCountedAndShownWithItsCode() throws Exception {
        Path pack = dir.resolve("repo").resolve(main.layout(BackupId.parse(FULL2)).pack(1).value());
        pack.toFile().setWritable(true);
        byte[] bytes = Files.readAllBytes(pack);
        bytes[56 + 40] ^= 0x01;
        Files.write(pack, bytes);

        JsonObject job = verify(FULL2, "{\"read_data\": true}");
        assertEquals("failed", job.getString("state"), job.encode());
        assertEquals("integrity_failure", job.getJsonObject("error").getString("code"));
        JsonObject v = verifyOf(FULL2);
        assertEquals("failed", v.getString("state"), v.encode());
        assertEquals("integrity_failure", v.getJsonObject("error").getString("code"));
        assertTrue(v.getJsonObject("error").getString("message").startsWith("pack_damaged: "), v.encode());
        assertTrue(v.getJsonObject("error").getString("message").contains("pack-000001"), v.encode());
        assertTrue(scrape().contains("holdfast_verify_failures_total{source=\"main\"} 1.0"), scrape());
        assertTrue(h.auditLog().stream().anyMatch(a -> a.action().equals("verify.run") && a.outcome().equals("failed")));

        // The scheduled run reads a sample; with a one-hour period it reads every pack, the damaged one too.
        ApiHarness.await(h.catalog.recordVerification(new dev.holdfast.controller.catalog.VerificationRecord("main", SYS, FULL2,
                h.clock.instant(), true, java.util.Optional.empty(), java.util.Optional.empty(), false, 0, "reset")));
        VerifySchedule schedule = new VerifySchedule(h.vertx, h.catalog, service,
                new ControllerConfig.Verification("0 5 * * *", ZoneId.of("UTC"), Duration.ofHours(1)), h.clock);
        VerificationService.Outcome o = ApiHarness.await(schedule.tick()).orElseThrow();
        assertEquals(1, o.failed(), o.errors().toString());
        assertEquals("integrity_failure", verifyOf(FULL2).getJsonObject("error").getString("code"));
        assertEquals("ok", verifyOf(FULL1).getString("state"));
        assertTrue(scrape().contains("holdfast_verify_failures_total{source=\"main\"} 2.0"), scrape());
    }

    @Test
    void aDeletedWalSegmentIsCaughtWithoutReadingData() throws Exception {
        Futures.await(repo.store().delete(main.walLayout().segment(WalSegmentName.ofNumber(1, 5, TestBackups.WAL_SEGMENT))));
        JsonObject job = verify(FULL1, null);
        assertEquals("failed", job.getString("state"), job.encode());
        assertEquals("structure", job.getString("type"));
        JsonObject v = verifyOf(FULL1);
        assertEquals("wal_gap", v.getJsonObject("error").getString("code"), v.encode());
        assertEquals(false, v.getBoolean("data_read"));
    }

    @Test
    void requestsNameAnExistingBackupOfASource() throws Exception {
        ApiHarness.Response none = h.call("POST", "/api/v1/verify/20261123T110000Z-full?source=main", h.serviceToken, null);
        assertEquals(404, none.status(), none.body());
        assertEquals("object_not_found", none.errorCode());
        ApiHarness.Response noSource = h.call("POST", "/api/v1/verify/" + FULL1, h.serviceToken, null);
        assertEquals(400, noSource.status());
        assertTrue(noSource.errorMessage().contains("source"), noSource.body());
        assertEquals(400, h.call("POST", "/api/v1/verify/not-an-id?source=main", h.serviceToken, null).status());
        assertEquals(400, h.call("POST", "/api/v1/verify/" + FULL1 + "?source=main", h.serviceToken, "{\"read_data\": 1}").status());
        assertEquals(403, h.call("POST", "/api/v1/verify/" + FULL1 + "?source=main", h.analystToken, null).status());
    }
}
