package dev.holdfast.controller.link;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.holdfast.controller.catalog.JobRecord;
import dev.holdfast.controller.catalog.JobState;
import dev.holdfast.protocol.v1.JobRequest;
import dev.holdfast.repository.store.ObjectLock;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A backup job carries its Object Lock on the wire (docs/protocol.md, JobRequest.lock_mode / lock_retain_until_ms). */
class JobRequestLockTest {
    @Test
    void theLockTravelsInTheRequestAndIsAbsentWithoutOne() {
        JobRecord job = new JobRecord("j-1", "db1", "main", "backup", "incr", "daily", JobState.QUEUED, "schedule", "scheduler",
                Optional.empty(), Instant.EPOCH, Optional.empty(), Optional.empty(), Optional.empty(), 0, 0, "", Optional.empty(),
                Optional.empty(), Optional.empty(), Map.of());
        Instant until = Instant.parse("2026-12-01T02:00:00Z");
        JobRequest r = Jobs.request(job, Optional.of(new ObjectLock(ObjectLock.Mode.GOVERNANCE, until)));
        assertEquals("GOVERNANCE", r.getLockMode());
        assertEquals(until.toEpochMilli(), r.getLockRetainUntilMs());
        assertEquals("daily", r.getTag());
        JobRequest none = Jobs.request(job, Optional.empty());
        assertEquals("", none.getLockMode());
        assertEquals(0, none.getLockRetainUntilMs());
    }
}
