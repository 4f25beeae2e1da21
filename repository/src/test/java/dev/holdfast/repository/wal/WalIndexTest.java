package dev.holdfast.repository.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.holdfast.repository.store.ObjectKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Reading a WAL listing: part chains, coverage, where a writer may resume, gaps. */
class WalIndexTest {
    static final long SEG = 1 << 20;
    static final WalLayout LAYOUT = new WalLayout("main", "7300000000000000001");

    static WalSegmentName seg(long n) {
        return WalSegmentName.ofNumber(1, n, SEG);
    }

    static WalObject complete(long n) {
        ObjectKey k = LAYOUT.segment(seg(n));
        return LAYOUT.classify(k, 100, Instant.EPOCH);
    }

    static WalObject part(long n, long start, long end) {
        return LAYOUT.classify(LAYOUT.part(seg(n), start, end), 10, Instant.EPOCH.plusSeconds(n));
    }

    @Test
    void chainsPartsFromZeroThroughOverlapsAndStopsAtAHole() {
        List<WalObject> objects = new ArrayList<>(List.of(part(3, 0, 100), part(3, 50, 300), part(3, 100, 200), part(3, 400, 500)));
        WalIndex index = new WalIndex(SEG, objects);
        assertEquals(300, index.coveredTo(seg(3)), "0-100 then the part reaching furthest (50-300); 400-500 is past a hole");
        assertEquals(2, index.chain(seg(3)).size());
        objects.add(part(3, 0, 600));
        assertEquals(600, new WalIndex(SEG, objects).coveredTo(seg(3)), "a restated part from 0 wins");
    }

    @Test
    void aWriterResumesAtTheFirstHoleNotAfterTheHighestObject() {
        // Segments 2 and 3 complete; 4 only partly (its complete upload never landed); parts of 5.
        WalIndex index = new WalIndex(SEG, List.of(complete(2), complete(3), part(4, 0, 4096), part(5, 0, 8192)));
        assertEquals(Optional.of(seg(5).startLsn(SEG).plus(8192)), index.durableEnd(1), "the highest point, for reporting");
        assertEquals(seg(4).startLsn(SEG).plus(4096), index.contiguousEnd(1, seg(2).startLsn(SEG)), "resume in the hole");
        assertEquals(List.of(seg(4)), index.gaps(1));
        // A base inside the hole's covered bytes (a slot's restart position) resumes at the hole's end too.
        assertEquals(seg(4).startLsn(SEG).plus(4096), index.contiguousEnd(1, seg(4).startLsn(SEG).plus(1000)));
        // Never before the base: everything before it is known durable.
        assertEquals(seg(6).startLsn(SEG).plus(10), index.contiguousEnd(1, seg(6).startLsn(SEG).plus(10)));
    }

    @Test
    void partsOfCompleteSegmentsAreSupersededAndPartOnlySegmentsAreListed() {
        WalIndex index = new WalIndex(SEG, List.of(complete(2), part(2, 0, 100), part(3, 0, SEG)));
        assertEquals(1, index.supersededParts().size());
        assertEquals(List.of(seg(3)), index.partOnlySegments());
        assertEquals(SEG, index.coveredTo(seg(3)));
        assertEquals(List.of(), index.gaps(1));
    }
}
