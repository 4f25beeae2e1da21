package dev.holdfast.controller.schedule;

import dev.holdfast.controller.ManualClock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.catalog.AgentRecord;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.CatalogFactory;
import dev.holdfast.controller.catalog.JobRecord;
import dev.holdfast.controller.catalog.JobState;
import dev.holdfast.controller.catalog.Page;
import dev.holdfast.controller.catalog.PageRequest;
import dev.holdfast.controller.catalog.SourceRecord;
import dev.holdfast.controller.config.ControllerConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.Promise;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SchedulerTest {
    private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
    private static final ZoneId NEW_YORK = ZoneId.of("America/New_York");
    private static Vertx vertx;

    @TempDir
    Path dir;
    private final ManualClock clock = new ManualClock(Instant.parse("2026-11-01T00:00:00Z"));
    private final List<JobRecord> dispatched = Collections.synchronizedList(new ArrayList<>());
    private final List<Scheduler> schedulers = new ArrayList<>();
    private Catalog catalog;

    @BeforeAll
    static void startVertx() {
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stopVertx() throws Exception {
        await(vertx.close());
    }

    @BeforeEach
    void openCatalog() throws Exception {
        catalog = await(openStore());
    }

    @AfterEach
    void closeCatalog() throws Exception {
        for (Scheduler s : schedulers) {
            await(s.stop());
        }
        catalog.close();
    }

    /** The embedded catalog (H2 in a file) in this test's data directory. */
    private Future<Catalog> openStore() {
        return CatalogFactory.open(vertx, new ControllerConfig.CatalogUrl("embedded"), dir.resolve("data"), clock);
    }

    /** A controller restart as far as the catalog goes: closed, then opened again from its file. */
    private void reopen() throws Exception {
        catalog.close();
        catalog = await(openStore());
    }

    static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    private static Instant at(String local, ZoneId zone) {
        return LocalDateTime.parse(local).atZone(zone).toInstant();
    }

    private ControllerConfig config(ZoneId zone, Duration jitter, ControllerConfig.Policy... more) {
        Map<String, ControllerConfig.Policy> policies = new LinkedHashMap<>();
        for (ControllerConfig.Policy p : more) {
            policies.put(p.name(), p);
        }
        policies.put("default", policy("default", List.of(), zone, jitter));
        return new ControllerConfig(dir.resolve("controller.yaml"), "127.0.0.1", 0, dir, new ControllerConfig.CatalogUrl("embedded"),
                Optional.empty(), new ControllerConfig.Auth(dir.resolve("admin.token")), ControllerConfig.Agents.DEFAULT, Optional.empty(),
                policies);
    }

    private static ControllerConfig.Policy policy(String name, List<String> sources, ZoneId zone, Duration jitter) {
        return new ControllerConfig.Policy(name, sources, ControllerConfig.defaultSchedules(), zone, jitter,
                ControllerConfig.Retention.DEFAULT, new ControllerConfig.RestorePolicy(1, List.of()));
    }

    private Scheduler scheduler(ControllerConfig config) {
        Scheduler s = new Scheduler(vertx, catalog, config, clock, new SecureRandom(), dispatched::add);
        schedulers.add(s);
        return s;
    }

    private void enrol(String host, Instant enrolledAt, boolean connected, String... sourceTypes) throws Exception {
        await(catalog.upsertAgent(new AgentRecord(host, "0.1.0", List.of(), enrolledAt, Optional.empty(), connected, "0a",
                enrolledAt.plus(Duration.ofDays(1)))));
        List<SourceRecord> sources = new ArrayList<>();
        for (String t : sourceTypes) {
            String name = t.equals("postgres") ? "main" : t;
            sources.add(new SourceRecord(host, name, t, "", "", t.equals("postgres") ? "stream" : "", Optional.empty()));
        }
        await(catalog.replaceSources(host, sources));
    }

    private List<JobRecord> tick(Scheduler s, Instant now) throws Exception {
        clock.set(now);
        return await(s.tick());
    }

    private void finish(List<JobRecord> jobs) throws Exception {
        for (JobRecord j : jobs) {
            await(catalog.updateJob(withState(j, JobState.SUCCEEDED)));
        }
    }

    private static JobRecord withState(JobRecord j, JobState state) {
        return new JobRecord(j.id(), j.host(), j.source(), j.kind(), j.type(), j.tag(), state, j.trigger(), j.requestedBy(),
                j.scheduledFor(), j.createdAt(), j.dispatchedAt(), j.startedAt(), j.finishedAt(), j.progressDone(), j.progressTotal(),
                j.phase(), j.backupId(), j.errorCode(), j.errorMessage(), j.result());
    }

    private List<JobRecord> allJobs() throws Exception {
        return await(catalog.jobs(new PageRequest(Optional.empty(), PageRequest.MAX_LIMIT))).items();
    }

    private List<AuditRecord> audit(String action) throws Exception {
        return await(catalog.audit(new PageRequest(Optional.empty(), PageRequest.MAX_LIMIT))).items().stream()
                .filter(a -> a.action().equals(action)).toList();
    }

    /** "tag@local time in zone" for compact assertions. */
    private static String slot(JobRecord j, ZoneId zone) {
        return j.tag() + "@" + LocalDateTime.ofInstant(j.scheduledFor().orElseThrow(), zone);
    }

    @Test
    void defaultSchedulesFireDailyAtTwoSundaysAtThreeAndOnTheFirstAtFourInThePolicysZone() throws Exception {
        ControllerConfig config = config(BERLIN, Duration.ZERO, policy("ny", List.of("db2/*"), NEW_YORK, Duration.ZERO));
        Instant enrolled = Instant.parse("2026-11-27T12:00:00Z");
        enrol("db1", enrolled, true, "postgres", "redis", "files");
        enrol("db2", enrolled, true, "postgres");
        Scheduler s = scheduler(config);
        Map<String, List<String>> slots = Map.of("db1", new ArrayList<>(), "db2", new ArrayList<>(), "db1/redis", new ArrayList<>(),
                "db1/files", new ArrayList<>());
        for (Instant t = enrolled; !t.isAfter(Instant.parse("2026-12-01T12:00:00Z")); t = t.plus(Duration.ofMinutes(15))) {
            List<JobRecord> jobs = tick(s, t);
            for (JobRecord j : jobs) {
                ZoneId zone = j.host().equals("db1") ? BERLIN : NEW_YORK;
                assertEquals(t, j.createdAt(), "created on the first tick at its slot (no jitter)");
                assertEquals(j.scheduledFor().orElseThrow(), t);
                // A postgres source takes the schedule's type; Redis an RDB snapshot, files a snapshot, whatever the tag.
                String expectedType = switch (j.source()) {
                    case "redis" -> "rdb";
                    case "files" -> "snapshot";
                    default -> j.tag().equals("daily") ? "incr" : "full";
                };
                assertEquals(expectedType, j.type(), j::toString);
                assertEquals(List.of("backup", "schedule", "scheduler", JobState.QUEUED),
                        List.of(j.kind(), j.trigger(), j.requestedBy(), j.state()));
                slots.get(j.source().equals("main") ? j.host() : j.host() + "/" + j.source()).add(slot(j, zone));
            }
            finish(jobs);
        }
        // 2026-11-29 is a Sunday, 2026-12-01 a Tuesday.
        List<String> expected = List.of("daily@2026-11-28T02:00", "daily@2026-11-29T02:00", "weekly@2026-11-29T03:00",
                "daily@2026-11-30T02:00", "daily@2026-12-01T02:00", "monthly@2026-12-01T04:00");
        assertEquals(expected, slots.get("db1"));
        assertEquals(expected, slots.get("db2"));
        assertEquals(expected, slots.get("db1/redis"));
        assertEquals(expected, slots.get("db1/files"));
        assertEquals(24, dispatched.size());
        assertEquals(24, audit("backup.scheduled").size());
    }

    @Test
    void theDrillTagRunsARestoreDrillOfEachPostgresSourceInsteadOfABackup() throws Exception {
        Map<String, ControllerConfig.Schedule> schedules = new LinkedHashMap<>();
        schedules.put("daily", new ControllerConfig.Schedule("daily", "0 2 * * *", "incr"));
        schedules.put("drill", new ControllerConfig.Schedule("drill", "0 5 * * SAT", "full"));
        ControllerConfig.Policy drills = new ControllerConfig.Policy("drilled", List.of("db1/*"), schedules, BERLIN, Duration.ZERO,
                ControllerConfig.Retention.DEFAULT, new ControllerConfig.RestorePolicy(1, List.of()));
        Instant enrolled = Instant.parse("2026-11-27T12:00:00Z");
        enrol("db1", enrolled, true, "postgres", "redis");
        Scheduler s = scheduler(config(BERLIN, Duration.ZERO, drills));
        List<JobRecord> all = new ArrayList<>();
        for (Instant t = enrolled; !t.isAfter(Instant.parse("2026-11-29T12:00:00Z")); t = t.plus(Duration.ofMinutes(15))) {
            List<JobRecord> jobs = tick(s, t);
            all.addAll(jobs);
            finish(jobs);
        }
        // 2026-11-28 is a Saturday: one drill of db1/main at 05:00; the Redis source gets only its daily RDB snapshots.
        List<String> got = all.stream().map(j -> j.source() + " " + j.kind() + "/" + j.type() + " " + slot(j, BERLIN)).toList();
        assertEquals(List.of("main backup/incr daily@2026-11-28T02:00", "redis backup/rdb daily@2026-11-28T02:00",
                "main drill/restore drill@2026-11-28T05:00", "main backup/incr daily@2026-11-29T02:00", "redis backup/rdb daily@2026-11-29T02:00"),
                got);
        assertEquals(1, audit("drill.scheduled").size());
    }

    @Test
    void aControllerDownForThreeDaysCatchesUpOnceForEachTag() throws Exception {
        ControllerConfig config = config(BERLIN, Duration.ZERO);
        enrol("db1", Instant.parse("2026-11-01T00:00:00Z"), true, "postgres");
        Scheduler before = scheduler(config);
        // Saturday: an agent enrolled weeks ago gets its latest slot of each tag, once.
        List<JobRecord> first = tick(before, at("2026-11-28T12:00", BERLIN));
        assertEquals(Set.of("daily@2026-11-28T02:00", "weekly@2026-11-22T03:00", "monthly@2026-11-01T04:00"),
                first.stream().map(j -> slot(j, BERLIN)).collect(java.util.stream.Collectors.toSet()));
        finish(first);
        await(before.stop());
        reopen();
        // Down from Saturday noon to Tuesday noon: three daily slots, a weekly and a monthly missed.
        Scheduler after = scheduler(config);
        List<JobRecord> caughtUp = tick(after, at("2026-12-01T12:00", BERLIN));
        assertEquals(Set.of("daily@2026-12-01T02:00", "weekly@2026-11-29T03:00", "monthly@2026-12-01T04:00"),
                caughtUp.stream().map(j -> slot(j, BERLIN)).collect(java.util.stream.Collectors.toSet()));
        assertEquals(3, caughtUp.size());
        assertEquals(List.of(), tick(after, at("2026-12-01T12:00:01", BERLIN)));
        assertEquals(List.of(), tick(after, at("2026-12-02T01:59", BERLIN)));
        assertEquals(6, allJobs().size());
    }

    @Test
    void aRestartedControllerCreatesNothingForASlotAlreadyClaimed() throws Exception {
        ControllerConfig config = config(BERLIN, Duration.ZERO);
        enrol("db1", Instant.parse("2026-11-01T00:00:00Z"), true, "postgres");
        Instant now = at("2026-11-28T12:00", BERLIN);
        Scheduler before = scheduler(config);
        assertEquals(3, tick(before, now).size());
        await(before.stop());
        reopen();
        // The jobs are still queued when the new instance starts: neither new jobs nor skips.
        Scheduler restarted = scheduler(config);
        assertEquals(List.of(), tick(restarted, now));
        assertEquals(List.of(), tick(restarted, now.plus(Duration.ofHours(6))));
        assertEquals(3, allJobs().size());
        assertEquals(3, dispatched.size());
        assertEquals(List.of(), audit("backup.skipped"));
        assertEquals(Optional.of(at("2026-11-28T02:00", BERLIN)), await(catalog.lastScheduledRun("db1", "main", "daily")));
    }

    @Test
    void concurrentTicksOfTwoSchedulersCreateOneJobPerSlot() throws Exception {
        ControllerConfig config = config(BERLIN, Duration.ZERO);
        enrol("db1", Instant.parse("2026-11-01T00:00:00Z"), true, "postgres");
        enrol("db2", Instant.parse("2026-11-01T00:00:00Z"), true, "postgres");
        // Two controllers, each with its own catalog connection to one store. Both read the last
        // claim and the open jobs before either claims the slot (their reads are paired up), so the
        // catalog's claim is all that stands between them and a double run.
        Catalog second = await(openStore());
        Map<List<Object>, Promise<Void>> pairs = new HashMap<>();
        Scheduler a = new Scheduler(vertx, paired(catalog, pairs), config, clock, new SecureRandom(), dispatched::add);
        Scheduler b = new Scheduler(vertx, paired(second, pairs), config, clock, new SecureRandom(), dispatched::add);
        schedulers.add(a);
        schedulers.add(b);
        Instant t = at("2026-11-28T12:00", BERLIN);
        List<JobRecord> created = new ArrayList<>();
        for (int day = 0; day < 10; day++, t = t.plus(Duration.ofDays(1))) {
            clock.set(t);
            Future<List<JobRecord>> fa = a.tick();
            Future<List<JobRecord>> fb = b.tick();
            List<JobRecord> round = new ArrayList<>(await(fa));
            round.addAll(await(fb));
            created.addAll(round);
            finish(round);
        }
        // Per host: 10 daily slots, 2 weekly (Nov 22 caught up, Nov 29, Dec 6: 3), 2 monthly (Nov 1, Dec 1).
        Set<String> distinct = new HashSet<>();
        for (JobRecord j : created) {
            assertTrue(distinct.add(j.host() + " " + slot(j, BERLIN)), "two jobs for " + j.host() + " " + slot(j, BERLIN));
        }
        assertEquals(2 * (10 + 3 + 2), created.size());
        assertEquals(created.size(), allJobs().size());
        assertEquals(created.size(), dispatched.size());
        await(a.stop());
        await(b.stop());
        second.close();
    }

    /**
     * {@code c} whose {@link Catalog#lastScheduledRun} and {@link Catalog#openJobs} answers are
     * held back until a second caller (through another proxy sharing {@code waiting}) asked the
     * same; every other method goes straight through.
     */
    private static Catalog paired(Catalog c, Map<List<Object>, Promise<Void>> waiting) {
        InvocationHandler h = (proxy, method, args) -> {
            Object result;
            try {
                result = method.invoke(c, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            if (!method.getName().equals("lastScheduledRun") && !method.getName().equals("openJobs")) {
                return result;
            }
            List<Object> key = new ArrayList<>(List.of(method.getName()));
            key.addAll(List.of(args));
            Promise<Void> other;
            Promise<Void> mine = Promise.promise();
            synchronized (waiting) {
                other = waiting.remove(key);
                if (other == null) {
                    waiting.put(key, mine);
                }
            }
            if (other != null) {
                other.complete();
                return result;
            }
            return mine.future().compose(v -> (Future<?>) result);
        };
        return (Catalog) Proxy.newProxyInstance(Catalog.class.getClassLoader(), new Class<?>[] {Catalog.class}, h);
    }

    @Test
    void jitterStaysWithinItsBoundAndIsTheSameAfterARestart() throws Exception {
        Duration max = Duration.ofMinutes(10);
        long below1 = 0;
        long above9 = 0;
        Instant due = Instant.parse("2026-11-28T01:00:00Z");
        for (int i = 0; i < 2000; i++) {
            Duration j = Scheduler.jitter("db" + i, "main", "daily", due.plus(Duration.ofDays(i % 7)), max);
            assertFalse(j.isNegative());
            assertFalse(j.compareTo(max) > 0, j.toString());
            assertEquals(j, Scheduler.jitter("db" + i, "main", "daily", due.plus(Duration.ofDays(i % 7)), max));
            below1 += j.compareTo(Duration.ofMinutes(1)) < 0 ? 1 : 0;
            above9 += j.compareTo(Duration.ofMinutes(9)) > 0 ? 1 : 0;
        }
        // Uniform over [0, 10 min]: about 200 of 2000 in each tenth.
        assertTrue(below1 > 100 && below1 < 300, "below 1 min: " + below1);
        assertTrue(above9 > 100 && above9 < 300, "above 9 min: " + above9);
        assertEquals(Duration.ZERO, Scheduler.jitter("db1", "main", "daily", due, Duration.ZERO));

        Duration policyJitter = Duration.ofMinutes(30);
        ControllerConfig config = config(BERLIN, policyJitter);
        enrol("db1", Instant.parse("2026-11-01T00:00:00Z"), true, "postgres");
        Scheduler s = scheduler(config);
        finish(tick(s, at("2026-11-28T12:00", BERLIN)));
        Instant slot = at("2026-11-29T02:00", BERLIN);
        Duration j = Scheduler.jitter("db1", "main", "daily", slot, policyJitter);
        assertTrue(j.compareTo(policyJitter) <= 0);
        Instant notBefore = slot.plus(j);
        assertEquals(List.of(), tick(s, notBefore.minusMillis(1)));
        Scheduler restarted = scheduler(config);
        assertEquals(List.of(), tick(restarted, notBefore.minusMillis(1)), "a restart waits for the same jitter");
        List<JobRecord> jobs = tick(restarted, notBefore);
        assertEquals(List.of("daily@2026-11-29T02:00"), jobs.stream().map(x -> slot(x, BERLIN)).toList());
        assertEquals(notBefore, jobs.get(0).createdAt());
        assertEquals(List.of(), tick(s, notBefore.plusSeconds(1)));
    }

    @Test
    void aJitterLongerThanTheScheduleIsCappedAtHalfItsPeriodSoNoSlotIsOvertaken() throws Exception {
        ControllerConfig.Policy often = new ControllerConfig.Policy("often", List.of("db1/*"),
                Map.of("often", new ControllerConfig.Schedule("often", "*/10 * * * *", "incr")), BERLIN, Duration.ofHours(1),
                ControllerConfig.Retention.DEFAULT, new ControllerConfig.RestorePolicy(1, List.of()));
        ControllerConfig config = config(BERLIN, Duration.ZERO, often);
        Instant start = at("2026-11-28T12:00", BERLIN);
        enrol("db1", start, true, "postgres");
        Scheduler s = scheduler(config);
        List<JobRecord> created = new ArrayList<>();
        for (Instant t = start; t.isBefore(start.plus(Duration.ofHours(2))); t = t.plusSeconds(30)) {
            List<JobRecord> jobs = tick(s, t);
            created.addAll(jobs);
            finish(jobs);
        }
        // 12:10 .. 13:50: eleven slots, each run once, within five minutes of its time.
        assertEquals(11, created.size());
        for (int i = 0; i < created.size(); i++) {
            JobRecord j = created.get(i);
            assertEquals(start.plus(Duration.ofMinutes(10L * (i + 1))), j.scheduledFor().orElseThrow());
            Duration late = Duration.between(j.scheduledFor().orElseThrow(), j.createdAt());
            assertTrue(!late.isNegative() && late.compareTo(Duration.ofMinutes(5)) <= 0, late.toString());
        }
    }

    @Test
    void anOfflineAgentsSlotYieldsExactlyOneQueuedJob() throws Exception {
        ControllerConfig config = config(BERLIN, Duration.ZERO);
        enrol("db1", Instant.parse("2026-11-01T00:00:00Z"), false, "postgres");
        Scheduler s = scheduler(config);
        finish(tick(s, at("2026-11-28T12:00", BERLIN)));
        dispatched.clear();
        List<JobRecord> created = new ArrayList<>();
        for (Instant t = at("2026-11-29T01:00", BERLIN); t.isBefore(at("2026-11-29T23:00", BERLIN)); t = t.plus(Duration.ofMinutes(20))) {
            created.addAll(tick(s, t));
            if (t.equals(at("2026-11-29T12:00", BERLIN))) {
                s = scheduler(config); // a restart in between changes nothing
            }
        }
        assertEquals(List.of("daily@2026-11-29T02:00", "weekly@2026-11-29T03:00"), created.stream().map(j -> slot(j, BERLIN)).toList());
        assertEquals(created, dispatched);
        List<JobRecord> open = await(catalog.openJobs("db1"));
        assertEquals(created.stream().map(JobRecord::id).toList(), open.stream().map(JobRecord::id).toList());
        assertTrue(open.stream().allMatch(j -> j.state() == JobState.QUEUED));
        // Still offline at the next daily slot: the queued job covers it, no second one is stacked.
        assertEquals(List.of(), tick(s, at("2026-11-30T02:00", BERLIN)));
        assertEquals(2, allJobs().stream().filter(j -> j.state() == JobState.QUEUED).count());
        assertEquals(1, audit("backup.skipped").size());
    }

    @Test
    void aStillRunningJobCausesTheNextSlotToBeSkipped() throws Exception {
        ControllerConfig config = config(BERLIN, Duration.ZERO);
        enrol("db1", Instant.parse("2026-11-01T00:00:00Z"), true, "postgres");
        Scheduler s = scheduler(config);
        List<JobRecord> first = tick(s, at("2026-11-28T12:00", BERLIN));
        JobRecord daily = first.stream().filter(j -> j.tag().equals("daily")).findFirst().orElseThrow();
        finish(first.stream().filter(j -> j != daily).toList());
        await(catalog.updateJob(withState(daily, JobState.RUNNING)));

        assertEquals(List.of(), tick(s, at("2026-11-29T02:00", BERLIN)));
        List<AuditRecord> skipped = audit("backup.skipped");
        assertEquals(1, skipped.size());
        AuditRecord a = skipped.get(0);
        assertEquals("db1/main", a.object());
        assertEquals("scheduler", a.actor());
        assertTrue(a.detail().contains("tag daily") && a.detail().contains(daily.id()) && a.detail().contains("still running")
                && a.detail().contains(at("2026-11-29T02:00", BERLIN).toString()), a.detail());
        assertEquals(Optional.of(at("2026-11-29T02:00", BERLIN)), await(catalog.lastScheduledRun("db1", "main", "daily")));

        // The job ends; the skipped slot is not run late, by this instance or a restarted one.
        finish(List.of(daily));
        assertEquals(List.of(), tick(s, at("2026-11-29T02:30", BERLIN)));
        assertEquals(List.of(), tick(scheduler(config), at("2026-11-29T02:30", BERLIN)));
        // The next daily slot runs; the weekly tag was never blocked by the daily job (its Sunday slot was not due yet at 02:30).
        List<JobRecord> later = tick(s, at("2026-11-30T02:00", BERLIN));
        assertEquals(List.of("daily@2026-11-30T02:00", "weekly@2026-11-29T03:00"), later.stream().map(j -> slot(j, BERLIN)).sorted().toList());
        assertEquals(1, audit("backup.skipped").size());
    }

    @Test
    void aNewAgentGetsNoBacklog() throws Exception {
        ControllerConfig config = config(BERLIN, Duration.ZERO);
        Instant enrolled = at("2026-11-28T12:00", BERLIN);
        enrol("db1", enrolled, true, "postgres");
        Scheduler s = scheduler(config);
        assertEquals(List.of(), tick(s, enrolled));
        assertEquals(List.of(), tick(s, at("2026-11-29T01:59", BERLIN)));
        assertEquals(List.of(), tick(scheduler(config), at("2026-11-29T01:59", BERLIN)));
        assertEquals(Optional.empty(), await(catalog.lastScheduledRun("db1", "main", "daily")));
        assertEquals(Optional.empty(), await(catalog.lastScheduledRun("db1", "main", "monthly")));
        assertEquals(List.of("daily@2026-11-29T02:00"), tick(s, at("2026-11-29T02:00", BERLIN)).stream().map(j -> slot(j, BERLIN)).toList());
    }

    /**
     * A tick over tens of thousands of due slots completes (and so the next tick and stop() can
     * run): found by the fleet simulation (bench/run-fleet.sh), where 10,000 agents' 30,000 slots
     * overflowed the stack when the per-slot promises completed one another, leaving the tick
     * forever incomplete. The source list and the slots' lookups are answered from memory here
     * (at once, as H2 sometimes does); the agent is the catalog's.
     */
    @Test
    void aTickOverSixtyThousandSlotsCompletes() throws Exception {
        ControllerConfig config = config(BERLIN, Duration.ZERO);
        Instant enrolled = at("2026-11-28T12:00", BERLIN);
        enrol("fleet", enrolled, true);
        List<SourceRecord> sources = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            sources.add(new SourceRecord("fleet", "pg" + i, "postgres", "", "", "stream", Optional.empty()));
        }
        Catalog real = catalog;
        InvocationHandler h = (proxy, method, args) -> {
            switch (method.getName()) {
                case "sources":
                    return Future.succeededFuture(new Page<>(sources, Optional.empty()));
                case "lastScheduledRun":
                    return Future.succeededFuture(Optional.empty());
                default:
                    try {
                        return method.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
            }
        };
        Catalog fast = (Catalog) Proxy.newProxyInstance(Catalog.class.getClassLoader(), new Class<?>[] {Catalog.class}, h);
        Scheduler s = new Scheduler(vertx, fast, config, clock, new SecureRandom(), dispatched::add);
        schedulers.add(s);
        // Every slot is due and older than the enrolment: settled, nothing queued; twice, the second from memory.
        assertEquals(List.of(), tick(s, at("2026-11-29T01:59", BERLIN)));
        assertEquals(List.of(), tick(s, at("2026-11-29T01:59", BERLIN)));
    }

    @Test
    void theTimerTicksOnItsOwnAndStopsWhenAsked() throws Exception {
        ControllerConfig config = config(BERLIN, Duration.ZERO);
        enrol("db1", Instant.parse("2026-11-01T00:00:00Z"), true, "postgres");
        clock.set(at("2026-11-28T12:00", BERLIN));
        CompletableFuture<JobRecord> queued = new CompletableFuture<>();
        Scheduler s = new Scheduler(vertx, catalog, config, clock, new SecureRandom(), queued::complete, Duration.ofMillis(20));
        schedulers.add(s);
        await(s.start());
        JobRecord j = queued.get(60, TimeUnit.SECONDS);
        assertEquals("db1", j.host());
        await(s.stop());
        // Once stopped and drained, no further tick runs: a tick asked for now finds every slot settled.
        assertEquals(List.of(), await(s.tick()));
        assertEquals(3, allJobs().size());
    }
}
