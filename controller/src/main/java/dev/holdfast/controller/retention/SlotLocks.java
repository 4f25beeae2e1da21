package dev.holdfast.controller.retention;

import dev.holdfast.controller.catalog.JobRecord;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.repository.store.ObjectLock;
import java.time.Clock;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * The Object Lock a backup job carries when its policy sets {@code retention.lock}
 * (docs/retention.md, "Object lock"): retained from the job's dispatch (when the backup starts) to
 * the end of the GFS slot its tag aims at: {@code daily} + {@code daily} days, {@code weekly} +
 * {@code weekly} weeks, {@code monthly} + {@code monthly} months in the policy's zone; any other tag
 * (ad-hoc) as daily. A count of 0 gives no lock for that tag: no slot of that kind keeps it.
 */
public final class SlotLocks implements Function<JobRecord, Optional<ObjectLock>> {
    private final ControllerConfig config;
    private final Clock clock;

    public SlotLocks(ControllerConfig config, Clock clock) {
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    public Optional<ObjectLock> apply(JobRecord job) {
        ControllerConfig.Policy p = config.policyFor(job.host(), job.source());
        if (p == null || p.retention().lock().isEmpty()) {
            return Optional.empty();
        }
        return retainUntil(p, job.tag(), clock.instant()).map(until -> new ObjectLock(p.retention().lock().get(), until));
    }

    /** Until when a backup tagged {@code tag} that starts at {@code start} is locked under policy {@code p}; empty for none. */
    public static Optional<Instant> retainUntil(ControllerConfig.Policy p, String tag, Instant start) {
        ControllerConfig.Retention r = p.retention();
        ZonedDateTime t = start.atZone(p.timeZone());
        ZonedDateTime until = switch (tag) {
            case "weekly" -> r.weekly() == 0 ? null : t.plusWeeks(r.weekly());
            case "monthly" -> r.monthly() == 0 ? null : t.plusMonths(r.monthly());
            default -> r.daily() == 0 ? null : t.plusDays(r.daily());
        };
        return Optional.ofNullable(until).map(ZonedDateTime::toInstant);
    }
}
