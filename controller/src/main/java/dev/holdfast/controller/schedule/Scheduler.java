package dev.holdfast.controller.schedule;

import dev.holdfast.controller.catalog.AgentRecord;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.JobRecord;
import dev.holdfast.controller.catalog.JobState;
import dev.holdfast.controller.catalog.Page;
import dev.holdfast.controller.catalog.PageRequest;
import dev.holdfast.controller.catalog.SourceRecord;
import dev.holdfast.controller.config.BackupTypes;
import dev.holdfast.controller.config.ControllerConfig;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Turns the configured schedules into queued backup jobs.
 *
 * <p>Every tick (a Vert.x timer, and {@link #tick()} for tests) looks at every (host, source,
 * tag) of the catalog's sources, with the schedule of the policy covering {@code host/source}:
 * <ol>
 *   <li>{@code due} is the cron's latest fire time at or before now, read in the policy's zone.</li>
 *   <li>Nothing happens before {@code due + jitter}, where the jitter is a pseudo-random delay in
 *       [0, max] derived from (host, source, tag, due) alone (see {@link #jitter}): a restarted
 *       controller, or a second one sharing the catalog, waits exactly as long. {@code max} is the
 *       policy's jitter, capped at half the time to the cron's next slot so that a slot always
 *       runs before the next one supersedes it.</li>
 *   <li>The slot is new if it is after the last claimed slot of (host, source, tag); when none was
 *       ever claimed, only if it is after the agent's enrolment, so a new agent gets no backlog.</li>
 *   <li>A new slot is claimed in the catalog (a unique key); only the one caller whose claim
 *       succeeds acts on it. If a scheduled job of the same source and tag is still open (queued,
 *       dispatched or running), the slot is claimed for that job ({@link Catalog#claimScheduledRun})
 *       and audited as {@code backup.skipped}: jobs never stack. Otherwise the claim and a
 *       {@code backup} job in state queued are written in one transaction
 *       ({@link Catalog#claimScheduledJob}), audited as {@code backup.scheduled} and handed to
 *       {@code onQueued}, which dispatches it now or when the agent reconnects.</li>
 * </ol>
 *
 * <p>Guarantees that follow: after downtime only the latest missed slot runs (once, since older
 * slots are never looked at); no slot runs twice, across restarts and concurrent schedulers,
 * since only the claim's winner creates a job; an offline agent's slot is one queued job, which
 * stays queued until the agent is back (and later slots are skipped meanwhile).
 *
 * <p>Cost: a tick reads the source list; per (host, source, tag) it computes one
 * {@link CronExpression#previous} and touches the catalog only when that slot is new to this
 * instance (remembered in memory after it is settled), so a steady-state tick does no per-source
 * queries.
 *
 * <p>Threading: everything runs on the Vert.x context the scheduler was created on; ticks do not
 * overlap (a tick asked for while one runs starts after it).
 */
public final class Scheduler {
    /** The default period between ticks. */
    public static final Duration DEFAULT_TICK = Duration.ofSeconds(2);
    static final String ACTOR = "scheduler";
    private static final System.Logger LOG = System.getLogger(Scheduler.class.getName());
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    private final Vertx vertx;
    private final Context context;
    private final Catalog catalog;
    private final ControllerConfig config;
    private final Clock clock;
    private final Random random;
    private final Consumer<JobRecord> onQueued;
    private final Duration tickInterval;
    private final Map<String, CronExpression> crons = new HashMap<>();
    /** Per (host, source, tag): the slot this instance last saw settled (claimed by anyone, or not due). */
    private final Map<Key, Instant> settled = new HashMap<>();
    private Future<List<JobRecord>> current = Future.succeededFuture(List.of());
    private long timer = -1;

    /**
     * @param vertx      the timer and the context everything runs on (the caller's, or a new one)
     * @param catalog    claims, jobs, audit
     * @param config     policies: schedules, zone, jitter, source globs
     * @param clock      now
     * @param random     job ids (a SecureRandom in production)
     * @param onQueued   called on the scheduler's context with every job it queued
     */
    public Scheduler(Vertx vertx, Catalog catalog, ControllerConfig config, Clock clock, Random random,
                     Consumer<JobRecord> onQueued) {
        this(vertx, catalog, config, clock, random, onQueued, DEFAULT_TICK);
    }

    /** As above, with the timer's period. */
    public Scheduler(Vertx vertx, Catalog catalog, ControllerConfig config, Clock clock, Random random,
                     Consumer<JobRecord> onQueued, Duration tickInterval) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.context = vertx.getOrCreateContext();
        this.catalog = Objects.requireNonNull(catalog, "catalog");
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
        this.onQueued = Objects.requireNonNull(onQueued, "onQueued");
        if (tickInterval.isNegative() || tickInterval.isZero()) {
            throw new IllegalArgumentException("tick interval must be positive, not " + tickInterval);
        }
        this.tickInterval = tickInterval;
        // Fail at construction, not at the first tick, on an expression the config reader let through.
        for (ControllerConfig.Policy p : config.policies().values()) {
            for (ControllerConfig.Schedule s : p.schedules().values()) {
                cron(s.cron());
            }
        }
    }

    /** Starts the periodic timer (the first tick runs one period from now). Idempotent. */
    public Future<Void> start() {
        return onContext(() -> {
            if (timer < 0) {
                timer = vertx.setPeriodic(tickInterval.toMillis(), id -> {
                    if (current.isComplete()) {
                        tick();
                    }
                });
            }
            return Future.succeededFuture();
        });
    }

    /** Stops the timer and completes once a running tick has finished. Idempotent. */
    public Future<Void> stop() {
        return onContext(() -> {
            if (timer >= 0) {
                vertx.cancelTimer(timer);
                timer = -1;
            }
            return current.<Void>transform(ar -> Future.succeededFuture());
        });
    }

    /**
     * Evaluates every schedule once against the clock's now and returns the jobs it queued. Never
     * fails for one source's trouble (that is logged and retried next tick); fails only when the
     * source list cannot be read.
     */
    public Future<List<JobRecord>> tick() {
        return onContext(() -> {
            Future<List<JobRecord>> next = current.transform(ar -> runTick());
            current = next;
            return next;
        });
    }

    /**
     * The delay added to slot {@code due} of (host, source, tag): uniform in [0, max] at
     * millisecond resolution, from SHA-256 of the four. A hash, not a random draw, so that any
     * scheduler instance at any time computes the same delay for the same slot; jitter spreads
     * load and is not a secret.
     */
    public static Duration jitter(String host, String source, String tag, Instant due, Duration max) {
        if (max.isZero() || max.isNegative()) {
            return Duration.ZERO;
        }
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (String s : List.of(host, source, tag)) {
                d.update(s.getBytes(StandardCharsets.UTF_8));
                d.update((byte) 0);
            }
            d.update(ByteBuffer.allocate(12).putLong(due.getEpochSecond()).putInt(due.getNano()).array());
            long h = ByteBuffer.wrap(d.digest()).getLong();
            return Duration.ofMillis(Long.remainderUnsigned(h, max.toMillis() + 1));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private <T> Future<T> onContext(java.util.function.Supplier<Future<T>> work) {
        Promise<T> p = Promise.promise();
        context.runOnContext(v -> {
            try {
                work.get().onComplete(p);
            } catch (RuntimeException e) {
                p.fail(e);
            }
        });
        return p.future();
    }

    private CronExpression cron(String text) {
        return crons.computeIfAbsent(text, CronExpression::parse);
    }

    private Future<List<JobRecord>> runTick() {
        Instant now = clock.instant();
        return allSources(PageRequest.FIRST, new ArrayList<>()).compose(sources -> {
            List<Slot> slots = new ArrayList<>();
            Set<Key> seen = new HashSet<>();
            for (SourceRecord s : sources) {
                if (!BackupTypes.SCHEDULED_SOURCE_TYPES.contains(s.type())) {
                    continue;
                }
                boolean postgres = "postgres".equals(s.type());
                ControllerConfig.Policy policy = config.policyFor(s.host(), s.name());
                for (ControllerConfig.Schedule sch : policy.schedules().values()) {
                    boolean drill = BackupTypes.DRILL_TAG.equals(sch.tag());
                    if (drill && !postgres) {
                        continue; // drills are of postgres sources
                    }
                    Key key = new Key(s.host(), s.name(), sch.tag());
                    seen.add(key);
                    CronExpression cron = cron(sch.cron());
                    ZonedDateTime dueAt = cron.previous(now.atZone(policy.timeZone()));
                    Instant due = dueAt.toInstant();
                    if (due.equals(settled.get(key))) {
                        continue;
                    }
                    // At most half the time to the next slot: a jitter as long as the period would let
                    // each slot be overtaken by the next before it ran.
                    Duration half = Duration.between(due, cron.next(dueAt).toInstant()).dividedBy(2);
                    Duration max = policy.jitter().compareTo(half) > 0 ? half : policy.jitter();
                    if (now.isBefore(due.plus(jitter(key.host, key.source, key.tag, due, max)))) {
                        continue;
                    }
                    slots.add(drill ? new Slot(key, sch, "drill", "restore", due)
                            : new Slot(key, sch, "backup", BackupTypes.scheduled(s.type(), sch.type()), due));
                }
            }
            // Forget sources and tags that are gone.
            settled.keySet().retainAll(seen);
            List<JobRecord> queued = new ArrayList<>();
            Map<String, Future<Optional<AgentRecord>>> agents = new HashMap<>();
            return each(slots, 0, slot -> settle(slot, now, agents).map(job -> {
                job.ifPresent(queued::add);
                return null;
            })).map(v -> List.copyOf(queued));
        });
    }

    private Future<List<SourceRecord>> allSources(PageRequest page, List<SourceRecord> into) {
        return catalog.sources(page).compose((Page<SourceRecord> p) -> {
            into.addAll(p.items());
            if (p.next().isEmpty() || p.items().isEmpty()) {
                return Future.succeededFuture(into);
            }
            return allSources(new PageRequest(p.next(), page.limit()), into);
        });
    }

    /** Runs {@code step} on each slot in turn; one slot's failure is logged and does not stop the others. */
    private Future<Void> each(List<Slot> slots, int i, java.util.function.Function<Slot, Future<Void>> step) {
        Promise<Void> done = Promise.promise();
        next(slots, i, step, done);
        return done.future();
    }

    /**
     * One slot, then the next on a fresh stack, and {@code done} completed once after the last: a
     * promise per slot completing the previous slot's would recurse as deep as there are slots when
     * the last one completes (a StackOverflowError, and a tick that never completes, at about
     * 10,000 sources in the fleet simulation).
     */
    private void next(List<Slot> slots, int i, java.util.function.Function<Slot, Future<Void>> step, Promise<Void> done) {
        if (i == slots.size()) {
            done.complete();
            return;
        }
        Slot slot = slots.get(i);
        step.apply(slot).onComplete(ar -> {
            if (ar.failed()) {
                LOG.log(Level.WARNING, "schedule " + slot.key + " slot " + slot.due + " not settled, retried next tick: "
                        + ar.cause().getMessage());
            }
            // A fresh stack per slot: with many slots and synchronously completed futures the chain would otherwise recurse.
            context.runOnContext(v -> next(slots, i + 1, step, done));
        });
    }

    /** Decides one due slot: nothing (not new, or another scheduler won), a skip, or a queued job. */
    private Future<Optional<JobRecord>> settle(Slot slot, Instant now, Map<String, Future<Optional<AgentRecord>>> agents) {
        Key k = slot.key;
        return catalog.lastScheduledRun(k.host, k.source, k.tag).compose(last -> {
            if (last.isPresent()) {
                return Future.succeededFuture(last.get().isBefore(slot.due));
            }
            return agents.computeIfAbsent(k.host, catalog::agent).map(agent ->
                    // An unknown agent has no enrolment to compare with: leave the slot for a later tick.
                    agent.map(a -> slot.due.isAfter(a.enrolledAt())).orElse(false));
        }).compose(isNew -> {
            if (!isNew) {
                settled.put(k, slot.due);
                return Future.succeededFuture(Optional.<JobRecord>empty());
            }
            return catalog.openJobs(k.host).compose(open -> {
                Optional<JobRecord> busy = open.stream()
                        .filter(j -> j.source().equals(k.source) && j.tag().equals(k.tag) && "schedule".equals(j.trigger()))
                        .findFirst();
                return busy.isPresent() ? skip(slot, busy.get(), now) : queue(slot, now);
            });
        });
    }

    private Future<Optional<JobRecord>> skip(Slot slot, JobRecord busy, Instant now) {
        Key k = slot.key;
        return catalog.claimScheduledRun(k.host, k.source, k.tag, slot.due, busy.id()).compose(won -> {
            settled.put(k, slot.due);
            if (!won) {
                return Future.succeededFuture(Optional.empty());
            }
            String detail = "tag " + k.tag + ", slot " + slot.due + ": job " + busy.id() + " of slot "
                    + busy.scheduledFor().map(Instant::toString).orElse("(none)") + " is still " + busy.state().wire();
            LOG.log(Level.INFO, "backup skipped for " + k.host + "/" + k.source + ", " + detail);
            return catalog.appendAudit(new AuditRecord(0, now, busy.id(), ACTOR, "system", "backup.skipped", k.host + "/" + k.source,
                    "refused", detail)).map(seq -> Optional.empty());
        });
    }

    private Future<Optional<JobRecord>> queue(Slot slot, Instant now) {
        Key k = slot.key;
        String id = newJobId(now);
        JobRecord job = new JobRecord(id, k.host, k.source, slot.kind, slot.type, k.tag, JobState.QUEUED, "schedule",
                ACTOR, Optional.of(slot.due), now, Optional.empty(), Optional.empty(), Optional.empty(), 0, 0, "",
                Optional.empty(), Optional.empty(), Optional.empty(), Map.of());
        String detail = "tag " + k.tag + ", type " + slot.type + ", slot " + slot.due + ", job " + id;
        // The claim and the job are one transaction: a crash leaves either both or neither, so a
        // claimed slot always has its job and an unclaimed one is tried again by the next tick.
        return catalog.claimScheduledJob(job).compose(won -> {
            settled.put(k, slot.due);
            if (!won) {
                return Future.succeededFuture(Optional.empty());
            }
            return catalog.appendAudit(new AuditRecord(0, now, id, ACTOR, "system", slot.kind + ".scheduled", k.host + "/" + k.source, "ok",
                    detail)).map(seq -> {
                        try {
                            onQueued.accept(job);
                        } catch (RuntimeException e) {
                            // Dispatch trouble leaves the job queued; the link dispatches open jobs when the agent reconnects.
                            LOG.log(Level.WARNING, "onQueued failed for job " + id + ": " + e.getMessage());
                        }
                        return Optional.of(job);
                    });
        });
    }

    /** {@code j-<UTC time>-<8 random hex>}, the form ad-hoc jobs use too. */
    private String newJobId(Instant now) {
        byte[] b = new byte[4];
        random.nextBytes(b);
        return "j-" + ID_TIME.format(now) + "-" + HexFormat.of().formatHex(b);
    }

    private record Key(String host, String source, String tag) {
        @Override
        public String toString() {
            return host + "/" + source + " " + tag;
        }
    }

    /**
     * One due run: {@code kind} {@code backup}, of the {@code type} its source takes
     * ({@link BackupTypes#scheduled}), or {@code drill} (the reserved tag {@link BackupTypes#DRILL_TAG}).
     */
    private record Slot(Key key, ControllerConfig.Schedule schedule, String kind, String type, Instant due) {
    }
}
