package dev.holdfast.controller.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.Tokens;
import dev.holdfast.controller.catalog.ApiTokenRecord;
import dev.holdfast.controller.catalog.AuditRecord;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issuing API and enrolment tokens, and using what was issued. */
class ApiTokensTest {
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

    @Test
    void anIssuedTokenWorksWithItsRoleAndOnlyItsHashIsStored() throws Exception {
        ApiHarness.Response r = h.call("POST", "/api/v1/tokens", h.adminToken, "{\"role\": \"analyst\", \"name\": \"dashboards\"}",
                "X-Request-Id", "issue-1");
        assertEquals(201, r.status(), r.body());
        assertEquals("no-store", r.header("Cache-Control"));
        String token = r.json().getString("token");
        assertEquals("analyst", r.json().getString("role"));
        assertEquals("dashboards", r.json().getString("name"));
        assertTrue(token.matches("hfa_[A-Za-z0-9_-]{43}"), token);

        ApiTokenRecord stored = ApiHarness.await(h.catalog.apiToken(Tokens.hash(token))).orElseThrow();
        assertEquals("analyst", stored.role());
        assertEquals("bootstrap-admin", stored.createdBy());
        assertEquals(200, h.get("/api/v1/backups", token).status());
        ApiHarness.Response denied = h.call("POST", "/api/v1/backups", token, "{\"host\": \"db1\", \"source\": \"main\", \"type\": \"full\"}");
        assertEquals(403, denied.status());
        assertEquals("permission_denied", denied.errorCode());
        assertTrue(denied.errorMessage().contains("role analyst may not POST /api/v1/backups"), denied.errorMessage());

        AuditRecord a = h.auditLog().stream().filter(e -> e.requestId().equals("issue-1")).findFirst().orElseThrow();
        assertEquals("token.create", a.action());
        assertEquals("ok", a.outcome());
        assertEquals("token:dashboards", a.object());
        assertEquals("bootstrap-admin", a.actor());
        assertFalse(a.toString().contains(token), "the audit entry never holds the token");
        assertFalse(h.logText().contains(token), "the log never holds the token");
    }

    @Test
    void aRevokedTokenIsRefusedAtOnceAndATokenCannotRevokeItself() throws Exception {
        String token = h.call("POST", "/api/v1/tokens", h.adminToken, "{\"role\": \"admin\", \"name\": \"leaked\"}").json()
                .getString("token");
        assertEquals(200, h.get("/api/v1/agents", token).status());
        ApiHarness.Response self = h.call("DELETE", "/api/v1/tokens/leaked", token, null);
        assertEquals(409, self.status(), self.body());
        ApiHarness.Response revoked = h.call("DELETE", "/api/v1/tokens/leaked", h.adminToken, null);
        assertEquals(200, revoked.status(), revoked.body());
        assertEquals(1, revoked.json().getInteger("revoked"));
        assertEquals(401, h.get("/api/v1/agents", token).status(), "refused from the next request on");
        assertEquals(404, h.call("DELETE", "/api/v1/tokens/leaked", h.adminToken, null).status());
        assertTrue(ApiHarness.await(h.catalog.apiToken(Tokens.hash(token))).isEmpty(), "its hash is gone");
    }

    @Test
    void aServiceTokenMayRequestBackupsButNotIssueTokens() throws Exception {
        JsonObject issued = h.call("POST", "/api/v1/tokens", h.adminToken, "{\"role\": \"service\"}").json();
        String token = issued.getString("token");
        assertTrue(issued.getString("name").matches("service-[0-9a-f]{8}"), "a default name tells tokens apart: " + issued);
        ApiHarness.Response ok = h.call("POST", "/api/v1/backups", token, "{\"host\": \"db2\", \"source\": \"main\", \"type\": \"logical\"}");
        assertEquals(202, ok.status(), ok.body());
        assertEquals(issued.getString("name"), h.backups.calls.get(h.backups.calls.size() - 1).actor().name());
        assertEquals(403, h.call("POST", "/api/v1/tokens", token, "{\"role\": \"admin\"}").status());
        assertEquals(403, h.call("POST", "/api/v1/enrolment-tokens", token, "{\"host\": \"db2\"}").status());
    }

    @Test
    void anAdminTokenCanIssueAnotherAdmin() throws Exception {
        String admin2 = h.call("POST", "/api/v1/tokens", h.adminToken, "{\"role\": \"admin\", \"name\": \"ops@example\"}").json()
                .getString("token");
        ApiHarness.Response r = h.call("POST", "/api/v1/tokens", admin2, "{\"role\": \"analyst\"}", "X-Request-Id", "by-admin2");
        assertEquals(201, r.status());
        AuditRecord a = h.auditLog().stream().filter(e -> e.requestId().equals("by-admin2")).findFirst().orElseThrow();
        assertEquals("ops@example", a.actor());
    }

    @Test
    void enrolmentTokensComeFromTheEnrolmentServiceForTheNamedHost() throws Exception {
        ApiHarness.Response r = h.call("POST", "/api/v1/enrolment-tokens", h.adminToken, "{\"host\": \"db7\"}", "X-Request-Id", "enrol-7");
        assertEquals(201, r.status(), r.body());
        assertEquals("hfe_test-db7", r.json().getString("token"));
        assertEquals("2026-11-24T10:00:00Z", r.json().getString("expires_at"));
        ApiHarness.RecordingIssuer.Call call = h.issuer.calls.get(h.issuer.calls.size() - 1);
        assertEquals("db7", call.host());
        assertEquals(new Actor("bootstrap-admin", Role.ADMIN), call.actor());
        assertEquals("enrol-7", call.requestId());
        List<AuditRecord> a = h.auditLog().stream().filter(e -> e.requestId().equals("enrol-7")).toList();
        assertEquals(1, a.size());
        assertEquals("enrolment_token.create", a.get(0).action());
        assertEquals("host:db7", a.get(0).object());
        assertFalse(a.get(0).detail().contains("hfe_"));
    }

    @Test
    void aJsonBodySentAsCurlDoesByDefaultIsAccepted() throws Exception {
        // curl -d sends Content-Type: application/x-www-form-urlencoded unless told otherwise.
        java.net.http.HttpRequest req = java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + h.server.actualPort() + "/api/v1/tokens"))
                .header("Authorization", "Bearer " + h.adminToken).header("Content-Type", "application/x-www-form-urlencoded")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"role\": \"analyst\", \"name\": \"curl\"}")).build();
        java.net.http.HttpResponse<String> r = h.http.send(req, java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(201, r.statusCode(), r.body());
        assertEquals("curl", new JsonObject(r.body()).getString("name"));
    }

    @Test
    void aTokenThatIsNotBearerOrIsMangledIsUnauthenticated() throws Exception {
        ApiHarness.Response basic = h.call("GET", "/api/v1/agents", null, null, "Authorization", "Basic YWRtaW46YWRtaW4=");
        assertEquals(401, basic.status());
        assertEquals("unauthenticated", basic.errorCode());
        ApiHarness.Response truncated = h.get("/api/v1/agents", h.adminToken.substring(0, h.adminToken.length() - 1));
        assertEquals(401, truncated.status());
        assertTrue(truncated.header("WWW-Authenticate").contains("invalid_token"));
        assertEquals(200, h.call("GET", "/api/v1/agents", null, null, "Authorization", "bearer " + h.adminToken).status(),
                "the scheme is case-insensitive");
    }
}
