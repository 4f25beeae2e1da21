package dev.holdfast.repository.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.repository.wal.WalLayout;
import dev.holdfast.repository.wal.WalObject;
import dev.holdfast.repository.wal.WalSegmentName;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The planner alone, on hand-made facts: the edges of the definition in docs/retention.md. */
class RetentionPlannerTest {
    static final long SEG = 1 << 24;
    static final Instant NOW = Instant.parse("2026-11-24T12:00:00Z");
    static final WalLayout WAL = new WalLayout("main", "7300000000000000001");

    static BackupFacts full(String id, int timeline, long segment, Duration took) {
        BackupId b = BackupId.parse(id);
        return new BackupFacts(b, "full", true, true, Optional.of("daily"), Optional.empty(), timeline, Lsn.of(segment * SEG + 40),
                b.startedAt().plus(took), b.startedAt().plus(took), ObjectInfo.LockState.NONE, false);
    }

    static WalObject segment(int timeline, long n, Instant stored) {
        WalSegmentName s = WalSegmentName.ofNumber(timeline, n, SEG);
        return new WalObject(WalObject.Type.SEGMENT, WAL.segment(s), s.toString(), s, timeline, 0, 0, 100, stored);
    }

    static WalObject history(int timeline) {
        ObjectKey k = WAL.history(timeline);
        return new WalObject(WalObject.Type.HISTORY, k, k.value().substring(WAL.listPrefix().length()), null, timeline, 0, 0, 10, NOW);
    }

