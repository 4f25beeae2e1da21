package dev.holdfast.repository.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryConfig;
import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.backup.BackupManifest;
import dev.holdfast.repository.backup.BackupVerifier;
import dev.holdfast.repository.backup.TestBackups;
import dev.holdfast.repository.backup.WalReach;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.ForwardingObjectStore;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectLock;
import dev.holdfast.repository.store.StoreCapabilities;
import dev.holdfast.repository.store.StoreException;
import dev.holdfast.repository.store.fs.FsObjectStore;
import dev.holdfast.repository.wal.WalArea;
import dev.holdfast.repository.wal.WalIndex;
import dev.holdfast.repository.wal.WalLayout;
import dev.holdfast.repository.wal.WalSegmentName;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Retention over a synthetic year of daily backups (a full every Sunday, incrementals on the other
 * days, a second backup on some days) with their WAL, in a real file:// repository, with an
 * injected time. The store's neighbours here are decorators standing in for S3's object lock and
 * for a crash; the planner, enforcer and verify are the real ones.
 */
class RetentionTest {
    static final String SYSID = "7300000000000000001";
    /** Backups start at 23:30 UTC: in Berlin that is already the next day, which the slots must follow. */
    static final ZoneId ZONE = ZoneId.of("Europe/Berlin");
    static final Instant NOW = Instant.parse("2026-11-24T12:00:00Z");
    static final LocalDate FIRST = LocalDate.of(2025, 11, 20);
    static final LocalDate LAST = LocalDate.of(2026, 11, 23);

    @TempDir
    Path dir;
    TestStore store;
    Repository repo;
    TestBackups b;
    /** Every complete backup written, oldest first, with its WAL segment number. */
    final List<BackupManifest> written = new ArrayList<>();
    final Map<BackupId, Instant> startOf = new HashMap<>();
    BackupId recentIncomplete;
    BackupId oldIncomplete;
    int lastSegment;

    /** A store that reports object locks from head and refuses to delete them (S3 Object Lock's behaviour), and can crash after N deletes. */
    static final class TestStore extends ForwardingObjectStore {
        final Map<String, Instant> locked = new HashMap<>();
        final AtomicInteger deletesLeft = new AtomicInteger(Integer.MAX_VALUE);

        TestStore(FsObjectStore store) {
            super(store);
        }

        @Override
        public StoreCapabilities capabilities() {
            StoreCapabilities c = super.capabilities();
            return new StoreCapabilities(c.atomicCreate(), true, c.minPartSize(), c.maxParts());
        }

        @Override
        public CompletableFuture<Optional<ObjectInfo>> head(ObjectKey key) {
            return super.head(key).thenApply(o -> o.map(i -> locked.containsKey(key.value())
                    ? new ObjectInfo(i.key(), i.size(), i.lastModified(), i.etag(),
                    new ObjectInfo.LockState(ObjectLock.Mode.COMPLIANCE, locked.get(key.value()), false))
                    : i));
        }

        @Override
        public CompletableFuture<Void> delete(ObjectKey key) {
            if (locked.containsKey(key.value())) {
                return CompletableFuture.failedFuture(new StoreException(ErrorCode.OBJECT_LOCKED, "object '" + key + "' is locked", false, null));
            }
            if (deletesLeft.getAndDecrement() <= 0) {
                return CompletableFuture.failedFuture(new StoreException(ErrorCode.STORE_UNAVAILABLE, "simulated crash", false, null));
            }
            return super.delete(key);
        }
    }

