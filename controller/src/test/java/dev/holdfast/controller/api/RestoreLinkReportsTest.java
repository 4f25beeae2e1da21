package dev.holdfast.controller.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.catalog.AgentRecord;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.BackupRecord;
import dev.holdfast.protocol.Errors;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.protocol.v1.Hello;
import dev.holdfast.protocol.v1.JobProgress;
import dev.holdfast.protocol.v1.JobResult;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the agent's reports do to a restore request (the link side of the restore service, driven
 * with the messages the agent sends): the pre-verification {@code starting} report changes nothing,
 * later progress makes it running; results end it done, failed or refused; reports from another
 * host are ignored; a Hello that neither runs nor reports a running restore fails it; a result
 * held in a Hello is recorded; a late result for an expired request is recorded as it happened.
 */
class RestoreLinkReportsTest {
    @TempDir
    Path dir;
    ApiHarness h;
    final List<String> finished = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        h = new ApiHarness(dir);
        h.restores.onFinished((status, took) -> finished.add(status));
        ApiHarness.await(h.catalog.upsertAgent(new AgentRecord("db2", "0.1.0", List.of("restore.grant"), ApiHarness.T0, Optional.empty(),
                false, "0a1b", ApiHarness.T0.plusSeconds(86400))));
        ApiHarness.await(h.catalog.upsertBackup(new BackupRecord("cache", "7301", "20261124T060000Z-full", "db2", "full", "adhoc",
                "complete", Optional.of(ApiHarness.T0.minusSeconds(7200)), Optional.of(ApiHarness.T0.minusSeconds(7000)), "0/2000028",
                "0/3000138", 1, Optional.empty(), 100, 50, Optional.empty())));
    }

    @AfterEach
    void tearDown() throws Exception {
        h.close();
    }

    private String approved(String target) throws Exception {
        String id = h.call("POST", "/api/v1/restores", h.serviceToken, "{\"host\": \"db2\", \"source\": \"cache\", \"target\": \""
                + "/var/lib/holdfast/restore/" + target + "\"}").json().getString("id");
        assertEquals("approved", h.call("POST", "/api/v1/restores/" + id + "/approve", h.adminToken, "{}").json().getString("state"));
        return id;
    }

    private JsonObject state(String id) throws Exception {
        return h.get("/api/v1/restores/" + id, h.analystToken).json();
    }

    private static JobProgress progress(String id, String phase, long done) {
        return JobProgress.newBuilder().setJobId(id).setKind("restore").setPhase(phase).setDone(done).setTotal(1000).build();
    }

    private List<String> actions(String id) throws Exception {
        return h.auditLog().stream().filter(a -> a.requestId().equals(id)).map(AuditRecord::action).toList();
    }

    @Test
    void progressAndResultsMoveTheRequestAndOtherHostsAreIgnored() throws Exception {
        String id = approved("a");
        ApiHarness.await(h.restores.progress("db2", progress(id, "starting", 0)));
        assertEquals("approved", state(id).getString("state"), "the agent has not verified the grant yet");
        ApiHarness.await(h.restores.progress("db1", progress(id, "copy", 10)));
        ApiHarness.await(h.restores.result("db1", JobResult.newBuilder().setJobId(id).setOk(true).build()));
        assertEquals("approved", state(id).getString("state"), "reports from another host are ignored");
        ApiHarness.await(h.restores.progress("db2", progress(id, "verified", 0)));
        ApiHarness.await(h.restores.progress("db2", progress(id, "copy", 500)));
        JsonObject running = state(id);
        assertEquals("running", running.getString("state"));
        assertEquals(500, running.getJsonObject("progress").getLong("done_bytes"));
        ApiHarness.await(h.restores.result("db2", JobResult.newBuilder().setJobId(id).setOk(true).setBackupId("20261124T060000Z-full")
                .setBytes(1000).build()));
        JsonObject done = state(id);
        assertEquals("done", done.getString("state"), done::encode);
        assertEquals(List.of("restore.grant.issued", "restore.started", "restore.finished"), actions(id));
        // A repeated result changes nothing.
        ApiHarness.await(h.restores.result("db2", JobResult.newBuilder().setJobId(id).setOk(false)
                .setError(Errors.reply(ErrorCode.IO_ERROR, "late")).build()));
        assertEquals("done", state(id).getString("state"));
        assertEquals(List.of("succeeded"), finished);
    }

    @Test
    void aRestoreFasterThanTheProgressIntervalEndsWithTheResultsBytes() throws Exception {
        String id = approved("f");
        ApiHarness.await(h.restores.progress("db2", JobProgress.newBuilder().setJobId(id).setKind("restore").setPhase("verified").build()));
        ApiHarness.await(h.restores.result("db2", JobResult.newBuilder().setJobId(id).setOk(true).setBackupId("20261124T060000Z-full")
                .setBytes(4242).build()));
        JsonObject done = state(id);
        assertEquals("done", done.getString("state"), done::encode);
        assertEquals(4242, done.getJsonObject("progress").getLong("done_bytes"), done::encode);
        assertEquals(4242, done.getJsonObject("progress").getLong("total_bytes"), done::encode);
    }

    @Test
    void aRefusalEndsTheRequestRefusedAndAFailureFailed() throws Exception {
        String refused = approved("b");
        ApiHarness.await(h.restores.result("db2", JobResult.newBuilder().setJobId(refused).setOk(false)
                .setError(Errors.reply(ErrorCode.GRANT_USED, "restore grant refused: it was used already")).build()));
        JsonObject r = state(refused);
        assertEquals("refused", r.getString("state"));
        assertEquals("grant_used", r.getJsonObject("error").getString("code"));
        assertTrue(actions(refused).contains("restore.refused"));
        String failed = approved("c");
        ApiHarness.await(h.restores.progress("db2", progress(failed, "copy", 1)));
        ApiHarness.await(h.restores.result("db2", JobResult.newBuilder().setJobId(failed).setOk(false)
                .setError(Errors.reply(ErrorCode.IO_ERROR, "disk full")).build()));
        assertEquals("failed", state(failed).getString("state"));
        assertEquals("io_error", state(failed).getJsonObject("error").getString("code"));
        assertEquals(List.of("failed"), finished, "a refusal did not run; a failure did");
    }

    @Test
    void aHelloFailsARestoreTheAgentNoLongerRunsAndRecordsTheResultsItHolds() throws Exception {
        String lost = approved("d");
        ApiHarness.await(h.restores.progress("db2", progress(lost, "copy", 1)));
        String kept = approved("e");
        ApiHarness.await(h.restores.progress("db2", progress(kept, "copy", 1)));
        String reported = approved("f");
        ApiHarness.await(h.restores.progress("db2", progress(reported, "copy", 1)));
        Hello hello = Hello.newBuilder().setHost("db2").addRunning(progress(kept, "copy", 700))
                .addUnreported(JobResult.newBuilder().setJobId(reported).setOk(true).build()).build();
        ApiHarness.await(h.restores.hello("db2", hello));
        JsonObject l = state(lost);
        assertEquals("failed", l.getString("state"));
        assertEquals("agent_unavailable", l.getJsonObject("error").getString("code"));
        assertEquals("running", state(kept).getString("state"));
        assertEquals(700, state(kept).getJsonObject("progress").getLong("done_bytes"));
        assertEquals("done", state(reported).getString("state"));
    }

    @Test
    void aResultArrivingAfterTheRequestExpiredIsRecordedAsItHappened() throws Exception {
        String id = approved("g");
        h.clock.advance(Duration.ofMinutes(12));
        ApiHarness.await(h.restores.expire());
        assertEquals("expired", state(id).getString("state"));
        // An agent whose clock lags started it within the skew: what it did is recorded.
        ApiHarness.await(h.restores.progress("db2", progress(id, "copy", 3)));
        ApiHarness.await(h.restores.result("db2", JobResult.newBuilder().setJobId(id).setOk(true).build()));
        assertEquals("done", state(id).getString("state"));
    }
}
