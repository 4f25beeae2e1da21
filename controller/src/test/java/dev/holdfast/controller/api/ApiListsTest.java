package dev.holdfast.controller.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.catalog.AgentRecord;
import dev.holdfast.controller.catalog.BackupRecord;
import dev.holdfast.controller.catalog.SourceLiveState;
import dev.holdfast.controller.catalog.SourceRecord;
import io.vertx.core.json.JsonArray;
import dev.holdfast.controller.catalog.AuditRecord;
import io.vertx.core.json.JsonObject;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The lists: their JSON bodies, and pagination that walks every item exactly once. */
class ApiListsTest {
    static final int BACKUPS = 250;
    @TempDir
    static Path dir;
    static ApiHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = new ApiHarness(dir);
        for (int i = 0; i < BACKUPS; i++) {
            Instant at = ApiHarness.T0.minusSeconds(3600L * (i + 1));
            // Every third backup is incomplete: the snapshots list skips it.
            ApiHarness.await(h.catalog.upsertBackup(new BackupRecord(i % 2 == 0 ? "main" : "cache", "7301", String.format("b%04d", i), "db1",
                    "full", "daily", i % 3 == 0 ? "incomplete" : "complete", Optional.of(at), Optional.of(at.plusSeconds(60)), "0/3000028",
                    "0/3000138", 1, Optional.empty(), 1000 + i, 100 + i, Optional.empty())));
        }
        for (int i = 0; i < 12; i++) {
            String host = String.format("db%02d", i);
            ApiHarness.await(h.catalog.upsertAgent(new AgentRecord(host, "0.1.0", List.of("postgres"), ApiHarness.T0.minusSeconds(86400),
                    Optional.of(ApiHarness.T0.minusSeconds(5)), i % 2 == 0, "0a" + i, ApiHarness.T0.plusSeconds(3600))));
            ApiHarness.await(h.catalog.replaceSources(host, List.of(
                    new SourceRecord(host, "main", "postgres", "7301", "15.8", "stream", Optional.of(new SourceLiveState(ApiHarness.T0, 1.5, 0.25,
                            "0/5A0001C8", Optional.of(Instant.parse("2026-11-24T08:59:58.750Z")), "streaming", ""))),
                    new SourceRecord(host, "cache", "redis", "", "7.2", "", Optional.empty()))));
        }
    }

    @AfterAll
    static void stop() throws Exception {
        h.close();
    }

    /** Walks a list with {@code limit}, returning every item; checks that no page exceeds the limit. */
    static List<JsonObject> walk(String path, int limit) throws Exception {
        List<JsonObject> all = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            String sep = path.contains("?") ? "&" : "?";
            ApiHarness.Response r = h.get(path + sep + "limit=" + limit
                    + (cursor == null ? "" : "&cursor=" + URLEncoder.encode(cursor, StandardCharsets.UTF_8)), h.analystToken);
            assertEquals(200, r.status(), r.body());
            JsonObject body = r.json();
            JsonArray items = body.getJsonArray("items");
            assertTrue(items.size() <= limit, "a page holds at most limit items");
            items.forEach(i -> all.add((JsonObject) i));
            cursor = body.getString("next");
            assertTrue(++pages < 10_000, "pagination ends");
        } while (cursor != null);
        return all;
    }

    @Test
    void paginationWalksEveryBackupExactlyOnceNewestFirst() throws Exception {
        for (int limit : new int[] {7, 100, 1000}) {
            // Pending jobs (another test queues one) come first and have no backup id yet.
            List<JsonObject> all = walk("/api/v1/backups", limit);
            List<String> ids = all.stream().map(o -> o.getString("id")).filter(java.util.Objects::nonNull).toList();
            assertEquals(BACKUPS, ids.size(), "limit " + limit);
            assertEquals(BACKUPS, new HashSet<>(ids).size(), "no repeats with limit " + limit);
            assertEquals("b0000", ids.get(0));
            assertEquals(String.format("b%04d", BACKUPS - 1), ids.get(BACKUPS - 1));
        }
        List<JsonObject> main = walk("/api/v1/backups?source=main", 9).stream().filter(o -> o.getString("id") != null).toList();
        assertEquals(BACKUPS / 2, main.size());
        assertTrue(main.stream().allMatch(o -> o.getString("source").equals("main")));
        JsonObject b = walk("/api/v1/backups", 1000).stream().filter(o -> "b0001".equals(o.getString("id"))).findFirst().orElseThrow();
        assertEquals("b0001", b.getString("id"));
        assertEquals("db1", b.getString("host"));
        assertEquals("cache", b.getString("source"));
        assertEquals("complete", b.getString("state"));
        assertEquals("2026-11-24T07:00:00Z", b.getString("started_at"));
        assertEquals(1001, b.getLong("bytes"));
        assertEquals(101, b.getLong("stored_bytes"));
        assertEquals("0/3000138", b.getString("stop_lsn"));
    }

    @Test
    void snapshotsAreTheCompleteBackupsPagedWithoutLossOrRepeat() throws Exception {
        Set<String> expected = new HashSet<>();
        for (int i = 0; i < BACKUPS; i++) {
            if (i % 3 != 0) {
                expected.add(String.format("b%04d", i));
            }
        }
        for (int limit : new int[] {1, 6, 7, 1000}) {
            List<String> ids = walk("/api/v1/snapshots", limit).stream().map(o -> o.getString("id")).toList();
            assertEquals(expected.size(), ids.size(), "limit " + limit);
            assertEquals(expected, new HashSet<>(ids), "limit " + limit);
        }
    }

    @Test
    void aBackupRequestedThroughTheApiIsListedAsAQueuedJobUntilItRuns() throws Exception {
        ApiHarness.Response post = h.call("POST", "/api/v1/backups", h.serviceToken,
                "{\"host\": \"db03\", \"source\": \"main\", \"type\": \"incr\", \"tag\": \"pre-upgrade\"}");
        assertEquals(202, post.status(), post.body());
        String jobId = post.json().getString("id");
        assertEquals("queued", post.json().getString("state"));
        ApiHarness.RecordingBackupRequests.Call call = h.backups.calls.get(h.backups.calls.size() - 1);
        assertEquals(new Actor("ci-runner", Role.SERVICE), call.actor());
        assertEquals("pre-upgrade", call.tag());
        assertEquals(post.header("X-Request-Id"), call.requestId());

        JsonObject first = h.get("/api/v1/backups?limit=3", h.analystToken).json();
        JsonObject pending = first.getJsonArray("items").getJsonObject(0);
        assertEquals(jobId, pending.getString("job_id"));
        assertNull(pending.getString("id"), "no backup id before the backup exists");
        assertEquals("queued", pending.getString("state"));
        assertEquals("db03", pending.getString("host"));
        assertEquals("incr", pending.getString("type"));
        List<JsonObject> all = walk("/api/v1/backups", 4);
        assertEquals(BACKUPS + 1, all.size(), "the job, then every backup");

        JsonObject job = h.get("/api/v1/jobs/" + jobId, h.analystToken).json();
        assertEquals("queued", job.getString("state"));
        assertEquals("backup", job.getString("kind"));
        assertEquals("api", job.getString("trigger"));
        assertEquals("ci-runner", job.getString("requested_by"));
        assertEquals(ApiHarness.T0.toString(), job.getString("created_at"));
        assertEquals(0, job.getJsonObject("progress").getLong("done_bytes"));
        assertTrue(walk("/api/v1/jobs", 1).stream().anyMatch(j -> j.getString("id").equals(jobId)));
    }

    @Test
    void agentsListTheirSourcesAndCertificateExpiry() throws Exception {
        List<JsonObject> agents = walk("/api/v1/agents", 5);
        assertEquals(12, agents.size());
        JsonObject a = agents.get(2);
        assertEquals("db02", a.getString("host"));
        assertEquals(true, a.getBoolean("connected"));
        assertEquals("2026-11-24T08:59:55Z", a.getString("last_seen"));
        assertEquals("0.1.0", a.getString("agent_version"));
        assertEquals("2026-11-24T10:00:00Z", a.getString("certificate_expires_at"));
        assertEquals(new JsonArray().add("cache").add("main"), a.getJsonArray("sources"));
        assertEquals(a, h.get("/api/v1/agents/db02", h.analystToken).json());
    }

    @Test
    void sourcesCarryTheirLiveState() throws Exception {
        List<JsonObject> sources = walk("/api/v1/sources", 5);
        assertEquals(24, sources.size());
        JsonObject main = sources.stream().filter(s -> s.getString("host").equals("db00") && s.getString("name").equals("main"))
                .findFirst().orElseThrow();
        assertEquals("postgres", main.getString("type"));
        assertEquals("7301", main.getString("system_id"));
        JsonObject live = main.getJsonObject("live");
        assertEquals(1.5, live.getDouble("rpo_seconds"));
        assertEquals(0.25, live.getDouble("lag_seconds"));
        assertEquals("0/5A0001C8", live.getString("last_durable_lsn"));
        assertEquals("2026-11-24T08:59:58.750Z", live.getString("last_durable_at"));
        assertEquals("streaming", live.getString("state"));
        JsonObject cache = sources.stream().filter(s -> s.getString("host").equals("db00") && s.getString("name").equals("cache"))
                .findFirst().orElseThrow();
        assertNull(cache.getValue("live"));
    }

    @Test
    void policiesComeFromTheConfiguration() throws Exception {
        List<JsonObject> policies = walk("/api/v1/policies", 1);
        assertEquals(List.of("critical", "default"), policies.stream().map(p -> p.getString("name")).toList());
        JsonObject critical = policies.get(0);
        assertEquals("Europe/Berlin", critical.getString("time_zone"));
        assertEquals(60, critical.getLong("jitter_seconds"));
        assertEquals(new JsonArray().add("db1/*"), critical.getJsonArray("sources"));
        assertEquals(List.of("daily", "hourly"), new ArrayList<>(critical.getJsonObject("schedules").fieldNames()));
        assertEquals("0 * * * *", critical.getJsonObject("schedules").getJsonObject("hourly").getString("cron"));
        JsonObject dflt = policies.get(1);
        assertEquals(List.of("daily", "weekly", "monthly"), new ArrayList<>(dflt.getJsonObject("schedules").fieldNames()));
        assertEquals("0 3 * * SUN", dflt.getJsonObject("schedules").getJsonObject("weekly").getString("cron"));
        assertEquals(604800, dflt.getJsonObject("retention").getLong("pitr_window_seconds"));
        assertEquals(7, dflt.getJsonObject("retention").getInteger("daily"));
        assertEquals(new JsonArray().add("/var/lib/holdfast/restore"), dflt.getJsonObject("restore").getJsonArray("allowed_targets"));
        assertEquals(dflt, h.get("/api/v1/policies/default", h.analystToken).json());
    }

    @Test
    void theAuditLogIsPagedOldestFirst() throws Exception {
        for (int i = 0; i < 5; i++) {
            h.call("POST", "/api/v1/tokens", h.analystToken, "{\"role\": \"admin\"}", "X-Request-Id", "escalate-" + i);
        }
        List<JsonObject> audit = walk("/api/v1/audit", 2);
        List<Long> seqs = audit.stream().map(a -> a.getLong("seq")).toList();
        assertEquals(seqs.stream().sorted().toList(), seqs);
        List<JsonObject> refused = audit.stream().filter(a -> a.getString("request_id").startsWith("escalate-")).toList();
        assertEquals(5, refused.size());
        JsonObject e = refused.get(0);
        assertEquals("token.create", e.getString("action"));
        assertEquals("refused", e.getString("outcome"));
        assertEquals("grafana", e.getString("actor"));
        assertEquals("analyst", e.getString("role"));
        assertTrue(e.getString("detail").startsWith("permission_denied: "), e.getString("detail"));
        assertEquals(ApiHarness.T0.toString(), e.getString("at"));
    }

    @Test
    void auditEntriesCarryTheirChainMacAndTheJsonlExportVerifies() throws Exception {
        for (int i = 0; i < 3; i++) {
            h.call("POST", "/api/v1/tokens", h.analystToken, "{\"role\": \"admin\"}", "X-Request-Id", "chain-" + i);
        }
        List<JsonObject> audit = walk("/api/v1/audit", 2);
        dev.holdfast.controller.audit.AuditKey key = h.catalog.auditKey().orElseThrow();
        dev.holdfast.controller.audit.AuditMac prev = dev.holdfast.controller.audit.AuditMac.GENESIS;
        for (JsonObject a : audit) {
            AuditRecord r = new AuditRecord(a.getLong("seq"), java.time.Instant.parse(a.getString("at")), a.getString("request_id"),
                    a.getString("actor"), a.getString("role"), a.getString("action"), a.getString("object"), a.getString("outcome"),
                    a.getString("detail"));
            prev = dev.holdfast.controller.audit.AuditChain.link(key, prev, r);
            assertEquals(prev.hex(), a.getString("mac"), a.encode());
        }

        ApiHarness.Response jsonl = h.get("/api/v1/audit?format=jsonl", h.analystToken);
        assertEquals(200, jsonl.status(), jsonl.body());
        assertEquals("application/jsonl", jsonl.header("content-type"));
        var parsed = dev.holdfast.controller.audit.AuditJsonl.parse(jsonl.body().getBytes(java.nio.charset.StandardCharsets.UTF_8), "api");
        var v = dev.holdfast.controller.audit.AuditVerifier.export(key, parsed, "api");
        assertEquals(audit.size(), v.count());
        assertEquals(prev, v.lastMac());

        ApiHarness.Response later = h.get("/api/v1/audit?format=jsonl&after=2", h.analystToken);
        var tail = dev.holdfast.controller.audit.AuditJsonl.parse(later.body().getBytes(java.nio.charset.StandardCharsets.UTF_8), "api");
        assertEquals(3, dev.holdfast.controller.audit.AuditVerifier.export(key, tail, "api").firstSeq());
        assertEquals("usage", h.get("/api/v1/audit?format=jsonl&after=x", h.analystToken).errorCode());
    }
}
