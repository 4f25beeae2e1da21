package dev.holdfast.controller.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.catalog.AgentRecord;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.SourceRecord;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The RBAC matrix: every endpoint x {admin, service, analyst, no token, unknown token}, against the
 * real router on a real HTTP server. The table below is the specification (docs/api.md "Roles");
 * it must list exactly the routes of {@link ApiRouter#ROUTES}, so a route added without a row (or a
 * row without a route) fails {@link #theTableCoversEveryRouteAndNothingElse()}.
 */
class ApiRbacMatrixTest {
    /** One endpoint: its route key, a concrete request, who may call it and what an allowed call answers. */
    record Row(String method, String route, String path, String body, Right right, int allowedStatus) {
        String key() {
            return method + " " + route;
        }
    }

    static final String V1 = "/api/v1";
    static final List<Row> TABLE = List.of(
            new Row("GET", V1 + "/agents", V1 + "/agents", null, Right.READ, 200),
            new Row("GET", V1 + "/agents/:host", V1 + "/agents/db1", null, Right.READ, 200),
            new Row("POST", V1 + "/agents/:host/revoke", V1 + "/agents/db1/revoke", "{}", Right.ADMINISTER, 200),
            new Row("GET", V1 + "/sources", V1 + "/sources", null, Right.READ, 200),
            new Row("GET", V1 + "/backups", V1 + "/backups", null, Right.READ, 200),
            new Row("POST", V1 + "/backups", V1 + "/backups", "{\"host\": \"db1\", \"source\": \"main\", \"type\": \"full\"}",
                    Right.OPERATE, 202),
            new Row("GET", V1 + "/snapshots", V1 + "/snapshots", null, Right.READ, 200),
            new Row("GET", V1 + "/jobs", V1 + "/jobs", null, Right.READ, 200),
            new Row("GET", V1 + "/jobs/:id", V1 + "/jobs/no-such-job", null, Right.READ, 404),
            new Row("POST", V1 + "/verify/:id", V1 + "/verify/20261123T090000Z-full", "{}", Right.OPERATE, 409),
            new Row("POST", V1 + "/restores", V1 + "/restores", "{\"host\": \"db1\", \"source\": \"main\", \"backup\": \"latest\","
                    + " \"target\": \"/var/lib/holdfast/restore/x\"}", Right.OPERATE, 202),
            new Row("GET", V1 + "/restores", V1 + "/restores", null, Right.READ, 200),
            new Row("GET", V1 + "/restores/:id", V1 + "/restores/r1", null, Right.READ, 404),
            new Row("POST", V1 + "/restores/:id/approve", V1 + "/restores/r1/approve", "{}", Right.OPERATE, 404),
            new Row("GET", V1 + "/drills", V1 + "/drills", null, Right.READ, 200),
            new Row("POST", V1 + "/drills", V1 + "/drills", "{\"host\": \"db1\", \"source\": \"main\"}", Right.OPERATE, 202),
            new Row("GET", V1 + "/audit", V1 + "/audit", null, Right.READ, 200),
            new Row("GET", V1 + "/policies", V1 + "/policies", null, Right.READ, 200),
            new Row("GET", V1 + "/policies/:name", V1 + "/policies/critical", null, Right.READ, 200),
            new Row("PUT", V1 + "/policies/:name", V1 + "/policies/critical", "{}", Right.ADMINISTER, 501),
            new Row("GET", V1 + "/policies/:name/plan", V1 + "/policies/critical/plan", null, Right.READ, 503),
            new Row("POST", V1 + "/policies/:name/enforce", V1 + "/policies/critical/enforce", "{}", Right.ADMINISTER, 503),
            new Row("POST", V1 + "/tokens", V1 + "/tokens", "{\"role\": \"analyst\"}", Right.ADMINISTER, 201),
            new Row("DELETE", V1 + "/tokens/:name", V1 + "/tokens/doomed", null, Right.ADMINISTER, 200),
            new Row("POST", V1 + "/enrolment-tokens", V1 + "/enrolment-tokens", "{\"host\": \"db9\"}", Right.ADMINISTER, 201),
            new Row("GET", "/metrics", "/metrics", null, Right.READ, 200));

    /** Who calls: a role, no token, or a token the controller never issued. */
    enum Caller { ADMIN, SERVICE, ANALYST, NONE, UNKNOWN }

    @TempDir
    static Path dir;
    static ApiHarness h;
    static final AtomicInteger seq = new AtomicInteger();

    @BeforeAll
    static void start() throws Exception {
        h = new ApiHarness(dir);
        ApiHarness.await(h.catalog.upsertAgent(new AgentRecord("db1", "0.1.0", List.of("postgres"), ApiHarness.T0, Optional.empty(),
                false, "0a1b", ApiHarness.T0.plusSeconds(86400))));
        ApiHarness.await(h.catalog.replaceSources("db1", List.of(new SourceRecord("db1", "main", "postgres", "7301", "15.8", "stream",
                Optional.empty()))));
        // What the POST /restores row restores (latest resolves to it).
        ApiHarness.await(h.catalog.upsertBackup(new dev.holdfast.controller.catalog.BackupRecord("main", "7301", "20261123T090000Z-full",
                "db1", "full", "adhoc", "complete", Optional.of(ApiHarness.T0.minusSeconds(3600)), Optional.of(ApiHarness.T0.minusSeconds(1800)),
                "0/3000028", "0/3000138", 1, Optional.empty(), 100, 50, Optional.empty())));
        // What the admin's DELETE /tokens/{name} row revokes.
        ApiHarness.await(h.catalog.insertApiToken(new dev.holdfast.controller.catalog.ApiTokenRecord(
                dev.holdfast.controller.Tokens.hash("hfa_doomedTokenOfTheRbacMatrix0000000000000000"), "analyst", "doomed",
                ApiHarness.T0, "test")));
    }

    @AfterAll
    static void stop() throws Exception {
        h.close();
    }

    @Test
    void theTableCoversEveryRouteAndNothingElse() {
        Set<String> routes = ApiRouter.ROUTES.stream().map(ApiRoute::label).collect(Collectors.toCollection(LinkedHashSet::new));
        Set<String> rows = TABLE.stream().map(Row::key).collect(Collectors.toCollection(LinkedHashSet::new));
        Set<String> missing = new LinkedHashSet<>(routes);
        missing.removeAll(rows);
        Set<String> extra = new LinkedHashSet<>(rows);
        extra.removeAll(routes);
        assertTrue(missing.isEmpty(), () -> "routes without a row in the RBAC table: " + missing);
        assertTrue(extra.isEmpty(), () -> "rows for routes that do not exist: " + extra);
        assertEquals(TABLE.size(), ApiRouter.ROUTES.size(), "one row per route");
        for (ApiRoute r : ApiRouter.ROUTES) {
            Row row = TABLE.stream().filter(x -> x.key().equals(r.label())).findFirst().orElseThrow();
            assertEquals(row.right(), r.right(), () -> r.label() + " declares a different right than the table");
            assertEquals(!r.method().name().equals("GET"), r.auditAction().isPresent(), () -> r.label() + ": mutations, and only they, are audited");
        }
    }

    @TestFactory
    List<DynamicTest> everyEndpointForEveryCaller() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Row row : TABLE) {
            for (Caller caller : Caller.values()) {
                tests.add(DynamicTest.dynamicTest(row.key() + " as " + caller, () -> check(row, caller)));
            }
        }
        return tests;
    }

    private static void check(Row row, Caller caller) throws Exception {
        String token = switch (caller) {
            case ADMIN -> h.adminToken;
            case SERVICE -> h.serviceToken;
            case ANALYST -> h.analystToken;
            case NONE -> null;
            case UNKNOWN -> "hfa_thisTokenWasNeverIssuedByTheControllerAtAll00000";
        };
        String requestId = "rbac-" + seq.incrementAndGet();
        ApiHarness.Response r = h.call(row.method(), row.path(), token, row.body(), "X-Request-Id", requestId);
        assertEquals(requestId, r.header("X-Request-Id"), "the request id is echoed");
        int expected;
        String code;
        if (caller == Caller.NONE || caller == Caller.UNKNOWN) {
            expected = 401;
            code = "unauthenticated";
            assertNotNull(r.header("WWW-Authenticate"), "401 names the scheme");
            assertTrue(r.header("WWW-Authenticate").startsWith("Bearer"));
        } else if (!Role.valueOf(caller.name()).may(row.right())) {
            expected = 403;
            code = "permission_denied";
        } else {
            expected = row.allowedStatus();
            code = switch (expected) {
                case 404 -> "not_found";
                case 501 -> "not_implemented";
                default -> null;
            };
        }
        assertEquals(expected, r.status(), () -> row.key() + " as " + caller + ": " + r.body());
        boolean metricsText = row.route().equals("/metrics") && expected == 200;
        String contentType = r.header("Content-Type");
        assertTrue(contentType != null && contentType.startsWith(metricsText ? "text/plain" : "application/json"),
                () -> "content type " + contentType);
        if (code != null) {
            assertEquals(code, r.errorCode(), r.body());
            assertFalse(r.errorMessage().isBlank());
            assertEquals(requestId, r.json().getJsonObject("error").getString("request_id"));
        }
        List<AuditRecord> entries = h.auditLog().stream().filter(a -> a.requestId().equals(requestId)).toList();
        if (row.method().equals("GET")) {
            assertTrue(entries.isEmpty(), "reads are not audited");
        } else {
            assertEquals(1, entries.size(), () -> "one audit entry for " + row.key() + " as " + caller + ": " + entries);
            AuditRecord a = entries.get(0);
            String outcome = expected < 300 ? "ok" : expected >= 500 ? "failed" : "refused";
            assertEquals(outcome, a.outcome());
            switch (caller) {
                case NONE, UNKNOWN -> {
                    assertEquals("anonymous", a.actor());
                    assertEquals("none", a.role());
                }
                case ADMIN -> assertEquals("bootstrap-admin", a.actor());
                case SERVICE -> assertEquals("ci-runner", a.actor());
                case ANALYST -> assertEquals("grafana", a.actor());
            }
            if (caller != Caller.NONE && caller != Caller.UNKNOWN) {
                assertEquals(caller.name().toLowerCase(java.util.Locale.ROOT), a.role());
            }
            assertFalse(a.detail().contains("hfa_"), "no token in the audit log");
        }
    }
}
