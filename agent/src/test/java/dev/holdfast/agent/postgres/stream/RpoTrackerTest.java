package dev.holdfast.agent.postgres.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.holdfast.repository.wal.Lsn;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class RpoTrackerTest {
    static final class ManualClock extends Clock {
        long millis;

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis);
        }
    }

    @Test
    void ageOfTheOldestWalNotYetDurable() {
        ManualClock clock = new ManualClock();
        RpoTracker rpo = new RpoTracker(clock);
        assertEquals(0.0, rpo.seconds(), "nothing received: caught up");
        rpo.received(Lsn.of(100));
        clock.millis += 300;
        rpo.received(Lsn.of(200));
        clock.millis += 500;
        assertEquals(0.8, rpo.seconds(), 1e-9);
        rpo.durable(Lsn.of(150));
        assertEquals(0.5, rpo.seconds(), 1e-9, "bytes 150-200 are not durable yet and arrived 0.5 s ago");
        rpo.durable(Lsn.of(100));
        rpo.durable(Lsn.of(200));
        assertEquals(0.0, rpo.seconds(), "caught up");
    }

    @Test
    void marksAreCoalescedSoMemoryIsBounded() {
        ManualClock clock = new ManualClock();
        RpoTracker rpo = new RpoTracker(clock);
        for (int i = 1; i <= 10_000; i++) {
            rpo.received(Lsn.of(i));
        }
        clock.millis += 2000;
        assertEquals(2.0, rpo.seconds(), 1e-9);
        rpo.durable(Lsn.of(10_000));
        assertEquals(0.0, rpo.seconds());
    }
}