    @BeforeEach
    void setUp() {
        store = new TestStore(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()));
        KeyFile key = KeyFile.create(dir.resolve("master.key"), Clock.systemUTC(), new SecureRandom());
        repo = Repository.init(store, key, RepositoryConfig.DEFAULT_SEGMENT_SIZE, 3, "test", Clock.systemUTC(), new SecureRandom());
        b = new TestBackups(repo, "main", SYSID);
    }

    @AfterEach
    void tearDown() {
        repo.close();
    }

    static String id(Instant t, String type) {
        return BackupId.of(t, dev.holdfast.repository.backup.BackupType.parse(type)).toString();
    }

    /** The year: one backup a day at 23:30 UTC (full on Berlin's Sunday, else incremental on the previous one), a second at 23:45 on the 10th of each month. */
    void writeYear() {
        int segment = 2;
        BackupManifest previous = null;
        for (LocalDate d = FIRST; !d.isAfter(LAST); d = d.plusDays(1)) {
            List<Instant> starts = new ArrayList<>(List.of(d.atTime(23, 30).toInstant(ZoneOffset.UTC)));
            if (d.getDayOfMonth() == 10) {
                starts.add(d.atTime(23, 45).toInstant(ZoneOffset.UTC));
            }
            for (Instant start : starts) {
                boolean full = previous == null || start.atZone(ZONE).getDayOfWeek() == DayOfWeek.SUNDAY && start.atZone(ZONE).getMinute() == 30;
                BackupManifest m = full ? b.full(id(start, "full"), segment, TestBackups.files("base/1/1"))
                        : b.incr(id(start, "incr"), previous, segment, TestBackups.files("base/1/1"));
                written.add(m);
                startOf.put(m.id(), start);
                stamp(b.layout(m.id()).prefix(), start.plusSeconds(60));
                previous = m;
                segment++;
            }
        }
        lastSegment = segment;
        b.wal(1, 1, lastSegment);
        // Segment n was stored when backup n-2 ran: the WAL's age follows the backups'.
        for (int n = 1; n <= lastSegment; n++) {
            Instant at = n - 2 < 0 ? startOf.get(written.get(0).id()).minusSeconds(3600)
                    : n - 2 < written.size() ? startOf.get(written.get(n - 2).id()).plusSeconds(30) : NOW.minusSeconds(60);
            stamp(b.walLayout().segment(WalSegmentName.ofNumber(1, n, TestBackups.WAL_SEGMENT)).value(), at);
        }
        // Two interrupted backups: one long ago (garbage), one in the last hours (may still be running).
        oldIncomplete = BackupId.parse("20260301T233000Z-full");
        b.incomplete(oldIncomplete.toString(), TestBackups.files("base/9/9"));
        stamp(b.layout(oldIncomplete).prefix(), oldIncomplete.startedAt().plusSeconds(60));
        recentIncomplete = BackupId.parse("20261124T100000Z-full");
        b.incomplete(recentIncomplete.toString(), TestBackups.files("base/9/9"));
        stamp(b.layout(recentIncomplete).prefix(), NOW.minusSeconds(3600));
    }

    /** Sets the modification time of every file under {@code prefix} (the fs store reports it as lastModified). */
    void stamp(String prefix, Instant at) {
        Path p = dir.resolve("repo").resolve(prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix);
        try (var files = Files.walk(p)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.setLastModifiedTime(f, FileTime.from(at));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    RetentionRules rules(Duration pitr) {
        return new RetentionRules(7, 4, 12, pitr, ZONE, RetentionRules.DEFAULT_GRACE);
    }

    RetentionInventory.Cluster cluster() {
        return new RetentionInventory.Cluster("main", SYSID);
    }

    /** The GFS definition of docs/retention.md, computed independently: walk back over local days, weeks and months. */
    Set<BackupId> gfsExpectation(int daily, int weekly, int monthly) {
        Map<String, BackupId> newestPerDay = new LinkedHashMap<>();
        Map<String, BackupId> newestPerWeek = new LinkedHashMap<>();
        Map<String, BackupId> newestPerMonth = new LinkedHashMap<>();
        for (BackupManifest m : written) { // oldest first: later ones overwrite
            var local = startOf.get(m.id()).atZone(ZONE);
            newestPerDay.put(local.toLocalDate().toString(), m.id());
            newestPerWeek.put(local.get(IsoFields.WEEK_BASED_YEAR) * 100 + local.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR) + "", m.id());
            newestPerMonth.put(local.getYear() * 100 + local.getMonthValue() + "", m.id());
        }
        Set<BackupId> kept = new HashSet<>();
        kept.addAll(lastN(newestPerDay, daily));
        kept.addAll(lastN(newestPerWeek, weekly));
        kept.addAll(lastN(newestPerMonth, monthly));
        kept.add(written.get(written.size() - 1).id());
        return withChains(kept);
    }

    static List<BackupId> lastN(Map<String, BackupId> byPeriod, int n) {
        List<BackupId> all = new ArrayList<>(byPeriod.values());
        return all.subList(Math.max(0, all.size() - n), all.size());
    }

    Set<BackupId> withChains(Set<BackupId> kept) {
        Map<BackupId, BackupManifest> byId = new HashMap<>();
        written.forEach(m -> byId.put(m.id(), m));
        Set<BackupId> out = new TreeSet<>(kept);
        for (BackupId k : kept) {
            BackupManifest m = byId.get(k);
            while (m.parent().isPresent()) {
                out.add(m.parent().get());
                m = byId.get(m.parent().get());
            }
        }
        return out;
    }

    RetentionPlan plan(RetentionRules rules) {
        return RetentionInventory.plan(repo, cluster(), rules, NOW);
    }

    RetentionEnforcer.Outcome enforce(RetentionPlan plan, List<RetentionEnforcer.Batch> batches) {
        return new RetentionEnforcer(repo, Clock.fixed(NOW, ZoneOffset.UTC), batches::add).enforce(plan);
    }

    Set<BackupId> stored() {
        Set<BackupId> out = new TreeSet<>();
        new dev.holdfast.repository.backup.BackupCatalog(repo).list("main", SYSID).values().stream().filter(e -> e.complete())
                .forEach(e -> out.add(e.id()));
        return out;
    }

    /** Every kept base backup is restorable to the newest WAL, by the repository's own WAL reading. */
    void assertEveryKeptBackupHasItsWal(Set<BackupId> kept) {
        WalIndex wal = WalArea.index(repo, new WalLayout("main", SYSID)).orElseThrow();
        for (BackupManifest m : written) {
            if (kept.contains(m.id())) {
                WalReach r = WalReach.of(wal, m.timeline(), m.startLsn(), m.stopLsn());
                assertTrue(r.consistent() && r.toLatest(), m.id() + " lost WAL: " + r);
            }
        }
    }

    @Test
    void aYearOfDailyBackupsKeepsExactlyTheGfsSlotsTheirChainsAndTheirWal() {
        writeYear();
        Set<BackupId> expected = gfsExpectation(7, 4, 12);
        RetentionPlan plan = plan(rules(Duration.ZERO));

        assertEquals(expected, new TreeSet<>(plan.kept().stream().filter(k -> !k.equals(recentIncomplete)).toList()), plan::toString);
        // Sanity of the expectation itself: 7 days + 4 weeks + 12 months overlap, and incrementals pull in their week's full.
        assertTrue(expected.size() > 12 && expected.size() < 7 + 4 + 12 + 7 * 6, "" + expected.size());
        RetentionPlan.BackupDecision newest = plan.backups().stream().filter(d -> d.id().equals(written.get(written.size() - 1).id())).findFirst().orElseThrow();
        assertTrue(newest.reasons().contains("daily slot 2026-11-24"), "23:30 UTC on the 23rd is the 24th in Berlin: " + newest);
        assertTrue(plan.backups().stream().anyMatch(d -> d.reasons().stream().anyMatch(r -> r.startsWith("parent of kept"))), plan::toString);
        RetentionPlan.BackupDecision old = plan.backups().stream().filter(d -> d.id().equals(oldIncomplete)).findFirst().orElseThrow();
        assertEquals(RetentionPlan.Action.GARBAGE, old.action());
        RetentionPlan.BackupDecision recent = plan.backups().stream().filter(d -> d.id().equals(recentIncomplete)).findFirst().orElseThrow();
        assertEquals(RetentionPlan.Action.KEEP, recent.action(), "still within its grace: it may be running");
        assertTrue(plan.backups().stream().filter(d -> d.action() == RetentionPlan.Action.DROP)
                .allMatch(d -> d.reasons().equals(List.of("beyond 7 daily / 4 weekly / 12 monthly"))), plan::toString);

        // WAL: exactly the segments before the oldest kept backup's start segment go.
        BackupManifest oldestKept = written.stream().filter(m -> expected.contains(m.id())).findFirst().orElseThrow();
        long cutoff = oldestKept.startLsn().segmentNumber(TestBackups.WAL_SEGMENT);
        Set<String> expectedWal = new TreeSet<>();
        for (long n = 1; n < cutoff; n++) {
            expectedWal.add(b.walLayout().segment(WalSegmentName.ofNumber(1, n, TestBackups.WAL_SEGMENT)).value());
        }
        assertEquals(expectedWal, new TreeSet<>(plan.wal().stream().map(w -> w.key().value()).toList()));

        List<RetentionEnforcer.Batch> batches = new ArrayList<>();
        RetentionEnforcer.Outcome out = enforce(plan, batches);
        assertEquals(List.of(), out.skipped());
        Set<BackupId> expectedStored = new TreeSet<>(expected);
        assertEquals(expectedStored, stored());
        assertEquals(List.of(), Futures.await(store.listAll(b.layout(oldIncomplete).prefix())), "garbage removed");
        assertFalse(Futures.await(store.listAll(b.layout(recentIncomplete).prefix())).isEmpty(), "a running backup is left alone");
        assertEquals(written.size() - expected.size() + 0, out.backupsRemoved().size());
        assertTrue(batches.stream().mapToInt(x -> x.deleted().size()).sum() == out.deleted());
        assertEveryKeptBackupHasItsWal(expected);
        BackupVerifier.Report report = new BackupVerifier(repo).verify("main", SYSID, Optional.empty(), false);
        assertEquals(Optional.empty(), report.failure(), report::toString);

        // Re-running the same policy deletes nothing more.
        RetentionPlan again = plan(rules(Duration.ZERO));
        assertEquals(List.of(), again.deleted(), again::toString);
        assertEquals(List.of(), again.wal());
    }

    @Test
    void thePitrWindowKeepsItsBackupsTheOneBeforeItAndItsWal() {
        writeYear();
        // Daily 0 / weekly 0 / monthly 0: only the window (and the newest) keep anything.
        RetentionRules rules = new RetentionRules(0, 0, 0, Duration.ofDays(10), ZONE, RetentionRules.DEFAULT_GRACE);
        RetentionPlan plan = plan(rules);
        Instant windowStart = NOW.minus(Duration.ofDays(10));
        Set<BackupId> inWindow = new TreeSet<>();
        BackupId before = null;
        for (BackupManifest m : written) {
            if (m.finishedAt().isBefore(windowStart)) {
                before = m.id();
            } else {
                inWindow.add(m.id());
            }
        }
        Set<BackupId> expected = new HashSet<>(inWindow);
        expected.add(before);
        expected = withChains(expected);
        assertEquals(expected, new TreeSet<>(plan.kept().stream().filter(k -> !k.equals(recentIncomplete)).toList()), plan::toString);
        BackupId servesStart = before;
        assertTrue(plan.backups().stream().anyMatch(d -> d.id().equals(servesStart) && d.reasons().get(0).startsWith("serves the PITR window")));
        enforce(plan, new ArrayList<>());
        assertEveryKeptBackupHasItsWal(expected);
        // Nothing stored within the window was deleted.
        WalIndex wal = WalArea.index(repo, new WalLayout("main", SYSID)).orElseThrow();
        for (int n = 1; n <= lastSegment; n++) {
            Path f = dir.resolve("repo").resolve(b.walLayout().segment(WalSegmentName.ofNumber(1, n, TestBackups.WAL_SEGMENT)).value());
            assertTrue(Files.exists(f) || wal.segment(WalSegmentName.ofNumber(1, n, TestBackups.WAL_SEGMENT)).isEmpty());
        }
    }

    @Test
    void lockedBackupsAndWalSurviveAndTheirWalIsKept() {
        writeYear();
        // An old backup that GFS drops, locked for another month, with its manifests and packs.
        BackupManifest lockedBackup = written.stream().filter(m -> m.id().type().token().equals("full")).skip(3).findFirst().orElseThrow();
        Instant until = NOW.plus(Duration.ofDays(30));
        for (ObjectInfo o : Futures.await(store.listAll(b.layout(lockedBackup.id()).prefix()))) {
            store.locked.put(o.key().value(), until);
        }
        // And the very first WAL segment, which every plan deletes.
        ObjectKey firstSegment = b.walLayout().segment(WalSegmentName.ofNumber(1, 1, TestBackups.WAL_SEGMENT));
        store.locked.put(firstSegment.value(), until);

        RetentionPlan plan = plan(rules(Duration.ZERO));
        RetentionPlan.BackupDecision d = plan.backups().stream().filter(x -> x.id().equals(lockedBackup.id())).findFirst().orElseThrow();
        assertEquals(RetentionPlan.Action.KEEP, d.action());
        assertEquals(List.of("locked (compliance) until " + until), d.reasons());
        assertTrue(plan.wal().stream().anyMatch(w -> w.key().equals(firstSegment)));
        assertTrue(plan.wal().stream().noneMatch(w -> w.key().equals(b.walLayout().segment(
                WalSegmentName.of(1, lockedBackup.startLsn(), TestBackups.WAL_SEGMENT)))), "the locked backup's WAL is kept");

        RetentionEnforcer.Outcome out = enforce(plan, new ArrayList<>());
        assertEquals(List.of(firstSegment), out.skipped().stream().map(RetentionEnforcer.Skipped::key).toList());
        assertTrue(out.skipped().get(0).reason().startsWith("locked (compliance) until"));
        assertTrue(Futures.await(store.head(firstSegment)).isPresent());
        assertTrue(stored().contains(lockedBackup.id()));
        for (String k : store.locked.keySet()) {
            assertTrue(Files.exists(dir.resolve("repo").resolve(k)), k);
        }
        Set<BackupId> kept = new HashSet<>(plan.kept());
        assertEveryKeptBackupHasItsWal(kept);
        BackupVerifier.Report report = new BackupVerifier(repo).verify("main", SYSID, Optional.empty(), false);
        assertEquals(Optional.empty(), report.failure(), report::toString);
    }

    @Test
    void aPruneInterruptedAtAnyPointLeavesARepositoryVerifyAcceptsAndARerunCompletes() {
        writeYear();
        Set<BackupId> expected = gfsExpectation(7, 4, 12);
        // Crash after 1, 2, 3, 4, 6, 9, ... deletions, verify, re-plan and go on: every phase of the
        // order (marker, manifest, copy, packs, marker, WAL) is cut somewhere.
        int n = 1;
        int interruptions = 0;
        while (true) {
            store.deletesLeft.set(n);
            RetentionPlan plan = plan(rules(Duration.ZERO));
            try {
                enforce(plan, new ArrayList<>());
                break;
            } catch (StoreException e) {
                assertEquals("simulated crash", e.getMessage());
                interruptions++;
            }
            store.deletesLeft.set(Integer.MAX_VALUE);
            BackupVerifier.Report report = new BackupVerifier(repo).verify("main", SYSID, Optional.empty(), false);
            assertEquals(Optional.empty(), report.failure(), "after " + interruptions + " interruption(s): " + report.errors());
            assertTrue(stored().containsAll(expected), "a kept backup was touched");
            n = n + n / 2 + 1;
        }
        assertTrue(interruptions >= 10, "" + interruptions);
        store.deletesLeft.set(Integer.MAX_VALUE);
        assertEquals(expected, stored());
        assertEveryKeptBackupHasItsWal(expected);
        BackupVerifier.Report report = new BackupVerifier(repo).verify("main", SYSID, Optional.empty(), false);
        assertEquals(Optional.empty(), report.failure(), report::toString);
        assertTrue(report.problems().stream().noneMatch(p -> p.kind() == BackupVerifier.Kind.PRUNING), report::toString);
        RetentionPlan done = plan(rules(Duration.ZERO));
        assertEquals(List.of(), done.deleted());
    }

    @Test
    void aHalfDeletedBackupIsReportedAsBeingPrunedNotAsDamaged() {
        BackupManifest full = b.full("20261101T233000Z-full", 2, TestBackups.files("base/1/1"));
        b.full("20261102T233000Z-full", 3, TestBackups.files("base/1/1"));
        b.wal(1, 1, 4);
        RetentionPlan plan = RetentionPlanner.plan("main", SYSID, RetentionInventory.backups(repo, cluster()),
                RetentionInventory.wal(repo, cluster()), new RetentionRules(1, 0, 0, Duration.ZERO, ZONE, Duration.ZERO), NOW);
        assertEquals(List.of(full.id()), plan.deleted().stream().map(RetentionPlan.BackupDecision::id).toList());
        store.deletesLeft.set(1); // marker written, manifest deleted, crash before manifest.copy
        assertThrows(StoreException.class, () -> enforce(plan, new ArrayList<>()));
        store.deletesLeft.set(Integer.MAX_VALUE);
        assertTrue(Files.exists(dir.resolve("repo").resolve(b.layout(full.id()).manifestCopy().value())));
        BackupVerifier.Report report = new BackupVerifier(repo).verify("main", SYSID, Optional.empty(), false);
        assertEquals(Optional.empty(), report.failure(), report::toString);
        assertEquals(List.of(BackupVerifier.Kind.PRUNING), report.warnings().stream().map(BackupVerifier.Problem::kind).toList());
        RetentionPlan again = RetentionInventory.plan(repo, cluster(), new RetentionRules(1, 0, 0, Duration.ZERO, ZONE, Duration.ZERO), NOW);
        assertEquals(List.of("an earlier retention run started deleting it: finishing"), again.deleted().get(0).reasons());
        enforce(again, new ArrayList<>());
        assertEquals(List.of(), Futures.await(store.listAll(b.layout(full.id()).prefix())));
    }
}
