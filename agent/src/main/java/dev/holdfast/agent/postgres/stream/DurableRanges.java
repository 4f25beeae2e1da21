package dev.holdfast.agent.postgres.stream;

import dev.holdfast.repository.wal.Lsn;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which WAL byte ranges are durable in the repository, and how far they reach without a hole from
 * a starting point: the only position the agent may ever report to PostgreSQL as flushed.
 *
 * <p>Parts and complete segments finish uploading in any order; each adds its range here and
 * {@link #durable()} moves only when the ranges join up. Not thread-safe: used on one event loop.
 */
final class DurableRanges {
    private final TreeMap<Long, Long> ranges = new TreeMap<>(Long::compareUnsigned);
    private long durable;

    /** Everything before {@code start} counts as durable (it was, before this session). */
    DurableRanges(Lsn start) {
        this.durable = start.value();
    }

    /** Records [start, end) as durable; returns true when {@link #durable()} moved. */
    boolean add(Lsn start, Lsn end) {
        long s = start.value();
        long e = end.value();
        if (Long.compareUnsigned(e, s) <= 0 || Long.compareUnsigned(e, durable) <= 0) {
            return false;
        }
        if (Long.compareUnsigned(s, durable) > 0) {
            // Merge with any overlapping or touching pending ranges.
            Map.Entry<Long, Long> floor = ranges.floorEntry(s);
            if (floor != null && Long.compareUnsigned(floor.getValue(), s) >= 0) {
                s = floor.getKey();
                e = Long.compareUnsigned(floor.getValue(), e) > 0 ? floor.getValue() : e;
                ranges.remove(floor.getKey());
            }
            Map.Entry<Long, Long> next;
            while ((next = ranges.ceilingEntry(s)) != null && Long.compareUnsigned(next.getKey(), e) <= 0) {
                e = Long.compareUnsigned(next.getValue(), e) > 0 ? next.getValue() : e;
                ranges.remove(next.getKey());
            }
            ranges.put(s, e);
            return false;
        }
        long before = durable;
        durable = e;
        Map.Entry<Long, Long> next;
        while ((next = ranges.firstEntry()) != null && Long.compareUnsigned(next.getKey(), durable) <= 0) {
            if (Long.compareUnsigned(next.getValue(), durable) > 0) {
                durable = next.getValue();
            }
            ranges.remove(next.getKey());
        }
        return durable != before;
    }

    Lsn durable() {
        return Lsn.of(durable);
    }

    /** Ranges waiting for a hole before them to be filled. */
    int pending() {
        return ranges.size();
    }
}
