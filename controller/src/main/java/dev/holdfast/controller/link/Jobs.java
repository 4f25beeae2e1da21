package dev.holdfast.controller.link;

import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.BackupRecord;
import dev.holdfast.controller.config.BackupTypes;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.JobChange;
import dev.holdfast.controller.catalog.JobRecord;
import dev.holdfast.controller.catalog.JobState;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.v1.ControllerMessage;
import dev.holdfast.protocol.v1.Hello;
import dev.holdfast.protocol.v1.JobProgress;
import dev.holdfast.protocol.v1.JobRequest;
import dev.holdfast.protocol.v1.DrillCheck;
import dev.holdfast.protocol.v1.DrillReport;
import dev.holdfast.protocol.v1.JobResult;
import dev.holdfast.repository.store.ObjectLock;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Jobs: created by the API ({@link #requestBackup}) or the scheduler ({@link #queued}), sent to
 * the agent that has the source, and recorded as they progress and finish.
 *
 * <h2>Delivery</h2>
 * A job is stored {@code queued} first, then marked {@code dispatched} and written to the agent's
 * link if it has one; an agent without a link gets its queued and dispatched jobs when it next
 * says Hello ({@link #resync}). The agent deduplicates by job id, so sending a job twice is
 * harmless. A job the controller believes {@code running} but the agent neither runs nor has a
 * result for (the agent restarted) fails with {@code agent_unavailable}. Results of jobs already
 * finished are ignored, so an agent may repeat them (it does, in every Hello, until they age out).
 */
public final class Jobs {
    /** The kind (and tag) of restore drill jobs. */
    public static final String DRILL = "drill";
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    private final Catalog catalog;
    private final AgentSessions sessions;
    private final Clock clock;
    private final SecureRandom random;
    private final LinkListener listener;
    /** Per host, the last dispatch or resync queued: the next one runs after it (see {@link #queued}). */
    private final Map<String, Future<Void>> hostChains = new HashMap<>();
    /** The Object Lock a backup job carries (retention's GFS slot lock); none until {@link #locks} is set. */
    private volatile Function<JobRecord, Optional<ObjectLock>> locks = job -> Optional.empty();

    public Jobs(Catalog catalog, AgentSessions sessions, Clock clock, SecureRandom random, LinkListener listener) {
        this.catalog = Objects.requireNonNull(catalog, "catalog");
        this.sessions = Objects.requireNonNull(sessions, "sessions");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
        this.listener = Objects.requireNonNull(listener, "listener");
    }

    /** Sets how a backup job's Object Lock is chosen (docs/retention.md, "Object lock"). */
    public Jobs locks(Function<JobRecord, Optional<ObjectLock>> locks) {
        this.locks = Objects.requireNonNull(locks, "locks");
        return this;
    }

    /** A new job id: {@code j-<UTC time>-<8 random hex>}. */
    public String newJobId() {
        byte[] b = new byte[4];
        random.nextBytes(b);
        return "j-" + ID_TIME.format(clock.instant()) + "-" + HexFormat.of().formatHex(b);
    }

    /**
     * An ad-hoc backup: checks that the host reported the source, stores the job and dispatches it
     * when the agent is connected.
     *
     * @throws HoldfastException (as a failed future) usage for a bad type or tag, not_found for an
     *                           unknown host or source
     */
    public Future<JobRecord> requestBackup(String host, String source, String type, String tag, String actor) {
        if (!BackupTypes.known(type)) {
            return Future.failedFuture(new HoldfastException(ErrorCode.USAGE, "type must be full, incr or logical (postgres), rdb (redis) or"
                    + " snapshot (files), not '" + type + "'"));
        }
        if (!TAG.matcher(tag).matches()) {
            return Future.failedFuture(new HoldfastException(ErrorCode.USAGE, "tag must be 1-64 letters, digits, '.', '_' or '-'"));
        }
        return catalog.source(host, source).compose(s -> {
            if (s.isEmpty()) {
                return Future.failedFuture(new HoldfastException(ErrorCode.NOT_FOUND, "host '" + host + "' has no source '" + source
                        + "' (GET /api/v1/sources lists them)"));
            }
            List<String> allowed = BackupTypes.forSource(s.get().type());
            if (!allowed.contains(type)) {
                return Future.failedFuture(new HoldfastException(ErrorCode.USAGE, "source '" + source + "' is a " + s.get().type()
                        + " source; its backup type" + (allowed.size() == 1 ? " is " : "s are ") + String.join(", ", allowed)
                        + ", not '" + type + "'"));
            }
            Instant now = clock.instant();
            JobRecord job = new JobRecord(newJobId(), host, source, "backup", type, tag, JobState.QUEUED, "api", actor, Optional.empty(),
                    now, Optional.empty(), Optional.empty(), Optional.empty(), 0, 0, "", Optional.empty(), Optional.empty(),
                    Optional.empty(), Map.of());
            // The API audits the request (with its request id); the job records who asked.
            // The answer is the job as stored (queued, as INTERFACE.md shows); GET /jobs/{id} follows it.
            return catalog.insertJob(job).compose(v -> queued(job)).map(v -> job);
        });
    }

    /**
     * A restore drill of a postgres source (docs/drill.md): stored as a job of kind {@code drill}
     * (type {@code restore}, tag {@code drill}) and dispatched like a backup.
     *
     * @throws HoldfastException (as a failed future) not_found for an unknown host or source, usage
     *                           for a source that is not postgres
     */
    public Future<JobRecord> requestDrill(String host, String source, String actor) {
        return catalog.source(host, source).compose(s -> {
            if (s.isEmpty()) {
                return Future.failedFuture(new HoldfastException(ErrorCode.NOT_FOUND, "host '" + host + "' has no source '" + source
                        + "' (GET /api/v1/sources lists them)"));
            }
            if (!"postgres".equals(s.get().type())) {
                return Future.failedFuture(new HoldfastException(ErrorCode.USAGE, "drills run for postgres sources; '" + source + "' is a "
                        + s.get().type() + " source"));
            }
            Instant now = clock.instant();
            JobRecord job = new JobRecord(newJobId(), host, source, DRILL, "restore", DRILL, JobState.QUEUED, "api", actor, Optional.empty(),
                    now, Optional.empty(), Optional.empty(), Optional.empty(), 0, 0, "", Optional.empty(), Optional.empty(),
                    Optional.empty(), Map.of());
            return catalog.insertJob(job).compose(v -> queued(job)).map(v -> job);
        });
    }

    /**
     * A job was stored queued (by the API or the scheduler): dispatch it if its agent is connected
     * and it is still queued (a Hello's resync may have sent it meanwhile). Runs on the host's
     * dispatch chain, after any resync or dispatch before it, so that an agent receives its jobs in
     * the order they were created (a full backup requested before an incremental reaches the agent
     * first even when the agent reconnects between the two requests).
     */
    public Future<Void> queued(JobRecord job) {
        return onHostChain(job.host(), () -> {
            if (!sessions.connected(job.host())) {
                return Future.succeededFuture();
            }
            return catalog.job(job.id()).compose(now -> now.isPresent() && now.get().state() == JobState.QUEUED
                    ? dispatch(now.get()) : Future.succeededFuture());
        });
    }

    /** Runs {@code step} after every step queued before it for {@code host} (dispatches and resyncs), whatever their outcome. */
    private Future<Void> onHostChain(String host, java.util.function.Supplier<Future<Void>> step) {
        Promise<Void> turn = Promise.promise();
        Future<Void> previous;
        synchronized (hostChains) {
            previous = hostChains.getOrDefault(host, Future.succeededFuture());
            hostChains.put(host, turn.future());
        }
        Future<Void> mine = previous.transform(x -> step.get());
        mine.onComplete(ar -> {
            synchronized (hostChains) {
                hostChains.remove(host, turn.future());
            }
            turn.complete();
        });
        return mine;
    }

    /** Marks a job dispatched, then writes it to its agent's link (if the write fails the job stays dispatched and is resent at Hello). */
    Future<Void> dispatch(JobRecord job) {
        JobRecord d = JobChange.of(job).state(job.state() == JobState.RUNNING ? JobState.RUNNING : JobState.DISPATCHED)
                .dispatchedAt(clock.instant()).build();
        JobRequest request = request(job, "backup".equals(job.kind()) ? locks.apply(job) : Optional.empty());
        return catalog.updateJob(d).compose(v -> sessions.send(job.host(), ControllerMessage.newBuilder().setJob(request).build())
                .otherwiseEmpty());
    }

    /** The job as sent, with the Object Lock its packs and manifest are to be written under, if any (docs/protocol.md). */
    static JobRequest request(JobRecord job, Optional<ObjectLock> lock) {
        JobRequest.Builder b = request(job).toBuilder();
        lock.ifPresent(l -> b.setLockMode(l.mode().name()).setLockRetainUntilMs(l.retainUntil().toEpochMilli()));
        return b.build();
    }

    static JobRequest request(JobRecord job) {
        return JobRequest.newBuilder().setJobId(job.id()).setKind(job.kind()).setSource(job.source()).setType(job.type())
                .setTag(job.tag()).build();
    }

    /**
     * After a Hello: results the agent still holds are recorded, jobs it runs are marked running,
     * queued and dispatched jobs are (re)sent, and running jobs it no longer knows fail.
     */
    Future<Void> resync(String host, Hello hello) {
        return onHostChain(host, () -> resyncNow(host, hello));
    }

    private Future<Void> resyncNow(String host, Hello hello) {
        Map<String, JobProgress> running = hello.getRunningList().stream()
                .collect(Collectors.toMap(JobProgress::getJobId, p -> p, (a, b) -> b));
        Future<Void> chain = Future.succeededFuture();
        for (JobResult r : hello.getUnreportedList()) {
            chain = chain.compose(v -> result(host, r));
        }
        Set<String> reported = hello.getUnreportedList().stream().map(JobResult::getJobId).collect(Collectors.toSet());
        return chain.compose(v -> catalog.openJobs(host)).compose(open -> {
            Future<Void> c = Future.succeededFuture();
            for (JobRecord j : open) {
                if (reported.contains(j.id())) {
                    continue;
                }
                JobProgress p = running.get(j.id());
                if (p != null) {
                    c = c.compose(v -> progress(host, p));
                } else if (j.state() == JobState.RUNNING) {
                    c = c.compose(v -> fail(j, ErrorCode.AGENT_UNAVAILABLE, "the agent no longer runs this job (it restarted while the job ran)"));
                } else {
                    c = c.compose(v -> dispatch(j));
                }
            }
            return c;
        });
    }

    /** Progress from the agent: the job is running. Unknown or finished jobs are ignored. */
    Future<Void> progress(String host, JobProgress p) {
        return catalog.job(p.getJobId()).compose(o -> {
            if (o.isEmpty() || !o.get().host().equals(host) || o.get().state().finished()) {
                return Future.succeededFuture();
            }
            JobRecord j = JobChange.of(o.get()).state(JobState.RUNNING).startedAtIfAbsent(clock.instant())
                    .progress(p.getDone(), p.getTotal(), p.getPhase()).build();
            return catalog.updateJob(j);
        });
    }

    /** A result from the agent: records the job's outcome and, for a backup, the backup. Repeated results are ignored. */
    Future<Void> result(String host, JobResult r) {
        return catalog.job(r.getJobId()).compose(o -> {
            if (o.isEmpty() || !o.get().host().equals(host) || o.get().state().finished()) {
                return Future.succeededFuture();
            }
            JobRecord job = o.get();
            Instant now = clock.instant();
            Instant started = r.getStartedAtMs() > 0 ? Instant.ofEpochMilli(r.getStartedAtMs()) : job.startedAt().orElse(now);
            Instant finished = r.getFinishedAtMs() > 0 ? Instant.ofEpochMilli(r.getFinishedAtMs()) : now;
            JobChange c = JobChange.of(job).startedAt(started).finishedAt(finished);
            Future<Void> backup = Future.succeededFuture();
            if (DRILL.equals(job.kind())) {
                return drillResult(host, job, r, c, started, finished, now);
            }
            if (r.getOk()) {
                c.state(JobState.SUCCEEDED).backupId(r.getBackupId()).progress(r.getBytes(), r.getBytes(), "done")
                        .result("bytes", Long.toString(r.getBytes())).result("stored_bytes", Long.toString(r.getStoredBytes()))
                        .result("type", r.getType()).result("start_lsn", r.getStartLsn()).result("stop_lsn", r.getStopLsn());
                if (!r.getBackupId().isEmpty()) {
                    backup = catalog.upsertBackup(new BackupRecord(job.source(), r.getSystemId(), r.getBackupId(), host,
                            r.getType().isEmpty() ? job.type() : r.getType(), r.getTag().isEmpty() ? job.tag() : r.getTag(), "complete",
                            Optional.of(started), Optional.of(finished), r.getStartLsn(), r.getStopLsn(), r.getTimeline(),
                            r.getParent().isEmpty() ? Optional.empty() : Optional.of(r.getParent()),
                            r.getBytes(), r.getStoredBytes(), Optional.of(job.id())));
                }
            } else {
                c.state(JobState.FAILED).error(r.getError().getCode().isEmpty() ? "internal" : r.getError().getCode(),
                        r.getError().getMessage());
            }
            JobRecord done = c.build();
            listener.backupFinished(done.state().wire(), Duration.between(started, finished));
            return backup.compose(v -> catalog.updateJob(done))
                    .compose(v -> audit(now, job.id(), host, "agent", "backup.finished", host + "/" + job.source() + " " + job.id(),
                            r.getOk() ? "ok" : "failed", r.getOk() ? "backup " + r.getBackupId() : r.getError().getCode() + ": "
                                    + r.getError().getMessage()));
        });
    }

    /** A drill's outcome: the job succeeds or fails with its first failed check; the report goes into the job's result. */
    private Future<Void> drillResult(String host, JobRecord job, JobResult r, JobChange c, Instant started, Instant finished, Instant now) {
        DrillReport d = r.getDrill();
        c.backupId(r.getBackupId()).progress(r.getBytes(), r.getBytes(), "done").result("backup", r.getBackupId())
                .result("rto_seconds", d.getRtoSeconds() < 0 ? "" : Double.toString(d.getRtoSeconds()))
                .result("rpo_seconds", d.getRpoSeconds() < 0 ? "" : Double.toString(d.getRpoSeconds()))
                .result("restored_to", d.getRestoredToMs() > 0 ? Instant.ofEpochMilli(d.getRestoredToMs()).toString() : "")
                .result("checks", checksJson(d));
        if (r.getOk()) {
            c.state(JobState.SUCCEEDED);
        } else {
            c.state(JobState.FAILED).error(r.getError().getCode().isEmpty() ? "internal" : r.getError().getCode(), r.getError().getMessage());
        }
        JobRecord done = c.build();
        listener.drillFinished(host, job.source(), r.getOk(), finished, d.getRtoSeconds(), d.getRpoSeconds());
        return catalog.updateJob(done).compose(v -> audit(now, job.id(), host, "agent", "drill.finished",
                host + "/" + job.source() + " " + job.id(), r.getOk() ? "ok" : "failed", r.getOk()
                        ? "backup " + r.getBackupId() + ", RTO " + d.getRtoSeconds() + " s, RPO " + d.getRpoSeconds() + " s"
                        : r.getError().getCode() + ": " + r.getError().getMessage()));
    }

    /** The checks as a JSON array (stored in the job's result map, served by GET /drills). */
    static String checksJson(DrillReport d) {
        io.vertx.core.json.JsonArray a = new io.vertx.core.json.JsonArray();
        for (DrillCheck k : d.getChecksList()) {
            io.vertx.core.json.JsonObject o = new io.vertx.core.json.JsonObject().put("name", k.getName()).put("ok", k.getOk())
                    .put("detail", k.getDetail()).put("seconds", k.getSeconds());
            if (!k.getOk()) {
                o.put("code", k.getCode());
            }
            a.add(o);
        }
        return a.encode();
    }

    private Future<Void> fail(JobRecord j, ErrorCode code, String message) {
        Instant now = clock.instant();
        boolean drill = DRILL.equals(j.kind());
        if (drill) {
            listener.drillFinished(j.host(), j.source(), false, now, -1, -1);
        } else {
            listener.backupFinished(JobState.FAILED.wire(), Duration.between(j.startedAt().orElse(now), now));
        }
        return catalog.updateJob(JobChange.of(j).state(JobState.FAILED).finishedAt(now).error(code.code(), message).build())
                .compose(v -> audit(now, j.id(), j.host(), "agent", drill ? "drill.finished" : "backup.finished",
                        j.host() + "/" + j.source() + " " + j.id(), "failed", code.code() + ": " + message));
    }

    private Future<Void> audit(Instant at, String requestId, String actor, String role, String action, String object, String outcome,
                               String detail) {
        return catalog.appendAudit(new AuditRecord(0, at, requestId, actor, role, action, object, outcome, detail)).mapEmpty();
    }

    /** The open jobs of a host, for tests and the API. */
    public Future<List<JobRecord>> open(String host) {
        return catalog.openJobs(host);
    }
}
