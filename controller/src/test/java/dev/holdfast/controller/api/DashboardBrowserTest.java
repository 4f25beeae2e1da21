package dev.holdfast.controller.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.catalog.AgentRecord;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.BackupRecord;
import dev.holdfast.controller.catalog.JobRecord;
import dev.holdfast.controller.catalog.JobState;
import dev.holdfast.controller.catalog.SourceLiveState;
import dev.holdfast.controller.catalog.SourceRecord;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard in a real headless browser (Debian's Chromium, installed by bin/test): the page
 * loads, runs its script under the page's Content-Security-Policy, calls the real API with the
 * token from the URL fragment and renders what the catalog holds; a string from the catalog that
 * looks like HTML stays text; without a token, or with a wrong one, it asks for one.
 */
class DashboardBrowserTest {
    @TempDir
    static Path dir;
    private static ApiHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = new ApiHarness(Files.createDirectories(dir.resolve("controller")));
        Instant t0 = ApiHarness.T0;
        ApiHarness.await(h.catalog.upsertAgent(new AgentRecord("db1", "0.1.0", List.of("postgres"), t0.minusSeconds(86400),
                Optional.of(t0.minusSeconds(5)), true, "0a1", t0.plusSeconds(3600))));
        ApiHarness.await(h.catalog.replaceSources("db1", List.of(
                new SourceRecord("db1", "main", "postgres", "7301", "15.8", "stream", Optional.of(new SourceLiveState(t0, 1.5, 0.25,
                        "0/5A0001C8", Optional.of(Instant.parse("2026-11-24T08:59:58.750Z")), "streaming", ""))),
                new SourceRecord("db1", "cache", "redis", "", "7.0", "", Optional.empty()))));
        ApiHarness.await(h.catalog.upsertBackup(new BackupRecord("main", "7301", "20261124T020000Z-full", "db1", "full", "daily", "complete",
                Optional.of(t0.minusSeconds(25200)), Optional.of(t0.minusSeconds(25000)), "0/3000028", "0/3000138", 1, Optional.empty(),
                3L << 30, 300L << 20, Optional.empty())));
        ApiHarness.await(h.catalog.insertJob(new JobRecord("j-running", "db1", "main", "backup", "incr", "adhoc", JobState.RUNNING, "api",
                "ci-runner", Optional.empty(), t0.minusSeconds(60), Optional.of(t0.minusSeconds(59)), Optional.of(t0.minusSeconds(58)),
                Optional.empty(), 50, 200, "copy", Optional.empty(), Optional.empty(), Optional.empty(), Map.of())));
        ApiHarness.await(h.catalog.appendAudit(new AuditRecord(0, t0, "req-xss", "mallory", "service", "backup.request",
                "<img src=x id=injected>", "refused", "<script>document.title='pwned'</script>")));
    }

    @AfterAll
    static void stop() throws Exception {
        h.close();
    }

    /** Loads the page in headless Chromium, lets its script run (virtual time), and returns the DOM it ends with. */
    private static String render(String fragment) throws Exception {
        Path profile = Files.createTempDirectory(dir, "chromium");
        String url = "http://127.0.0.1:" + h.server.actualPort() + "/" + fragment;
        List<String> cmd = new ArrayList<>(List.of(chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--user-data-dir=" + profile, "--virtual-time-budget=20000", "--dump-dom", url));
        Process p = new ProcessBuilder(cmd).redirectError(dir.resolve("chromium-" + System.nanoTime() + ".log").toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(3, TimeUnit.MINUTES), "chromium did not finish");
        assertEquals(0, p.exitValue(), "chromium failed");
        return new String(out, StandardCharsets.UTF_8);
    }

    private static String chromium() {
        for (String c : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser")) {
            if (Files.isExecutable(Path.of(c))) {
                return c;
            }
        }
        throw new AssertionError("Chromium is not installed (bin/test installs Debian's chromium package)");
    }

    @Test
    void withATokenThePageRendersTheFleetSourcesJobsBackupsAndAudit() throws Exception {
        String dom = render("#token=" + h.analystToken);
        assertTrue(dom.contains("data-loaded=\"true\""), "the script ran to the end of its first refresh:\n" + dom);
        assertTrue(dom.contains("<td>db1</td>"), dom);
        assertTrue(dom.contains("connected"), dom);
        assertTrue(dom.contains("1.50 s"), "the live RPO of db1/main:\n" + dom);
        assertTrue(dom.contains("streaming"), dom);
        assertTrue(dom.contains("20261124T020000Z-full") && dom.contains("3.0 GiB") && dom.contains("300.0 MiB"), dom);
        assertTrue(dom.contains("<progress max=\"200\" value=\"50\"></progress> 25% copy") || dom.contains("25% copy"), dom);
        // Catalog strings that look like HTML are shown as text: escaped in the DOM, never elements.
        assertTrue(dom.contains("&lt;img src=x id=injected&gt;"), dom);
        assertTrue(dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"), dom);
        assertFalse(dom.contains("id=\"injected\""), dom);
        assertFalse(dom.contains("<title>pwned</title>"), dom);
        // Endpoints this controller does not serve yet say so instead of breaking the page.
        assertTrue(dom.contains("not available in this controller version") || dom.contains("no drill yet"), dom);
        assertFalse(dom.contains(h.analystToken), "the token is taken out of the address and never rendered");
    }

    @Test
    void withoutATokenOrWithAWrongOneItAsksForOne() throws Exception {
        String none = render("");
        assertTrue(none.contains("an API token is needed"), none);
        assertTrue(none.contains("<section id=\"login\">"), "the login section is shown:\n" + none);
        String wrong = render("#token=hfa_not-a-real-token");
        assertTrue(wrong.contains("That token was not accepted"), wrong);
        assertFalse(wrong.contains("<td>db1</td>"), wrong);
    }

    @Test
    void thePageIsServedWithAStrictContentSecurityPolicy() throws Exception {
        ApiHarness.Response r = h.get("/", null);
        assertEquals(200, r.status());
        assertTrue(r.header("Content-Type").startsWith("text/html"), r.header("Content-Type"));
        assertTrue(r.header("Content-Security-Policy").contains("script-src 'self'"), r.header("Content-Security-Policy"));
        assertTrue(r.header("Content-Security-Policy").contains("frame-ancestors 'none'"));
        assertEquals("no-store", r.header("Cache-Control"));
        assertEquals(200, h.get("/dashboard.js", null).status());
        assertEquals(404, h.get("/dashboard.map", null).status());
    }
}
