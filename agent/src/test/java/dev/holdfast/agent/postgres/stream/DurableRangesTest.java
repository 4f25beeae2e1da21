package dev.holdfast.agent.postgres.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.repository.wal.Lsn;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DurableRangesTest {
    private static Lsn l(long v) {
        return Lsn.of(v);
    }

    @Test
    void movesOnlyWhenRangesJoinUp() {
        DurableRanges r = new DurableRanges(l(100));
        assertFalse(r.add(l(200), l(300)), "a range after a hole does not move the durable position");
        assertEquals(l(100), r.durable());
        assertTrue(r.add(l(100), l(200)));
        assertEquals(l(300), r.durable(), "filling the hole joins the pending range");
        assertEquals(0, r.pending());
        assertFalse(r.add(l(50), l(250)), "already durable");
        assertTrue(r.add(l(250), l(400)), "an overlap that reaches further moves it");
        assertEquals(l(400), r.durable());
    }

    @Test
    void anyCompletionOrderGivesTheSameResult() {
        Random random = new Random(42);
        for (int round = 0; round < 200; round++) {
            List<long[]> pieces = new ArrayList<>();
            long pos = 1000;
            for (int i = 0; i < 20; i++) {
                long len = 1 + random.nextInt(100);
                long overlap = random.nextInt(3) == 0 ? Math.min(pos - 1000, random.nextInt(20)) : 0;
                pieces.add(new long[] {pos - overlap, pos + len});
                pos += len;
            }
            Collections.shuffle(pieces, random);
            DurableRanges r = new DurableRanges(l(1000));
            long lastSeen = 1000;
            for (long[] p : pieces) {
                r.add(l(p[0]), l(p[1]));
                assertTrue(r.durable().value() >= lastSeen, "never moves backwards");
                lastSeen = r.durable().value();
            }
            assertEquals(pos, r.durable().value());
            assertEquals(0, r.pending());
        }
    }
}