    static Set<String> kept(RetentionPlan p) {
        return p.kept().stream().map(BackupId::toString).collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void aPauseInBackupsExpiresNothingTakenBeforeIt() {
        List<BackupFacts> b = List.of(full("20260901T020000Z-full", 1, 1, Duration.ofMinutes(5)),
                full("20260902T020000Z-full", 1, 2, Duration.ofMinutes(5)), full("20260903T020000Z-full", 1, 3, Duration.ofMinutes(5)));
        RetentionPlan p = RetentionPlanner.plan("main", "1", b, Optional.empty(),
                new RetentionRules(2, 0, 0, Duration.ZERO, ZoneOffset.UTC, Duration.ofDays(1)), NOW);
        assertEquals(Set.of("20260902T020000Z-full", "20260903T020000Z-full"), kept(p), "the newest 2 days with a backup, months ago");
    }

    @Test
    void walOfOlderTimelinesGoesLaterTimelinesAndHistoriesStay() {
        // The oldest kept backup is on timeline 2 at segment 10; timeline 1 ends at 9, timeline 3 follows from 20.
        List<BackupFacts> b = List.of(full("20260901T020000Z-full", 1, 3, Duration.ofMinutes(5)),
                full("20261120T020000Z-full", 2, 10, Duration.ofMinutes(5)), full("20261123T020000Z-full", 3, 21, Duration.ofMinutes(5)));
        List<WalObject> wal = new ArrayList<>();
        Instant old = Instant.parse("2026-10-01T00:00:00Z");
        for (long n = 3; n <= 9; n++) {
            wal.add(segment(1, n, old));
        }
        for (long n = 8; n <= 20; n++) {
            wal.add(segment(2, n, old));
        }
        for (long n = 20; n <= 22; n++) {
            wal.add(segment(3, n, old));
        }
        wal.add(history(2));
        wal.add(history(3));
        RetentionPlan p = RetentionPlanner.plan("main", "1", b, Optional.of(new RetentionPlanner.WalInventory(SEG, wal)),
                new RetentionRules(2, 0, 0, Duration.ZERO, ZoneOffset.UTC, Duration.ofDays(1)), NOW);
        assertEquals(Set.of("20261120T020000Z-full", "20261123T020000Z-full"), kept(p));
        Set<String> deleted = p.wal().stream().map(w -> w.key().value().substring(WAL.listPrefix().length()))
                .collect(Collectors.toCollection(TreeSet::new));
        Set<String> expected = new TreeSet<>();
        for (long n = 3; n <= 9; n++) {
            expected.add(WalSegmentName.ofNumber(1, n, SEG).toString());
        }
        expected.add(WalSegmentName.ofNumber(2, 8, SEG).toString());
        expected.add(WalSegmentName.ofNumber(2, 9, SEG).toString());
        assertEquals(expected, deleted, "timeline 1 whole, timeline 2 before segment 10; timeline 3 and the history files stay");
        assertEquals(WalSegmentName.ofNumber(1, 3, SEG).toString(), p.wal().get(0).key().value().substring(WAL.listPrefix().length()),
                "oldest first");
    }

    @Test
    void aBackupServesThePitrWindowOnlyFromWhenItFinished() {
        // The window starts 2026-11-17T12:00Z. The second backup started before it but finished after.
        List<BackupFacts> b = List.of(full("20261116T020000Z-full", 1, 2, Duration.ofMinutes(5)),
                full("20261117T110000Z-full", 1, 4, Duration.ofHours(2)), full("20261120T020000Z-full", 1, 6, Duration.ofMinutes(5)));
        List<WalObject> wal = new ArrayList<>();
        for (long n = 1; n <= 7; n++) {
            wal.add(segment(1, n, Instant.parse("2026-11-16T00:00:00Z").plus(Duration.ofDays(n))));
        }
        RetentionPlan p = RetentionPlanner.plan("main", "1", b, Optional.of(new RetentionPlanner.WalInventory(SEG, wal)),
                new RetentionRules(1, 0, 0, Duration.ofDays(7), ZoneOffset.UTC, Duration.ofDays(1)), NOW);
        assertEquals(Set.of("20261116T020000Z-full", "20261117T110000Z-full", "20261120T020000Z-full"), kept(p));
        assertTrue(p.backups().get(0).reasons().get(0).startsWith("serves the PITR window's start"), p::toString);
        assertTrue(p.backups().get(1).reasons().get(0).startsWith("inside PITR window"), p::toString);
        // Segment 1 precedes the oldest kept backup (segment 2) and was stored before the window: it goes; nothing else does.
        assertEquals(List.of(WalSegmentName.ofNumber(1, 1, SEG).toString()),
                p.wal().stream().map(w -> w.key().value().substring(WAL.listPrefix().length())).toList());
    }

    @Test
    void anIncrementalKeepsItsWholeChainAndALockedBackupIsKept() {
        BackupFacts f = full("20260101T020000Z-full", 1, 1, Duration.ofMinutes(5));
        BackupFacts i1 = new BackupFacts(BackupId.parse("20260102T020000Z-incr"), "incr", true, true, Optional.of("daily"), Optional.of(f.id()),
                1, Lsn.of(2 * SEG), null, Instant.parse("2026-01-02T02:05:00Z"), ObjectInfo.LockState.NONE, false);
        BackupFacts i2 = new BackupFacts(BackupId.parse("20260103T020000Z-incr"), "incr", true, true, Optional.of("daily"), Optional.of(i1.id()),
                1, Lsn.of(3 * SEG), null, Instant.parse("2026-01-03T02:05:00Z"), ObjectInfo.LockState.NONE, false);
        BackupFacts locked = new BackupFacts(BackupId.parse("20251201T020000Z-full"), "full", true, true, Optional.empty(), Optional.empty(), 1,
                Lsn.of(SEG / 2), null, Instant.parse("2025-12-01T02:05:00Z"),
                new ObjectInfo.LockState(null, null, true), false);
        RetentionPlan p = RetentionPlanner.plan("main", "1", List.of(locked, f, i1, i2), Optional.empty(),
                new RetentionRules(1, 0, 0, Duration.ZERO, ZoneOffset.UTC, Duration.ofDays(1)), NOW);
        assertEquals(Set.of("20251201T020000Z-full", "20260101T020000Z-full", "20260102T020000Z-incr", "20260103T020000Z-incr"), kept(p));
        assertEquals(List.of("under legal hold"), p.backups().get(0).reasons());
        assertEquals(List.of("parent of kept 20260102T020000Z-incr"), p.backups().get(1).reasons());
        assertEquals(List.of("parent of kept 20260103T020000Z-incr"), p.backups().get(2).reasons());
    }

    @Test
    void aBackupAnOpenRestoreReadsIsKeptWithItsChainAndTheWalAfterIt() {
        BackupFacts f = full("20260101T020000Z-full", 1, 1, Duration.ofMinutes(5));
        BackupFacts i = new BackupFacts(BackupId.parse("20260102T020000Z-incr"), "incr", true, true, Optional.of("daily"), Optional.of(f.id()),
                1, Lsn.of(2 * SEG), null, Instant.parse("2026-01-02T02:05:00Z"), ObjectInfo.LockState.NONE, false);
        BackupFacts newest = full("20261123T020000Z-full", 1, 9, Duration.ofMinutes(5));
        List<WalObject> wal = new ArrayList<>();
        for (long n = 1; n <= 9; n++) {
            wal.add(segment(1, n, Instant.parse("2026-01-01T00:00:00Z")));
        }
        RetentionRules rules = new RetentionRules(1, 0, 0, Duration.ZERO, ZoneOffset.UTC, Duration.ofDays(1));
        Optional<RetentionPlanner.WalInventory> inventory = Optional.of(new RetentionPlanner.WalInventory(SEG, wal));
        assertEquals(Set.of("20261123T020000Z-full"), kept(RetentionPlanner.plan("main", "1", List.of(f, i, newest), inventory, rules, NOW)),
                "without the pin both old backups go");
        RetentionPlan p = RetentionPlanner.plan("main", "1", List.of(f, i, newest), inventory, rules, NOW,
                java.util.Map.of(i.id(), "read by restore r-1 (running)"));
        assertEquals(Set.of("20260101T020000Z-full", "20260102T020000Z-incr", "20261123T020000Z-full"), kept(p));
        assertEquals(List.of("read by restore r-1 (running)"), p.backups().get(1).reasons());
        assertEquals(List.of("parent of kept 20260102T020000Z-incr"), p.backups().get(0).reasons());
        assertEquals(List.of(), p.wal(), "the WAL from the pinned chain's full onward stays");
    }
}
