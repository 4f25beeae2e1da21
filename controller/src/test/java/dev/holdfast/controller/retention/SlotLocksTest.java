package dev.holdfast.controller.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.holdfast.controller.catalog.JobRecord;
import dev.holdfast.controller.catalog.JobState;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.repository.store.ObjectLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The retain-until of a scheduled backup's Object Lock follows its GFS slot, in the policy's zone. */
class SlotLocksTest {
    static final Instant START = Instant.parse("2026-03-28T01:30:00Z"); // Berlin switches to summer time on the 29th

    @TempDir
    Path dir;

    ControllerConfig config() throws Exception {
        Path yaml = dir.resolve("controller.yaml");
        Files.writeString(yaml, """
                listen: 127.0.0.1:0
                data_dir: %s
                auth:
                  bootstrap_admin_token_file: %s
                policies:
                  default:
                    retention: { daily: 7, weekly: 4, monthly: 12, pitr_window: 7d }
                  locked:
                    sources: ["db1/*"]
                    time_zone: Europe/Berlin
                    retention: { daily: 7, weekly: 0, monthly: 12, lock: compliance, interval: 0m }
                """.formatted(dir.resolve("data"), dir.resolve("admin.token")));
        return ControllerConfig.load(yaml, cron -> { });
    }

    static JobRecord job(String host, String tag) {
        return new JobRecord("j-1", host, "main", "backup", "full", tag, JobState.QUEUED, "schedule", "scheduler", Optional.empty(),
                START, Optional.empty(), Optional.empty(), Optional.empty(), 0, 0, "", Optional.empty(), Optional.empty(), Optional.empty(),
                Map.of());
    }

    @Test
    void eachTagIsLockedUntilItsSlotEndsAndPoliciesWithoutLockGetNone() throws Exception {
        ControllerConfig c = config();
        assertEquals(Optional.of(ObjectLock.Mode.COMPLIANCE), c.policies().get("locked").retention().lock());
        assertEquals(java.time.Duration.ZERO, c.policies().get("locked").retention().interval());
        SlotLocks locks = new SlotLocks(c, Clock.fixed(START, ZoneOffset.UTC));
        // Seven calendar days in Berlin across the change to summer time: one hour less in UTC.
        assertEquals(Optional.of(new ObjectLock(ObjectLock.Mode.COMPLIANCE, Instant.parse("2026-04-04T00:30:00Z"))), locks.apply(job("db1", "daily")));
        assertEquals(Optional.of(new ObjectLock(ObjectLock.Mode.COMPLIANCE, Instant.parse("2027-03-28T01:30:00Z"))), locks.apply(job("db1", "monthly")));
        assertEquals(Optional.empty(), locks.apply(job("db1", "weekly")), "weekly: 0 keeps no weekly slot, so no lock");
        assertEquals(locks.apply(job("db1", "daily")), locks.apply(job("db1", "adhoc")), "other tags as daily");
        assertEquals(Optional.empty(), locks.apply(job("db2", "daily")), "the default policy has no lock");
        assertEquals(Optional.of(Instant.parse("2026-04-25T01:30:00Z")),
                SlotLocks.retainUntil(c.policies().get("default"), "weekly", START), "4 weeks in UTC");
    }
}
