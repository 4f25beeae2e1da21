package dev.holdfast.controller.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.ManualClock;
import dev.holdfast.controller.catalog.AgentRecord;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.CatalogFactory;
import dev.holdfast.controller.catalog.JobRecord;
import dev.holdfast.controller.catalog.JobState;
import dev.holdfast.controller.catalog.PageRequest;
import dev.holdfast.controller.catalog.SourceRecord;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.controller.metrics.ControllerMetrics;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.v1.DrillCheck;
import dev.holdfast.protocol.v1.DrillReport;
import dev.holdfast.protocol.v1.ErrorReply;
import dev.holdfast.protocol.v1.JobResult;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Drill jobs through the real job service and catalog: requested for postgres sources only, their
 * reports recorded in the job, no backup recorded for them, and the drill gauges (which the "drill
 * overdue" alert reads) set by the result and rebuilt from the catalog after a restart.
 */
class JobsDrillTest {
    @TempDir
    Path dir;
    private final ManualClock clock = new ManualClock(Instant.parse("2026-11-24T10:00:00Z"));
    private Vertx vertx;
    private Catalog catalog;
    private ControllerMetrics metrics;
    private Jobs jobs;

    @BeforeEach
    void open() throws Exception {
        vertx = Vertx.vertx();
        catalog = await(CatalogFactory.open(vertx, new ControllerConfig.CatalogUrl("embedded"), dir, clock));
        await(catalog.upsertAgent(new AgentRecord("db1", "0.1.0", List.of(), clock.instant(), Optional.empty(), true, "0a",
                clock.instant().plus(Duration.ofDays(1)))));
        await(catalog.replaceSources("db1", List.of(new SourceRecord("db1", "main", "postgres", "7301", "15.8", "stream", Optional.empty()),
                new SourceRecord("db1", "cache", "redis", "", "7.0", "", Optional.empty()))));
        metrics = new ControllerMetrics(clock, "0.1.0-test", Duration.ofSeconds(60));
        jobs = new Jobs(catalog, new AgentSessions(), clock, new SecureRandom(), new LinkListener() {
            @Override
            public void drillFinished(String host, String source, boolean ok, Instant finishedAt, double rto, double rpo) {
                metrics.drillFinished(host, source, ok, finishedAt, rto, rpo);
            }
        });
    }

    @AfterEach
    void close() throws Exception {
        catalog.close();
        await(vertx.close());
    }

    private static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    private static DrillReport report(double rto, double rpo, boolean amcheckOk) {
        return DrillReport.newBuilder().setRtoSeconds(rto).setRpoSeconds(rpo).setRestoredToMs(Instant.parse("2026-11-24T09:59:58Z").toEpochMilli())
                .addChecks(DrillCheck.newBuilder().setName("restore").setOk(true).setDetail("backup b1").setSeconds(3))
                .addChecks(DrillCheck.newBuilder().setName("recovery").setOk(true).setSeconds(4))
                .addChecks(DrillCheck.newBuilder().setName("databases").setOk(true).setSeconds(1))
                .addChecks(DrillCheck.newBuilder().setName("amcheck").setOk(amcheckOk).setSeconds(2).setCode(amcheckOk ? "" : "source_error")
                        .setDetail(amcheckOk ? "no corruption" : "pg_amcheck found corruption"))
                .build();
    }

    @Test
    void aDrillIsAJobOfItsOwnKindWhoseReportIsRecordedAndMeasured() throws Exception {
        JobRecord job = await(jobs.requestDrill("db1", "main", "ops"));
        assertEquals(List.of("drill", "restore", "drill", JobState.QUEUED), List.of(job.kind(), job.type(), job.tag(), job.state()));
        clock.set(Instant.parse("2026-11-24T10:05:00Z"));
        await(jobs.result("db1", JobResult.newBuilder().setJobId(job.id()).setOk(true).setBackupId("20261124T020000Z-full")
                .setType("restore").setStartedAtMs(Instant.parse("2026-11-24T10:00:01Z").toEpochMilli())
                .setFinishedAtMs(Instant.parse("2026-11-24T10:00:20Z").toEpochMilli()).setDrill(report(9.5, 3.25, true)).build()));
        JobRecord done = await(catalog.job(job.id())).orElseThrow();
        assertEquals(JobState.SUCCEEDED, done.state());
        assertEquals("9.5", done.result().get("rto_seconds"));
        assertEquals("3.25", done.result().get("rpo_seconds"));
        assertEquals("2026-11-24T09:59:58Z", done.result().get("restored_to"));
        assertTrue(done.result().get("checks").contains("\"name\":\"amcheck\""), done.result().toString());
        assertTrue(await(catalog.backups(Optional.empty(), PageRequest.FIRST)).items().isEmpty(), "a drill records no backup");
        String text = metrics.scrape();
        assertTrue(text.contains("holdfast_drill_last_success_timestamp_seconds{host=\"db1\",source=\"main\"} 1.79551442E9"), text);
        assertTrue(text.contains("holdfast_drill_rto_seconds{host=\"db1\",source=\"main\"} 9.5"), text);
        assertTrue(text.contains("holdfast_drills_total{status=\"succeeded\"} 1.0"), text);

        // A failed drill: the job fails with its check's code; the last success stays.
        JobRecord second = await(jobs.requestDrill("db1", "main", "ops"));
        await(jobs.result("db1", JobResult.newBuilder().setJobId(second.id()).setOk(false).setType("restore")
                .setError(ErrorReply.newBuilder().setCode("source_error").setMessage("drill check 'amcheck' failed"))
                .setStartedAtMs(Instant.parse("2026-11-24T10:06:00Z").toEpochMilli())
                .setFinishedAtMs(Instant.parse("2026-11-24T10:06:30Z").toEpochMilli()).setDrill(report(8, 1, false)).build()));
        JobRecord failed = await(catalog.job(second.id())).orElseThrow();
        assertEquals(JobState.FAILED, failed.state());
        assertEquals(Optional.of("source_error"), failed.errorCode());
        text = metrics.scrape();
        assertTrue(text.contains("holdfast_drill_last_success_timestamp_seconds{host=\"db1\",source=\"main\"} 1.79551442E9"), text);
        assertTrue(text.contains("holdfast_drills_total{status=\"failed\"} 1.0"), text);
        List<AuditRecord> audit = await(catalog.audit(PageRequest.FIRST)).items().stream().filter(a -> a.action().equals("drill.finished")).toList();
        assertEquals(List.of("ok", "failed"), audit.stream().map(AuditRecord::outcome).toList());

        // A restarted controller's metrics come back from the catalog.
        ControllerMetrics fresh = new ControllerMetrics(clock, "0.1.0-test", Duration.ofSeconds(60));
        await(fresh.refresh(catalog));
        String again = fresh.scrape();
        assertTrue(again.contains("holdfast_drill_last_success_timestamp_seconds{host=\"db1\",source=\"main\"} 1.79551442E9"), again);
        assertTrue(again.contains("holdfast_drill_rpo_seconds{host=\"db1\",source=\"main\"} 3.25"), again);
        assertEquals(2, await(catalog.jobsOfKind("drill", PageRequest.FIRST)).items().size());
        assertEquals(0, await(catalog.jobsOfKind("backup", PageRequest.FIRST)).items().size());
    }

    @Test
    void onlyPostgresSourcesAreDrilled() throws Exception {
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> await(jobs.requestDrill("db1", "cache", "ops")));
        assertEquals(ErrorCode.USAGE, ((HoldfastException) e.getCause()).code());
        e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () -> await(jobs.requestDrill("db1", "nope", "ops")));
        assertEquals(ErrorCode.NOT_FOUND, ((HoldfastException) e.getCause()).code());
    }
}
