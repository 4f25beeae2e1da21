package dev.holdfast.controller.verify;

import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.controller.schedule.CronExpression;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs the scheduled verification: at each fire time of {@code verify.schedule} (read in
 * {@code verify.time_zone}), one {@link VerificationService#scheduled} run over every backup.
 *
 * <p>Every tick (a Vert.x timer, and {@link #tick()} for tests): {@code due} is the cron's latest
 * fire time at or before now; if it is after the last claimed slot (or none was ever claimed), the
 * slot is claimed in the catalog ({@link Catalog#claimScheduledRun} with host {@code ""}, source
 * {@code *} and tag {@code verify}), and only the caller whose claim succeeds runs it. So a
 * restarted controller never runs a slot twice, controllers sharing a catalog run it once, and a
 * controller that was down at the fire time runs the missed slot (once, however many it missed)
 * when it is back. A tick while a run is in progress does nothing.
 *
 * <p>The sample of a run is sized by the number of fire times in the next
 * {@code verify.read_data_within} (see {@link DataSample}).
 */
public final class VerifySchedule {
    /** The scheduled_runs key of the verification. */
    static final String HOST = "";
    static final String SOURCE = "*";
    static final String TAG = "verify";
    /** How often the schedule is looked at. */
    static final Duration TICK = Duration.ofSeconds(30);

    private final Vertx vertx;
    private final Catalog catalog;
    private final VerificationService service;
    private final ControllerConfig.Verification settings;
    private final CronExpression cron;
    private final Clock clock;
    private final AtomicBoolean running = new AtomicBoolean();
    private long timerId = -1;

    public VerifySchedule(Vertx vertx, Catalog catalog, VerificationService service, ControllerConfig.Verification settings, Clock clock) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.catalog = Objects.requireNonNull(catalog, "catalog");
        this.service = Objects.requireNonNull(service, "service");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.cron = CronExpression.parse(settings.schedule());
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Starts the periodic tick (the first one at once). */
    public void start() {
        tick();
        timerId = vertx.setPeriodic(TICK.toMillis(), id -> tick());
    }

    /** Stops ticking; a run in progress finishes. */
    public void stop() {
        if (timerId >= 0) {
            vertx.cancelTimer(timerId);
            timerId = -1;
        }
    }

    /** Runs the due slot if it is new and this caller claims it; empty when nothing ran. */
    public Future<Optional<VerificationService.Outcome>> tick() {
        if (!running.compareAndSet(false, true)) {
            return Future.succeededFuture(Optional.empty());
        }
        Instant now = clock.instant();
        Instant due = cron.previous(now.atZone(settings.timeZone())).toInstant();
        return catalog.lastScheduledRun(HOST, SOURCE, TAG).compose(last -> {
            if (last.isPresent() && !due.isAfter(last.get())) {
                return Future.succeededFuture(Optional.<VerificationService.Outcome>empty());
            }
            String jobId = service.newJobId();
            return catalog.claimScheduledRun(HOST, SOURCE, TAG, due, jobId).compose(claimed -> {
                if (!claimed) {
                    return Future.succeededFuture(Optional.<VerificationService.Outcome>empty());
                }
                int runs = DataSample.runsWithin(cron, settings.timeZone(), now, settings.readDataWithin());
                return service.scheduled(due, runs, jobId).map(Optional::of);
            });
        }).onComplete(ar -> running.set(false));
    }
}
