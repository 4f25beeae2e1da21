package dev.holdfast.controller.retention;

import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.PageRequest;
import dev.holdfast.controller.catalog.RestoreRecord;
import dev.holdfast.controller.catalog.SourceRecord;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.retention.RetentionEnforcer;
import dev.holdfast.repository.retention.RetentionInventory;
import dev.holdfast.repository.retention.RetentionPlan;
import dev.holdfast.repository.retention.RetentionRules;
import dev.holdfast.repository.store.Futures;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * A policy's retention in the controller: its plan (a dry run) and its enforcement, on demand and
 * every {@code retention.interval} (docs/retention.md, docs/api.md).
 *
 * <p>Reading and deleting in the repository block, so both run on a worker
 * ({@code executeBlocking}); one enforcement runs at a time (a second is refused with
 * {@code conflict}). Each deletion batch is appended to the audit log ({@code retention.delete},
 * with the objects' count, the backups removed and the objects skipped under a lock) and the removed
 * backups' catalog rows are deleted before the run goes on, so the audit never lags the bucket by
 * more than one batch.
 */
public final class RetentionService {
    /** How often the periodic check looks for policies whose interval has passed. */
    static final Duration CHECK = Duration.ofMinutes(1);
    /** Most WAL deletions listed one by one in a plan's JSON (their count is always given). */
    static final int WAL_LISTED = 1000;
    static final String ACTION = "retention.delete";

    private final Vertx vertx;
    private final Catalog catalog;
    private final ControllerConfig config;
    private final Clock clock;
    private final EventLog log;
    private final Supplier<Optional<Repository>> repository;
    private final AtomicBoolean running = new AtomicBoolean();
    /** Set by {@link #stop()}: no new run starts, and a running one ends after its current batch. */
    private volatile boolean stopping;
    /** The enforcement in progress (or the last one), which {@link #stop()} waits for. */
    private volatile Future<?> current = Future.succeededFuture();
    private final Map<String, Instant> lastRun = new HashMap<>();
    private long timer = -1;

    /**
     * @param repository the repository, opened on first use (empty when the controller has none
     *                   configured); called on a worker thread
     */
    public RetentionService(Vertx vertx, Catalog catalog, ControllerConfig config, Clock clock, EventLog log,
                            Supplier<Optional<Repository>> repository) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.catalog = Objects.requireNonNull(catalog, "catalog");
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.log = Objects.requireNonNull(log, "log");
        this.repository = Objects.requireNonNull(repository, "repository");
    }

    /** The retention rules of a policy. */
    public static RetentionRules rules(ControllerConfig.Policy p) {
        ControllerConfig.Retention r = p.retention();
        return new RetentionRules(r.daily(), r.weekly(), r.monthly(), r.pitrWindow(), p.timeZone(), RetentionRules.DEFAULT_GRACE);
    }

    private ControllerConfig.Policy policy(String name) {
        ControllerConfig.Policy p = config.policies().get(name);
        if (p == null) {
            throw new HoldfastException(ErrorCode.NOT_FOUND, "no policy '" + name + "' (GET /api/v1/policies lists them)");
        }
        return p;
    }

    /** The plan of policy {@code name} now, as docs/api.md shows it. Deletes nothing. */
    public Future<JsonObject> plan(String name) {
        ControllerConfig.Policy p;
        try {
            p = policy(name);
        } catch (HoldfastException e) {
            return Future.failedFuture(e);
        }
        Instant now = clock.instant();
        return sources().compose(sources -> pins().compose(pins -> vertx.executeBlocking(() -> {
            List<RetentionPlan> plans = plans(p, sources, pins, now);
            JsonArray clusters = new JsonArray();
            plans.forEach(pl -> clusters.add(planJson(pl)));
            return head(p, now).put("clusters", clusters);
        }, false)));
    }

    /**
     * Enforces policy {@code name} now: plans it afresh and deletes what the plan drops, auditing each
     * batch as {@code actor} ({@code role}) under {@code requestId}.
     */
    public Future<JsonObject> enforce(String name, String actor, String role, String requestId) {
        ControllerConfig.Policy p;
        try {
            p = policy(name);
        } catch (HoldfastException e) {
            return Future.failedFuture(e);
        }
        if (stopping) {
            return Future.failedFuture(new HoldfastException(ErrorCode.RETENTION_UNAVAILABLE, "the controller is stopping"));
        }
        if (!running.compareAndSet(false, true)) {
            return Future.failedFuture(new HoldfastException(ErrorCode.CONFLICT, "a retention run is in progress; try again when it ends"));
        }
        Instant now = clock.instant();
        Future<JsonObject> run = sources().compose(sources -> pins().compose(pins -> vertx.executeBlocking(() -> {
            Repository repo = repo();
            JsonArray clusters = new JsonArray();
            for (RetentionPlan plan : plans(p, sources, pins, now)) {
                RetentionEnforcer.Outcome out = new RetentionEnforcer(repo, clock, batch -> recordBatch(batch, actor, role, requestId))
                        .enforce(plan);
                JsonArray skipped = new JsonArray();
                out.skipped().forEach(s -> skipped.add(new JsonObject().put("object", s.key().value()).put("reason", s.reason())));
                clusters.add(new JsonObject().put("source", plan.source()).put("system_id", plan.systemId())
                        .put("deleted", out.deleted()).put("wal_deleted", out.walDeleted())
                        .put("backups_removed", new JsonArray(out.backupsRemoved().stream().map(BackupId::toString).toList()))
                        .put("kept", new JsonArray(plan.kept().stream().map(BackupId::toString).toList()))
                        .put("skipped", skipped));
                log.info("retention_enforced", "policy", p.name(), "source", plan.source(), "system_id", plan.systemId(),
                        "deleted", out.deleted(), "backups_removed", out.backupsRemoved().size(), "skipped", out.skipped().size());
            }
            synchronized (lastRun) {
                lastRun.put(p.name(), now);
            }
            return head(p, now).put("clusters", clusters);
        }, false))).onComplete(x -> running.set(false));
        current = run;
        return run;
    }

    /** Starts the periodic enforcement of every policy with an {@code interval}. */
    public void start() {
        timer = vertx.setPeriodic(CHECK.toMillis(), id -> tick());
    }

    /**
     * Stops the periodic runs and waits for the one in progress, which ends after its current batch
     * is deleted and audited (an interrupted run leaves a consistent repository; the next start
     * finishes it). Never fails.
     */
    public Future<Void> stop() {
        stopping = true;
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
        return current.<Void>mapEmpty().otherwiseEmpty();
    }

    /** Enforces each policy whose interval has passed since its last run (at once after a start). */
    public Future<Void> tick() {
        Instant now = clock.instant();
        Future<Void> chain = Future.succeededFuture();
        for (ControllerConfig.Policy p : config.policies().values()) {
            Duration every = p.retention().interval();
            Instant last;
            synchronized (lastRun) {
                last = lastRun.get(p.name());
            }
            if (every.isZero() || (last != null && last.plus(every).isAfter(now))) {
                continue;
            }
            chain = chain.compose(v -> enforce(p.name(), "retention", "system", "").<Void>mapEmpty().recover(e -> {
                HoldfastException h = HoldfastException.find(e);
                if (h == null || h.code() != ErrorCode.RETENTION_UNAVAILABLE) {
                    log.warn("retention_failed", "policy", p.name(), "error", h == null ? e.toString() : h.code().code() + ": " + h.getMessage());
                }
                synchronized (lastRun) {
                    lastRun.put(p.name(), now); // retried at the next interval, not every minute
                }
                return Future.succeededFuture();
            }));
        }
        return chain;
    }

    private Repository repo() {
        return repository.get().orElseThrow(() -> new HoldfastException(ErrorCode.RETENTION_UNAVAILABLE,
                "the controller has no repository configured ('repository:' in its file), so it cannot plan or enforce retention"));
    }

    /** Blocking: the plans of every cluster {@code p} covers, keeping the backups {@code pins} names per cluster. */
    private List<RetentionPlan> plans(ControllerConfig.Policy p, List<SourceRecord> sources, Map<String, Map<BackupId, String>> pins,
                                      Instant now) {
        Repository repo = repo();
        PolicyClusters coverage = new PolicyClusters(config, sources);
        List<RetentionPlan> out = new ArrayList<>();
        for (RetentionInventory.Cluster c : RetentionInventory.clusters(repo, s -> true)) {
            if (coverage.covers(p, c)) {
                out.add(RetentionInventory.plan(repo, c, rules(p), now, pins.getOrDefault(pinKey(c.source(), c.systemId()), Map.of())));
            }
        }
        return out;
    }

    /**
     * The backups that approved and running restores read, per cluster ({@link #pinKey}): kept
     * whatever their slot, so that retention never deletes a backup under a restore that was
     * authorized to read it. (A request approved after the plan was read is not seen by that run;
     * its restore then fails, before writing anything when the manifest, which goes first, is
     * already gone: docs/retention.md.)
     */
    private Future<Map<String, Map<BackupId, String>>> pins() {
        return catalog.openRestores(Optional.empty()).map(open -> {
            Map<String, Map<BackupId, String>> out = new HashMap<>();
            for (RestoreRecord r : open) {
                BackupId id;
                try {
                    id = BackupId.parse(r.backupId());
                } catch (RuntimeException e) {
                    continue; // not a backup of this repository's layout: nothing to keep
                }
                out.computeIfAbsent(pinKey(r.source(), r.systemId()), k -> new HashMap<>())
                        .merge(id, "read by restore " + r.id() + " (" + r.state().wire() + ")", (a, b) -> a + "; " + b);
            }
            return out;
        });
    }

    private static String pinKey(String source, String systemId) {
        return source + "/" + systemId;
    }

    /** Every source the catalog knows (all pages). */
    private Future<List<SourceRecord>> sources() {
        List<SourceRecord> all = new ArrayList<>();
        return page(PageRequest.FIRST.cursor(), all).map(v -> all);
    }

    private Future<Void> page(Optional<String> cursor, List<SourceRecord> into) {
        return catalog.sources(new PageRequest(cursor, PageRequest.MAX_LIMIT)).compose(pg -> {
            into.addAll(pg.items());
            return pg.next().isPresent() ? page(pg.next(), into) : Future.succeededFuture();
        });
    }

    /** Blocking (a worker): audits one batch and removes its backups' catalog rows, before the run goes on. */
    private void recordBatch(RetentionEnforcer.Batch b, String actor, String role, String requestId) {
        String object = b.source() + "/" + b.systemId();
        StringBuilder detail = new StringBuilder("deleted ").append(b.deleted().size()).append(" object(s)");
        if (!b.backupsRemoved().isEmpty()) {
            detail.append("; backups removed: ").append(String.join(", ", b.backupsRemoved().stream().map(BackupId::toString).toList()));
        }
        if (!b.deleted().isEmpty()) {
            detail.append("; first ").append(b.deleted().get(0).value()).append(", last ").append(b.deleted().get(b.deleted().size() - 1).value());
        }
        if (!b.skipped().isEmpty()) {
            detail.append("; skipped ").append(b.skipped().size()).append(" under lock, e.g. ").append(b.skipped().get(0).key().value())
                    .append(" (").append(b.skipped().get(0).reason()).append(")");
        }
        await(catalog.appendAudit(new AuditRecord(0, clock.instant(), requestId, actor, role, ACTION, object, "ok", detail.toString())));
        for (BackupId id : b.backupsRemoved()) {
            await(catalog.deleteBackup(b.source(), b.systemId(), id.toString()));
        }
        if (stopping) {
            throw new HoldfastException(ErrorCode.RETENTION_UNAVAILABLE, "the controller is stopping: retention stopped after a recorded"
                    + " batch; the next run finishes it");
        }
    }

    private static <T> T await(Future<T> f) {
        return Futures.await(f.toCompletionStage(), Duration.ofMinutes(5), ErrorCode.INTERNAL, "recording a retention batch");
    }

    private static JsonObject head(ControllerConfig.Policy p, Instant now) {
        ControllerConfig.Retention r = p.retention();
        return new JsonObject().put("policy", p.name()).put("at", now.toString())
                .put("rules", new JsonObject().put("daily", r.daily()).put("weekly", r.weekly()).put("monthly", r.monthly())
                        .put("pitr_window_seconds", r.pitrWindow().toSeconds()).put("time_zone", p.timeZone().getId()));
    }

    static JsonObject planJson(RetentionPlan plan) {
        JsonArray backups = new JsonArray();
        for (RetentionPlan.BackupDecision d : plan.backups()) {
            backups.add(new JsonObject().put("id", d.id().toString()).put("type", d.type()).put("action", d.action().token())
                    .put("reasons", new JsonArray(d.reasons())));
        }
        JsonArray wal = new JsonArray();
        plan.wal().stream().limit(WAL_LISTED).forEach(w -> wal.add(new JsonObject().put("object", w.key().value())
                .put("timeline", w.timeline()).put("reason", w.reason())));
        return new JsonObject().put("source", plan.source()).put("system_id", plan.systemId()).put("backups", backups)
                .put("kept", plan.kept().size()).put("deleted", plan.deleted().size())
                .put("wal_delete_count", plan.wal().size()).put("wal_delete", wal).put("notes", new JsonArray(plan.notes()));
    }
}
