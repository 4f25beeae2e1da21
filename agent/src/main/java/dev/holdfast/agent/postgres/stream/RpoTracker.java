package dev.holdfast.agent.postgres.stream;

import dev.holdfast.repository.wal.Lsn;
import java.time.Clock;
import java.util.ArrayDeque;

/**
 * The live RPO: the age of the oldest WAL byte received from the server that is not yet durable in
 * the repository, 0 when everything received is durable. If the host died now, that much time's
 * worth of committed WAL would be lost (plus whatever the server had not sent yet, which is
 * normally milliseconds: the server sends WAL as soon as it is flushed).
 *
 * <p>Arrivals are recorded as (end position, time) marks, at most one per {@link #GRANULARITY_MS}
 * so memory stays bounded under any load. {@link #received} and {@link #durable} run on one event
 * loop; {@link #seconds} may be called from any thread (a metrics scrape).
 */
final class RpoTracker {
    static final long GRANULARITY_MS = 10;
    private final Clock clock;
    private final ArrayDeque<long[]> marks = new ArrayDeque<>();
    /** Arrival time of the oldest mark not yet durable, or -1: published for other threads. */
    private volatile long oldestMillis = -1;

    RpoTracker(Clock clock) {
        this.clock = clock;
    }

    /** WAL up to {@code end} arrived now. */
    void received(Lsn end) {
        long now = clock.millis();
        long[] last = marks.peekLast();
        if (last != null && now - last[1] < GRANULARITY_MS) {
            last[0] = end.value();
            return;
        }
        marks.addLast(new long[] {end.value(), now});
        if (marks.size() == 1) {
            oldestMillis = now;
        }
    }

    /** Everything before {@code durable} is in the repository. */
    void durable(Lsn durable) {
        while (!marks.isEmpty() && Long.compareUnsigned(marks.peekFirst()[0], durable.value()) <= 0) {
            marks.removeFirst();
        }
        long[] first = marks.peekFirst();
        oldestMillis = first == null ? -1 : first[1];
    }

    /** Forgets everything (the session ended; what was not durable will be streamed again). */
    void reset() {
        marks.clear();
        oldestMillis = -1;
    }

    /** Seconds since the oldest not-yet-durable WAL arrived; 0 when caught up. */
    double seconds() {
        long oldest = oldestMillis;
        return oldest < 0 ? 0 : Math.max(0, clock.millis() - oldest) / 1000.0;
    }
}
