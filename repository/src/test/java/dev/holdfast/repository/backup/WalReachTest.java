package dev.holdfast.repository.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.repository.wal.WalIndex;
import dev.holdfast.repository.wal.WalLayout;
import dev.holdfast.repository.wal.WalObject;
import dev.holdfast.repository.wal.WalSegmentName;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** How far the stored WAL carries a backup: its own range, gaps after it, later timelines, parts. */
class WalReachTest {
    static final long SEG = 1 << 20;
    static final WalLayout LAYOUT = new WalLayout("main", "7300000000000000001");

    static WalObject complete(int tli, long n) {
        return LAYOUT.classify(LAYOUT.segment(WalSegmentName.ofNumber(tli, n, SEG)), 100, Instant.EPOCH.plusSeconds(n));
    }

    static List<WalObject> segments(int tli, long from, long to) {
        List<WalObject> out = new ArrayList<>();
        for (long n = from; n <= to; n++) {
            out.add(complete(tli, n));
        }
        return out;
    }

    static Lsn at(long segment, long offset) {
        return Lsn.of(segment * SEG + offset);
    }

    @Test
    void aBackupWhoseWalRunsToTheNewestIsRestorableToLatest() {
        WalIndex ix = new WalIndex(SEG, segments(1, 3, 6));
        WalReach r = WalReach.of(ix, 1, at(3, 0x28), at(3, 0x138));
        assertTrue(r.consistent() && r.toLatest(), r::toString);
        assertEquals(at(7, 0), r.reached());
        assertEquals(Optional.of(at(7, 0)), r.newest());
        assertEquals(Optional.of(Instant.EPOCH.plusSeconds(6)), r.reachedAt());
    }

    @Test
    void aGapAfterTheStopCapsTheWindowAndOneInsideTheRangeMakesItUnrestorable() {
        List<WalObject> objects = new ArrayList<>(segments(1, 3, 4));
        objects.addAll(segments(1, 6, 7));
        WalIndex ix = new WalIndex(SEG, objects);
        WalReach capped = WalReach.of(ix, 1, at(3, 0x28), at(4, 0x138));
        assertTrue(capped.consistent() && !capped.toLatest());
        assertEquals(at(5, 0), capped.reached());
        assertEquals(Optional.of(WalSegmentName.ofNumber(1, 5, SEG)), capped.gap());

        assertFalse(WalReach.of(ix, 1, at(4, 0x28), at(5, 0x138)).consistent(), "its stop LSN is in the missing segment");
        assertFalse(WalReach.of(ix, 1, at(9, 0x28), at(9, 0x138)).consistent(), "no WAL at all from its start");
        assertFalse(WalReach.of(null, 1, at(3, 0x28), at(3, 0x138)).consistent(), "no WAL area");
    }

    @Test
    void aPartlyStoredLastSegmentCountsUpToItsParts() {
        List<WalObject> objects = new ArrayList<>(segments(1, 3, 3));
        objects.add(LAYOUT.classify(LAYOUT.part(WalSegmentName.ofNumber(1, 4, SEG), 0, 0x2000), 10, Instant.EPOCH.plusSeconds(40)));
        WalIndex ix = new WalIndex(SEG, objects);
        WalReach r = WalReach.of(ix, 1, at(3, 0x28), at(4, 0x1000));
        assertTrue(r.consistent() && r.toLatest(), r::toString);
        assertEquals(at(4, 0x2000), r.reached());
        assertEquals(Optional.of(Instant.EPOCH.plusSeconds(40)), r.reachedAt());
        assertFalse(WalReach.of(ix, 1, at(3, 0x28), at(4, 0x3000)).consistent(), "the stop LSN is past the stored parts");
    }

    @Test
    void aLaterTimelineContinuesTheWindowWhenItStartsWhereTheOldOneEnds() {
        List<WalObject> objects = new ArrayList<>(segments(1, 3, 5));
        objects.addAll(segments(2, 5, 8));
        WalReach r = WalReach.of(new WalIndex(SEG, objects), 1, at(3, 0x28), at(3, 0x138));
        assertTrue(r.toLatest(), r::toString);
        assertEquals(2, r.reachedTimeline());
        assertEquals(at(9, 0), r.reached());

        List<WalObject> late = new ArrayList<>(segments(1, 3, 5));
        late.addAll(segments(2, 8, 9));
        WalReach gap = WalReach.of(new WalIndex(SEG, late), 1, at(3, 0x28), at(3, 0x138));
        assertFalse(gap.toLatest());
        assertEquals(at(6, 0), gap.reached());
        assertEquals(Optional.of(at(10, 0)), gap.newest());
    }
}
