package dev.holdfast.controller.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.catalog.AuditRecord;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every failure is a JSON error body with a stable code, a status and a message naming what was wrong. */
class ApiErrorsTest {
    @TempDir
    static Path dir;
    static ApiHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = new ApiHarness(dir);
    }

    @AfterAll
    static void stop() throws Exception {
        h.close();
    }

    private static void assertError(ApiHarness.Response r, int status, String code, String messagePart) {
        assertEquals(status, r.status(), r.body());
        assertTrue(r.header("Content-Type").startsWith("application/json"), r.header("Content-Type"));
        assertEquals(code, r.errorCode(), r.body());
        assertTrue(r.errorMessage().contains(messagePart), () -> "message should name '" + messagePart + "': " + r.errorMessage());
    }

    private static ApiHarness.Response postBackup(String body) throws Exception {
        return h.call("POST", "/api/v1/backups", h.serviceToken, body);
    }

    @Test
    void malformedAndIncompleteBodiesAreUsageErrorsNamingTheField() throws Exception {
        int callsBefore = h.backups.calls.size();
        assertError(postBackup("{not json"), 400, "usage", "not a JSON object");
        assertError(postBackup("[1, 2]"), 400, "usage", "not a JSON object");
        assertError(postBackup(""), 400, "usage", "body is required");
        assertError(postBackup("{\"source\": \"main\", \"type\": \"full\"}"), 400, "usage", "'host' is required");
        assertError(postBackup("{\"host\": 7, \"source\": \"main\", \"type\": \"full\"}"), 400, "usage", "'host' must be a string");
        assertError(postBackup("{\"host\": \"db1\", \"source\": \"main\", \"type\": \"differential\"}"), 400, "usage",
                "'type' is invalid: full, incr or logical");
        assertError(postBackup("{\"host\": \"db1\", \"source\": \"../etc\", \"type\": \"full\"}"), 400, "usage", "'source' is invalid");
        assertError(postBackup("{\"host\": \"db1\", \"source\": \"main\", \"type\": \"full\", \"tpye\": \"x\"}"), 400, "usage",
                "unknown field 'tpye'");
        assertError(postBackup("{\"host\": \"db1\", \"source\": \"main\", \"type\": \"full\", \"tag\": \"Not A Tag\"}"), 400, "usage",
                "'tag' is invalid");
        assertError(h.call("POST", "/api/v1/tokens", h.adminToken, "{\"role\": \"root\"}"), 400, "usage", "'role' is invalid");
        assertError(h.call("POST", "/api/v1/enrolment-tokens", h.adminToken, "{}"), 400, "usage", "'host' is required");
        assertError(postBackup("{\"host\": \"db1\", \"source\": \"main\", \"type\": \"full\", \"tag\": \"" + "x".repeat(70 * 1024) + "\"}"),
                400, "usage", "larger than");
        assertEquals(callsBefore, h.backups.calls.size(), "no invalid request reached the job service");
    }

    @Test
    void refusedRequestsAreAuditedWithTheReason() throws Exception {
        ApiHarness.Response r = h.call("POST", "/api/v1/backups", h.serviceToken, "{\"source\": \"main\"}", "X-Request-Id", "bad-body-1");
        assertEquals(400, r.status());
        List<AuditRecord> a = h.auditLog().stream().filter(e -> e.requestId().equals("bad-body-1")).toList();
        assertEquals(1, a.size());
        assertEquals("refused", a.get(0).outcome());
        assertEquals("backup.request", a.get(0).action());
        assertEquals("ci-runner", a.get(0).actor());
        assertTrue(a.get(0).detail().contains("'host' is required"), a.get(0).detail());
    }

    @Test
    void aNeighboursStableErrorIsPassedOn() throws Exception {
        assertError(postBackup("{\"host\": \"nohost\", \"source\": \"main\", \"type\": \"full\"}"), 404, "not_found", "no agent 'nohost'");
    }

    @Test
    void anUnexpectedFailureIsInternalWithoutItsDetailsWhichGoToTheLog() throws Exception {
        ApiHarness.Response r = h.call("POST", "/api/v1/backups", h.serviceToken,
                "{\"host\": \"crash\", \"source\": \"main\", \"type\": \"full\"}", "X-Request-Id", "crash-1");
        assertError(r, 500, "internal", "request id crash-1");
        assertFalse(r.body().contains("hunter2") || r.body().contains("postgresql://") || r.body().contains("IllegalState"), r.body());
        assertTrue(h.logText().contains("api_internal_error") && h.logText().contains("crash-1"), h.logText());
        assertFalse(h.logText().contains("hunter2"), "passwords in an exception's message are masked in the log");
        AuditRecord a = h.auditLog().stream().filter(e -> e.requestId().equals("crash-1")).findFirst().orElseThrow();
        assertEquals("failed", a.outcome());
        assertFalse(a.detail().contains("hunter2"), a.detail());
    }

    @Test
    void unknownRoutesAreNotFoundAndWrongMethodsAre405() throws Exception {
        assertError(h.get("/api/v1/nothing-here", h.adminToken), 404, "not_found", "no such endpoint: GET /api/v1/nothing-here");
        assertError(h.get("/api/v2/agents", null), 404, "not_found", "no such endpoint");
        ApiHarness.Response r = h.call("DELETE", "/api/v1/agents", h.adminToken, null);
        assertError(r, 405, "usage", "DELETE is not allowed");
        assertEquals("GET", r.header("Allow"));
        ApiHarness.Response t = h.get("/api/v1/tokens", h.adminToken);
        assertError(t, 405, "usage", "allowed: POST");
        assertError(h.call("PUT", "/api/v1/backups", h.adminToken, "{}"), 405, "usage", "allowed: GET, POST");
    }

    @Test
    void aRequestIdIsGeneratedWhenAbsentOrUnusableAndEchoedOtherwise() throws Exception {
        ApiHarness.Response a = h.get("/api/v1/agents", h.analystToken);
        ApiHarness.Response b = h.get("/api/v1/agents", h.analystToken);
        assertTrue(a.header("X-Request-Id").matches("[0-9a-f]{24}"), a.header("X-Request-Id"));
        assertNotEquals(a.header("X-Request-Id"), b.header("X-Request-Id"));
        assertEquals("trace-42.a:b", h.call("GET", "/api/v1/agents", h.analystToken, null, "X-Request-Id", "trace-42.a:b")
                .header("X-Request-Id"));
        String odd = h.call("GET", "/api/v1/agents", h.analystToken, null, "X-Request-Id", "has space\"quote").header("X-Request-Id");
        assertTrue(odd.matches("[0-9a-f]{24}"), odd);
        ApiHarness.Response nf = h.get("/nope", null);
        assertEquals(nf.header("X-Request-Id"), nf.json().getJsonObject("error").getString("request_id"));
    }

    @Test
    void badPageParametersAreUsageErrorsNamingTheParameter() throws Exception {
        for (String limit : new String[] {"0", "1001", "-5", "ten", ""}) {
            assertError(h.get("/api/v1/backups?limit=" + limit, h.analystToken), 400, "usage", "'limit'");
        }
        assertError(h.get("/api/v1/backups?cursor=garbage", h.analystToken), 400, "usage", "'cursor'");
        assertError(h.get("/api/v1/snapshots?cursor=e30", h.analystToken), 400, "usage", "'cursor'");
        assertError(h.get("/api/v1/policies?cursor=%21%21", h.analystToken), 400, "usage", "'cursor'");
        assertError(h.get("/api/v1/backups?source=a/b", h.analystToken), 400, "usage", "'source'");
        // The catalog's own cursors (audit, jobs, agents, sources) are checked by the catalog.
        assertError(h.get("/api/v1/audit?cursor=garbage", h.analystToken), 400, "usage", "cursor");
        assertError(h.get("/api/v1/jobs?cursor=W10", h.analystToken), 400, "usage", "cursor");
    }

    @Test
    void notFoundNamesTheMissingObject() throws Exception {
        assertError(h.get("/api/v1/jobs/job-9999", h.analystToken), 404, "not_found", "no job 'job-9999'");
        assertError(h.get("/api/v1/agents/db42", h.analystToken), 404, "not_found", "no agent 'db42'");
        assertError(h.get("/api/v1/policies/gold", h.analystToken), 404, "not_found", "no policy 'gold'");
    }

    @Test
    void endpointsOfTheNextIssueAnswer501WithAStableCode() throws Exception {
        assertError(h.call("PUT", "/api/v1/policies/critical", h.adminToken, "{}"), 501, "not_implemented", "PUT /api/v1/policies/:name");
    }
}
