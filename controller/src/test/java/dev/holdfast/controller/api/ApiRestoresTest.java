package dev.holdfast.controller.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.catalog.AgentRecord;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.BackupRecord;
import dev.holdfast.controller.catalog.RestoreRecord;
import dev.holdfast.protocol.Grants;
import dev.holdfast.protocol.v1.RestoreGrant;
import dev.holdfast.protocol.v1.RestoreGrantPayload;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.security.Signature;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /api/v1/restores} over a real controller API, catalog, CA and restore service (no agent
 * connected: delivery is the process test's): requests resolve their backup and recovery point at
 * request time; the policy's two-person rule refuses self-approval; the approval that completes a
 * request signs a grant the CA's key verifies; analysts may neither request nor approve; an
 * undelivered grant expires the request; every step is audited.
 */
class ApiRestoresTest {
    static final Instant T0 = ApiHarness.T0;
    static final String FULL = "20261124T060000Z-full";
    static final String INCR = "20261124T080000Z-incr";

    @TempDir
    Path dir;
    ApiHarness h;

    @BeforeEach
    void setUp() throws Exception {
        h = new ApiHarness(dir);
        for (String host : List.of("db1", "db2")) {
            ApiHarness.await(h.catalog.upsertAgent(new AgentRecord(host, "0.1.0", List.of("restore.grant"), T0, Optional.empty(), false,
                    "0a1b", T0.plusSeconds(86400))));
        }
        // db1/main falls under policy "critical" (approvals: 2, grant_ttl: 5m), db2/cache under "default" (approvals: 1).
        backup("main", "db1", FULL, T0.minus(Duration.ofHours(3)), T0.minus(Duration.ofMinutes(170)), "0/3000138");
        backup("main", "db1", INCR, T0.minus(Duration.ofHours(1)), T0.minus(Duration.ofMinutes(50)), "0/5000100");
        backup("cache", "db2", FULL, T0.minus(Duration.ofHours(3)), T0.minus(Duration.ofMinutes(170)), "0/3000138");
    }

    @AfterEach
    void tearDown() throws Exception {
        h.close();
    }

    private void backup(String source, String host, String id, Instant started, Instant finished, String stop) throws Exception {
        ApiHarness.await(h.catalog.upsertBackup(new BackupRecord(source, "7301", id, host, id.endsWith("full") ? "full" : "incr", "adhoc",
                "complete", Optional.of(started), Optional.of(finished), "0/2000028", stop, 1, Optional.empty(), 100, 50, Optional.empty())));
    }

    private ApiHarness.Response request(String token, String body) throws Exception {
        return h.call("POST", "/api/v1/restores", token, body);
    }

    private ApiHarness.Response approve(String token, String id) throws Exception {
        return h.call("POST", "/api/v1/restores/" + id + "/approve", token, "{}");
    }

    private List<AuditRecord> audit(String restoreId) throws Exception {
        return h.auditLog().stream().filter(a -> a.requestId().equals(restoreId) || a.object().equals("restore:" + restoreId)).toList();
    }

    @Test
    void theTwoPersonRuleRefusesSelfApprovalAndTheApprovalSignsTheGrant() throws Exception {
        ApiHarness.Response req = request(h.serviceToken, "{\"host\": \"db1\", \"source\": \"main\", \"backup\": \"latest\","
                + " \"immediate\": true, \"target\": \"/var/lib/holdfast/restore/t1\"}");
        assertEquals(202, req.status(), req.body());
        JsonObject r = req.json();
        String id = r.getString("id");
        assertTrue(id.startsWith("r-"), id);
        assertEquals("requested", r.getString("state"));
        assertEquals(INCR, r.getString("backup_id"), "latest is resolved at request time");
        assertEquals("critical", r.getString("policy"));
        assertEquals(2, r.getInteger("approvals_required"));
        assertEquals("ci-runner", r.getString("requested_by"));

        // The requester cannot approve, not with the same token nor with another token of the same name.
        ApiHarness.Response self = approve(h.serviceToken, id);
        assertEquals(403, self.status(), self.body());
        assertEquals("approval_refused", self.errorCode());
        String alias = h.token("admin", "ci-runner");
        assertEquals("approval_refused", approve(alias, id).errorCode(), "actors are token names");
        JsonObject still = h.get("/api/v1/restores/" + id, h.analystToken).json();
        assertEquals("requested", still.getString("state"));
        assertTrue(still.getJsonArray("approvals").isEmpty());
        assertNull(still.getJsonObject("grant"));

        // A second person's approval completes it: approved, grant signed.
        String ops2 = h.token("service", "ops-2");
        ApiHarness.Response second = approve(ops2, id);
        assertEquals(200, second.status(), second.body());
        JsonObject a = second.json();
        assertEquals("approved", a.getString("state"));
        assertEquals(List.of("ops-2"), a.getJsonArray("approvals").getList());
        assertNull(a.getJsonObject("grant").getString("sent_at"), "no agent connected: the grant waits for its Hello");
        assertEquals(T0.plus(Duration.ofMinutes(5)).toString(), a.getJsonObject("grant").getString("expires_at"), "the policy's grant_ttl");
        ApiHarness.Response more = approve(h.adminToken, id);
        assertEquals(409, more.status(), "an approved request takes no more approvals");
        assertEquals("conflict", more.errorCode());

        // The stored grant: signed by the CA's key over the domain-separated payload; it says what was approved.
        RestoreRecord stored = ApiHarness.await(h.catalog.restore(id)).orElseThrow();
        RestoreGrant g = RestoreGrant.parseFrom(Base64.getDecoder().decode(stored.grant().orElseThrow()));
        Signature s = Signature.getInstance(Grants.SIGNATURE_ALGORITHM);
        s.initVerify(h.ca.certificate().getPublicKey());
        s.update(Grants.signedBytes(g.getPayload().toByteArray()));
        assertTrue(s.verify(g.getSignature().toByteArray()), "the CA's key verifies the grant");
        assertEquals(h.ca.certificate(), java.security.cert.CertificateFactory.getInstance("X.509")
                .generateCertificate(new java.io.ByteArrayInputStream(g.getSignerCertificateDer().toByteArray())));
        RestoreGrantPayload p = RestoreGrantPayload.parseFrom(g.getPayload());
        assertEquals(id, p.getRequestId());
        assertEquals("db1", p.getHost());
        assertEquals("main", p.getSource());
        assertEquals(INCR, p.getBackupId());
        assertEquals("immediate", p.getTargetKind());
        assertEquals("/var/lib/holdfast/restore/t1", p.getTargetPath());
        assertEquals(Duration.ofMinutes(5).toMillis(), p.getExpiresAtMs() - p.getIssuedAtMs());
        assertEquals(32, p.getGrantId().length());
        assertEquals(a.getJsonObject("grant").getString("id"), p.getGrantId());

        // Audited: the request, the refusals, the approval and the grant, all under the restore's id
        // (the service audits the grant before the API audits the call that caused it).
        List<String> trail = audit(id).stream().map(e -> e.action() + ":" + e.outcome()).toList();
        assertEquals(List.of("restore.request:ok", "restore.approve:refused", "restore.approve:refused", "restore.grant.issued:ok",
                "restore.approve:ok", "restore.approve:refused"), trail);
        assertTrue(h.auditLog().stream().noneMatch(e -> e.detail().contains(Base64.getEncoder().encodeToString(g.getSignature().toByteArray()))));
    }

    @Test
    void anAnalystMayNeitherRequestNorApprove() throws Exception {
        ApiHarness.Response req = request(h.analystToken, "{\"host\": \"db2\", \"source\": \"cache\", \"target\": \"/var/lib/holdfast/restore/a\"}");
        assertEquals(403, req.status(), req.body());
        assertEquals("permission_denied", req.errorCode());
        assertTrue(h.get("/api/v1/restores", h.analystToken).json().getJsonArray("items").isEmpty(), "nothing was stored");
        String id = request(h.serviceToken, "{\"host\": \"db2\", \"source\": \"cache\", \"target\": \"/var/lib/holdfast/restore/a\"}")
                .json().getString("id");
        ApiHarness.Response ap = approve(h.analystToken, id);
        assertEquals(403, ap.status(), ap.body());
        assertEquals("permission_denied", ap.errorCode());
        JsonObject r = h.get("/api/v1/restores/" + id, h.analystToken).json();
        assertEquals("requested", r.getString("state"));
        assertTrue(r.getJsonArray("approvals").isEmpty());
        assertTrue(audit(id).stream().noneMatch(e -> e.action().equals("restore.grant.issued")));
    }

    @Test
    void theBackupAndRecoveryPointAreResolvedAndCheckedAtRequestTime() throws Exception {
        String base = "{\"host\": \"db1\", \"source\": \"main\", \"target\": \"/var/lib/holdfast/restore/p\", ";
        JsonObject between = request(h.serviceToken, base + "\"to_time\": \"" + T0.minus(Duration.ofMinutes(100)) + "\"}").json();
        assertEquals(FULL, between.getString("backup_id"), "the newest backup that ends before to_time");
        assertEquals("time", between.getJsonObject("recovery").getString("kind"));
        JsonObject afterIncr = request(h.serviceToken, base + "\"to_time\": \"2026-11-24T08:30:00+00:00\"}").json();
        assertEquals(INCR, afterIncr.getString("backup_id"));
        assertEquals("2026-11-24T08:30:00Z", afterIncr.getJsonObject("recovery").getString("value"));
        JsonObject lsn = request(h.serviceToken, base + "\"to_lsn\": \"0/4000000\"}").json();
        assertEquals(FULL, lsn.getString("backup_id"), "the incremental stops after that LSN");
        JsonObject byId = request(h.serviceToken, base + "\"backup\": \"" + FULL + "\"}").json();
        assertEquals(FULL, byId.getString("backup_id"));
        assertEquals("latest", byId.getJsonObject("recovery").getString("kind"));

        assertEquals(404, request(h.serviceToken, base + "\"to_time\": \"" + T0.minus(Duration.ofHours(5)) + "\"}").status(),
                "no backup ends before that time");
        assertEquals(400, request(h.serviceToken, base + "\"to_time\": \"" + T0.plusSeconds(60) + "\"}").status(), "a time in the future");
        assertEquals(400, request(h.serviceToken, base + "\"to_time\": \"yesterday-ish\"}").status());
        assertEquals(409, request(h.serviceToken, base + "\"backup\": \"" + INCR + "\", \"to_time\": \"" + T0.minus(Duration.ofHours(2))
                + "\"}").status(), "that backup ends after to_time");
        assertEquals(404, request(h.serviceToken, base + "\"backup\": \"20260101T000000Z-full\"}").status());
        assertEquals(400, request(h.serviceToken, base + "\"to_lsn\": \"0/1\", \"immediate\": true}").status(), "one recovery target");
        assertEquals(404, request(h.serviceToken, "{\"host\": \"db9\", \"source\": \"main\", \"target\": \"/var/lib/holdfast/restore/p\"}")
                .status(), "unknown target host");
    }

    @Test
    void latestIsTheTargetHostsOwnClusterAndTheStricterPolicyApplies() throws Exception {
        // db2 also has a source "main" (another cluster), with a newer backup than db1's.
        ApiHarness.await(h.catalog.replaceSources("db1", List.of(new dev.holdfast.controller.catalog.SourceRecord("db1", "main", "postgres",
                "7301", "15.8", "stream", Optional.empty()))));
        ApiHarness.await(h.catalog.replaceSources("db2", List.of(new dev.holdfast.controller.catalog.SourceRecord("db2", "main", "postgres",
                "7302", "15.8", "stream", Optional.empty()))));
        ApiHarness.await(h.catalog.upsertBackup(new BackupRecord("main", "7302", "20261124T085500Z-full", "db2", "full", "adhoc", "complete",
                Optional.of(T0.minus(Duration.ofMinutes(5))), Optional.of(T0.minus(Duration.ofMinutes(4))), "0/2000028", "0/6000100", 1,
                Optional.empty(), 100, 50, Optional.empty())));
        JsonObject own = request(h.serviceToken, "{\"host\": \"db1\", \"source\": \"main\", \"target\": \"/var/lib/holdfast/restore/o\"}")
                .json();
        assertEquals(INCR, own.getString("backup_id"), "db1's newest, not db2's newer backup of another cluster: " + own);
        assertEquals("7301", own.getString("system_id"));
        // db2's cluster restored onto db2 falls under db2's policy (default, 1 approval); db1's backup
        // named onto db2 needs db1's two approvals: the stricter of the two.
        JsonObject theirs = request(h.serviceToken, "{\"host\": \"db2\", \"source\": \"main\", \"target\": \"/var/lib/holdfast/restore/t\"}")
                .json();
        assertEquals("20261124T085500Z-full", theirs.getString("backup_id"), theirs::encode);
        assertEquals(1, theirs.getInteger("approvals_required"), theirs::encode);
    }

    @Test
    void targetsAreCheckedBeforeAnythingIsStored() throws Exception {
        String base = "{\"host\": \"db2\", \"source\": \"cache\", \"target\": ";
        for (String t : List.of("/srv/elsewhere", "/var/lib/holdfast/restore/../../etc", "/var/lib/holdfast/restore/x/",
                "/var/lib/holdfast/restore//x", "/var/lib/holdfast/restore/%2e%2e/x", "/var/lib/holdfast/restore-evil")) {
            ApiHarness.Response r = request(h.serviceToken, base + new JsonObject().put("t", t).getValue("t").toString().transform(
                    x -> "\"" + x + "\"}"));
            assertEquals(403, r.status(), t + ": " + r.body());
            assertEquals("target_not_allowed", r.errorCode());
        }
        assertEquals(400, request(h.serviceToken, base + "\"relative/x\"}").status());
        assertTrue(h.get("/api/v1/restores", h.analystToken).json().getJsonArray("items").isEmpty());
    }

    @Test
    void aSingleApprovalMayBeTheRequestersAndAnUndeliveredGrantExpires() throws Exception {
        String id = request(h.serviceToken, "{\"host\": \"db2\", \"source\": \"cache\", \"target\": \"/var/lib/holdfast/restore/c\"}")
                .json().getString("id");
        JsonObject a = approve(h.serviceToken, id).json();
        assertEquals("approved", a.getString("state"), "approvals: 1 lets the requester approve");
        assertEquals(T0.plus(Duration.ofMinutes(10)).toString(), a.getJsonObject("grant").getString("expires_at"), "the default grant_ttl");
        ApiHarness.await(h.restores.expire());
        assertEquals("approved", h.get("/api/v1/restores/" + id, h.analystToken).json().getString("state"));
        h.clock.advance(Duration.ofMinutes(11).plusSeconds(1));
        ApiHarness.await(h.restores.expire());
        JsonObject r = h.get("/api/v1/restores/" + id, h.analystToken).json();
        assertEquals("expired", r.getString("state"), r::encode);
        assertEquals("grant_expired", r.getJsonObject("error").getString("code"));
        assertNotNull(r.getString("finished_at"));
        assertTrue(audit(id).stream().anyMatch(e -> e.action().equals("restore.expired") && e.outcome().equals("refused")));
        List<Object> ids = h.get("/api/v1/restores", h.analystToken).json().getJsonArray("items").stream()
                .map(o -> ((JsonObject) o).getString("id")).map(Object.class::cast).toList();
        assertEquals(List.of(id), ids);
    }
}
