package dev.holdfast.controller.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.catalog.AgentRecord;
import dev.holdfast.controller.catalog.BackupRecord;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /metrics}: the Prometheus text with the holdfast_ metrics, after the events that feed them. */
class MetricsEndpointTest {
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

    private static String scrape() throws Exception {
        ApiHarness.Response r = h.get("/metrics", h.analystToken);
        assertEquals(200, r.status(), r.body());
        assertTrue(r.header("Content-Type").startsWith("text/plain; version=0.0.4"), r.header("Content-Type"));
        return r.body();
    }

    /** A sample line {@code name{labels} value}, the value compared as a number (1 and 1.0 alike). */
    private static void assertSample(String text, String sample) {
        int sp = sample.lastIndexOf(' ');
        String series = sample.substring(0, sp + 1);
        double value = Double.parseDouble(sample.substring(sp + 1));
        assertTrue(text.lines().anyMatch(l -> l.startsWith(series) && l.indexOf(' ', series.length()) < 0
                && Double.compare(Double.parseDouble(l.substring(series.length())), value) == 0),
                () -> "no line '" + sample + "' in:\n" + text);
    }

    @Test
    void theNamedMetricsAppearAfterTheirEvents() throws Exception {
        h.metrics.backupFinished("succeeded", Duration.ofSeconds(42));
        h.metrics.backupFinished("succeeded", Duration.ofMinutes(20));
        h.metrics.backupFinished("failed", Duration.ofSeconds(3));
        h.metrics.restoreFinished("succeeded", Duration.ofMinutes(7));
        h.metrics.verifyFailed("main", 1);
        h.metrics.verifySucceeded("other", java.time.Instant.ofEpochSecond(1_800_000_000L));
        h.metrics.sourceRpo("db1", "main", 1.25);
        h.metrics.sourceRpo("db1", "main", 0.5);
        h.metrics.sourceRpo("db2", "cache", -1);
        h.metrics.agentConnected("db1", true);
        h.metrics.agentConnected("db2", true);
        h.metrics.agentConnected("db2", false);
        String text = scrape();
        assertSample(text, "holdfast_backups_total{status=\"succeeded\"} 2.0");
        assertSample(text, "holdfast_backups_total{status=\"failed\"} 1.0");
        assertSample(text, "holdfast_restores_total{status=\"succeeded\"} 1.0");
        assertSample(text, "holdfast_restores_total{status=\"failed\"} 0.0");
        assertSample(text, "holdfast_verify_failures_total{source=\"main\"} 1.0");
        assertSample(text, "holdfast_verify_failures_total{source=\"other\"} 0.0");
        assertSample(text, "holdfast_verify_last_success_timestamp_seconds{source=\"other\"} 1.8E9");
        assertSample(text, "holdfast_backup_duration_seconds_count{status=\"succeeded\"} 2");
        assertSample(text, "holdfast_backup_duration_seconds_bucket{status=\"succeeded\",le=\"60.0\"} 1");
        assertSample(text, "holdfast_backup_duration_seconds_bucket{status=\"succeeded\",le=\"+Inf\"} 2");
        assertSample(text, "holdfast_restore_duration_seconds_sum{status=\"succeeded\"} 420.0");
        assertSample(text, "holdfast_source_rpo_seconds{host=\"db1\",source=\"main\"} 0.5");
        assertSample(text, "holdfast_source_rpo_seconds{host=\"db2\",source=\"cache\"} NaN");
        assertSample(text, "holdfast_agents_connected 1.0");
        assertSample(text, "holdfast_controller_info{version=\"0.1.0-test\"} 1.0");
        assertTrue(text.contains("# TYPE holdfast_backup_duration_seconds histogram"), text);
        h.metrics.sourceRemoved("db2", "cache");
        String after = scrape();
        assertTrue(after.lines().noneMatch(l -> l.startsWith("holdfast_source_rpo_seconds{host=\"db2\"")), after);
        assertSample(after, "holdfast_source_rpo_seconds{host=\"db1\",source=\"main\"} 0.5");
    }

    @Test
    void snapshotsStoredBytesAndSilentAgentsComeFromTheCatalogAndTheClock() throws Exception {
        Instant t = h.clock.instant();
        for (int i = 0; i < 5; i++) {
            ApiHarness.await(h.catalog.upsertBackup(new BackupRecord("main", "7301", "b" + i, "db1", "full", "daily",
                    i == 4 ? "incomplete" : "complete", Optional.of(t.minusSeconds(i * 60L)), Optional.empty(), "", "", 1, Optional.empty(),
                    1000, 100 * (i + 1), Optional.empty())));
        }
        ApiHarness.await(h.catalog.upsertAgent(new AgentRecord("old1", "0.1.0", List.of(), t.minusSeconds(7200), Optional.of(t.minusSeconds(3600)),
                false, "01", t.plusSeconds(3600))));
        ApiHarness.await(h.catalog.upsertAgent(new AgentRecord("never", "0.1.0", List.of(), t.minusSeconds(10), Optional.empty(),
                false, "02", t.plusSeconds(3600))));
        String before = scrape();
        assertSample(before, "holdfast_snapshots 0.0");
        ApiHarness.await(h.metrics.refresh(h.catalog));
        h.metrics.agentSeen("live1", t);
        String text = scrape();
        assertSample(text, "holdfast_snapshots 4.0");
        assertSample(text, "holdfast_stored_bytes 1500.0");
        // old1 was last seen an hour ago (silent_after is 60 s); "never" enrolled 10 s ago; live1 just now.
        assertSample(text, "holdfast_agents_silent 1.0");
        h.clock.advance(Duration.ofSeconds(61));
        assertSample(scrape(), "holdfast_agents_silent 3.0");
        h.metrics.agentSeen("live1", h.clock.instant());
        assertSample(scrape(), "holdfast_agents_silent 2.0");
    }

    @Test
    void scrapingNeedsAValidToken() throws Exception {
        assertEquals(401, h.get("/metrics", null).status());
        assertEquals("unauthenticated", h.get("/metrics", "hfa_unknown-token-0000000000000000").errorCode());
    }
}
