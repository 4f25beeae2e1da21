package dev.holdfast.controller.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.AgentConfig.LogLevel;
import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.controller.ManualClock;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.CatalogFactory;
import dev.holdfast.controller.catalog.JobState;
import dev.holdfast.controller.catalog.VerificationRecord;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.controller.metrics.ControllerMetrics;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryConfig;
import dev.holdfast.repository.backup.TestBackups;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.fs.FsObjectStore;
import dev.holdfast.repository.wal.WalSegmentName;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scheduled verification over a real repository on a file store and a real (embedded) catalog,
 * with an injected clock driven through simulated days: the rotating data sample reads every pack
 * within {@code read_data_within}, across controller restarts (the cursor is in the catalog), and
 * the structure run catches a deleted WAL segment.
 */
class VerifyRotationTest {
    static final String SYS = "7300000000000000001";
    static final Instant START = Instant.parse("2026-11-24T05:00:30Z");
    static final Duration PERIOD = Duration.ofDays(7);
    static final DateTimeFormatter ID = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    @TempDir
    Path dir;
    Vertx vertx;
    Repository repo;
    TestBackups main;
    Catalog catalog;
    final ManualClock clock = new ManualClock(START);
    ControllerMetrics metrics;
    EventLog log;

    @BeforeEach
    void setUp() throws Exception {
        vertx = Vertx.vertx();
        KeyFile key = KeyFile.create(dir.resolve("master.key"), Clock.systemUTC(), new SecureRandom());
        repo = Repository.init(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()), key, RepositoryConfig.DEFAULT_SEGMENT_SIZE, 3,
                "test", Clock.systemUTC(), new SecureRandom());
        main = new TestBackups(repo, "main", SYS);
        catalog = await(CatalogFactory.open(vertx, new ControllerConfig.CatalogUrl("embedded"), dir.resolve("data"), clock));
        metrics = new ControllerMetrics(clock, "test", Duration.ofSeconds(60));
        log = new EventLog(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), clock, LogLevel.INFO, false);
    }

    @AfterEach
    void tearDown() throws Exception {
        catalog.close();
        repo.close();
        await(vertx.close());
    }

    static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
    }

    /** A full backup started at {@code at} with {@code files} files (two per pack) of varied sizes. */
    void full(Instant at, int files, int walSegment) {
        Map<String, byte[]> content = new LinkedHashMap<>();
        for (int i = 0; i < files; i++) {
            String path = "base/1/" + (1000 + i);
            content.put(path, TestBackups.content(path, 2000 + 1500 * ((i * 7 + at.getNano()) % 5)));
        }
        main.full(ID.format(at) + "-full", walSegment, content);
    }

    /** Every pack key in the repository, with the time the test stored it. */
    Map<String, Instant> packs(Map<String, Instant> known) {
        for (ObjectInfo o : Futures.await(repo.store().listAll("backups/"))) {
            if (o.key().value().contains("/pack-")) {
                known.putIfAbsent(o.key().value(), clock.instant());
            }
        }
        return known;
    }

    VerifySchedule schedule(VerificationService service) {
        return new VerifySchedule(vertx, catalog, service, new ControllerConfig.Verification("0 5 * * *", ZoneId.of("UTC"), PERIOD), clock);
    }

    VerificationService service() {
        return new VerificationService(vertx, catalog, repo, metrics, clock, new SecureRandom(), log);
    }

    @Test
    void everyPackIsReadWithinThePeriodAcrossRestartsAndGrowth() throws Exception {
        for (int b = 0; b < 6; b++) {
            full(START.minus(Duration.ofDays(6 - b)), 3 + b % 3, 3);
        }
        main.wal(1, 1, 5);
        Map<String, Instant> stored = packs(new TreeMap<>());
        assertTrue(stored.size() >= 12, "enough packs for a sample: " + stored.size());
        Map<String, List<Instant>> reads = new TreeMap<>();
        VerificationService service = service();
        VerifySchedule schedule = schedule(service);
        int days = 28;
        for (int day = 0; day < days; day++) {
            clock.set(START.plus(Duration.ofDays(day)));
            if (day % 3 == 2) {
                // A controller restart: a new service and schedule over the same catalog.
                service.close();
                service = service();
                schedule = schedule(service);
            }
            if (day == 10 || day == 11) {
                full(clock.instant().minusSeconds(20), 4, 4);
                packs(stored);
            }
            VerificationService.Outcome o = await(schedule.tick()).orElseThrow(() -> new AssertionError("no run"));
            assertEquals(JobState.SUCCEEDED, o.job().state(), o.errors().toString());
            assertTrue(o.packsRead().size() < stored.size(), "a sample, not everything: " + o.packsRead().size() + " of " + stored.size());
            for (String p : o.packsRead()) {
                reads.computeIfAbsent(p, k -> new ArrayList<>()).add(clock.instant());
            }
            assertEquals(Optional.empty(), await(schedule.tick()), "a slot runs once");
        }
        service.close();
        Instant end = START.plus(Duration.ofDays(days - 1));
        for (Map.Entry<String, Instant> p : stored.entrySet()) {
            List<Instant> times = reads.getOrDefault(p.getKey(), List.of());
            Instant prev = p.getValue();
            for (Instant t : times) {
                assertTrue(!t.isAfter(prev.plus(PERIOD)), p.getKey() + " stored/read at " + prev + ", next read only at " + t);
                prev = t;
            }
            assertTrue(!end.isAfter(prev.plus(PERIOD)), p.getKey() + " last read at " + prev + ", not again by " + end);
            assertTrue(times.size() >= 2, p.getKey() + " read " + times.size() + " time(s) in four weeks");
        }
        List<VerificationRecord> records = await(catalog.verifications(Optional.of("main")));
        assertEquals(8, records.size());
        assertTrue(records.stream().allMatch(VerificationRecord::ok), records.toString());
    }

    @Test
    void theStructureRunCatchesADeletedWalSegment() throws Exception {
        full(START.minus(Duration.ofDays(2)), 2, 3);
        full(START.minus(Duration.ofDays(1)), 2, 5);
        main.wal(1, 1, 7);
        Futures.await(repo.store().delete(main.walLayout().segment(WalSegmentName.ofNumber(1, 5, TestBackups.WAL_SEGMENT))));
        VerificationService service = service();
        VerificationService.Outcome o = await(schedule(service).tick()).orElseThrow();
        service.close();
        assertEquals(JobState.FAILED, o.job().state());
        assertEquals(Optional.of("wal_gap"), o.job().errorCode());
        Map<String, VerificationRecord> byId = new TreeMap<>();
        await(catalog.verifications(Optional.of("main"))).forEach(r -> byId.put(r.backupId(), r));
        VerificationRecord older = byId.get(ID.format(START.minus(Duration.ofDays(2))) + "-full");
        VerificationRecord newer = byId.get(ID.format(START.minus(Duration.ofDays(1))) + "-full");
        assertEquals(Optional.of("wal_gap"), older.errorCode(), "restorable only up to the hole");
        assertTrue(older.errorMessage().orElseThrow().startsWith("wal_gap: "), older.errorMessage().toString());
        assertEquals(Optional.of("wal_gap"), newer.errorCode());
        assertTrue(newer.errorMessage().orElseThrow().startsWith("wal_missing: "), newer.errorMessage().toString());
        assertEquals(2, o.failed());
        String scrape = metrics.scrape();
        assertTrue(scrape.contains("holdfast_verify_failures_total{source=\"main\"} 2.0"), scrape);
    }
}
