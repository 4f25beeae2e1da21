package dev.holdfast.agent.link;

import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.config.PostgresSourceConfig;
import dev.holdfast.agent.config.SourceConfig;
import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.agent.postgres.backup.BaseBackup;
import dev.holdfast.agent.postgres.logical.LogicalBackup;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.Errors;
import dev.holdfast.protocol.v1.JobRequest;
import dev.holdfast.protocol.v1.JobResult;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupManifest;
import dev.holdfast.repository.backup.BackupType;
import dev.holdfast.repository.backup.LogicalManifest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.time.Clock;
import java.util.Objects;
import java.util.Optional;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Runs the jobs the controller sends: today backups of postgres sources (full, incremental,
 * logical), on a worker pool of their own (a backup blocks for minutes; it must neither block an
 * event loop nor trip Vert.x's blocked-thread checker). One job per source at a time: a job for a
 * busy source waits its turn (phase {@code queued}), so that a daily and a weekly slot that meet,
 * or jobs resent together after an outage, all run, one after the other. A job never throws: its
 * outcome, success or failure with a stable code, is the {@link JobResult}.
 */
public final class JobRunner implements AutoCloseable {
    /** Told about progress, from the job's thread: bytes done and total (0: unknown), and a phase. */
    public interface Progress {
        void progress(long done, long total, String phase);
    }

    private final Vertx vertx;
    private final Repository repository;
    private final AgentConfig config;
    private final Clock clock;
    private final EventLog log;
    private final WorkerExecutor workers;
    /** Per source, the last job started or queued: the next one runs after it. */
    private final Map<String, Future<JobResult>> tails = new ConcurrentHashMap<>();

    public JobRunner(Vertx vertx, Repository repository, AgentConfig config, Clock clock, EventLog log) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.repository = Objects.requireNonNull(repository, "repository");
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.log = Objects.requireNonNull(log, "log");
        this.workers = vertx.createSharedWorkerExecutor("holdfast-jobs", 2, 7, TimeUnit.DAYS);
    }

    /** Runs a job; the future always succeeds, with the job's result. */
    public Future<JobResult> run(JobRequest job, Progress progress) {
        long started = clock.millis();
        JobResult.Builder base = JobResult.newBuilder().setJobId(job.getJobId()).setSource(job.getSource()).setType(job.getType())
                .setTag(job.getTag()).setStartedAtMs(started);
        Optional<PostgresSourceConfig> source = postgres(job.getSource());
        HoldfastException refused = null;
        if (!"backup".equals(job.getKind())) {
            refused = new HoldfastException(ErrorCode.USAGE, "this agent does not run '" + job.getKind() + "' jobs");
        } else if (source.isEmpty()) {
            refused = new HoldfastException(ErrorCode.NOT_FOUND, "this agent has no postgres source '" + job.getSource() + "'");
        }
        if (refused != null) {
            return Future.succeededFuture(base.setOk(false).setError(Errors.reply(refused)).setFinishedAtMs(clock.millis()).build());
        }
        Future<JobResult> before = tails.get(job.getSource());
        if (before != null && !before.isComplete()) {
            progress.progress(0, 0, "queued");
            log.info("job_queued", "job", job.getJobId(), "source", job.getSource(), "msg", "waits for the source's running job");
        }
        Future<JobResult> mine = (before == null ? Future.<JobResult>succeededFuture() : before).transform(x -> execute(job, source.get(),
                progress, base));
        tails.put(job.getSource(), mine);
        mine.onComplete(x -> tails.remove(job.getSource(), mine));
        return mine;
    }

    private Future<JobResult> execute(JobRequest job, PostgresSourceConfig source, Progress progress, JobResult.Builder base) {
        base.setStartedAtMs(clock.millis());
        log.info("job_started", "job", job.getJobId(), "source", job.getSource(), "type", job.getType(), "tag", job.getTag());
        return workers.executeBlocking(() -> backup(job, source, progress, base), false).transform(ar -> {
            JobResult r = ar.succeeded() ? ar.result()
                    : base.setOk(false).setError(Errors.reply(ar.cause())).setFinishedAtMs(clock.millis()).build();
            if (r.getOk()) {
                log.info("job_succeeded", "job", job.getJobId(), "backup", r.getBackupId(), "bytes", r.getBytes());
            } else {
                log.warn("job_failed", "job", job.getJobId(), "code", r.getError().getCode(), "error", r.getError().getMessage());
            }
            return Future.succeededFuture(r);
        });
    }

    private JobResult backup(JobRequest job, PostgresSourceConfig src, Progress progress, JobResult.Builder base) {
        Optional<String> tag = job.getTag().isEmpty() ? Optional.empty() : Optional.of(job.getTag());
        if ("logical".equals(job.getType())) {
            LogicalManifest m = new LogicalBackup(vertx, repository, clock).run(src, tag,
                    (db, dbBytes, total) -> progress.progress(total, 0, "dump " + db));
            return base.setOk(true).setBackupId(m.id().toString()).setSystemId(m.systemId()).setBytes(m.bytes())
                    .setStoredBytes(m.storedBytes()).setStartedAtMs(m.startedAt().toEpochMilli())
                    .setFinishedAtMs(m.finishedAt().toEpochMilli()).build();
        }
        BackupType type = switch (job.getType()) {
            case "full" -> BackupType.FULL;
            case "incr" -> BackupType.INCR;
            default -> throw new HoldfastException(ErrorCode.USAGE, "backup type must be full, incr or logical, not '" + job.getType() + "'");
        };
        BaseBackup.Options d = BaseBackup.Options.defaults(type);
        BaseBackup.Options options = new BaseBackup.Options(type, tag, Math.max(1, Math.min(2, d.parallel())), d.fast(), d.walTimeout(),
                d.packSize());
        BaseBackup.Result r = new BaseBackup(vertx, repository, src, clock).run(options, new BaseBackup.Listener() {
            @Override
            public void message(String text) {
                log.info("job_message", "job", job.getJobId(), "msg", text);
            }

            @Override
            public void progress(long done, long total) {
                progress.progress(done, total, "copy");
            }
        });
        BackupManifest m = r.manifest();
        return base.setOk(true).setBackupId(m.id().toString()).setSystemId(m.systemId()).setType(r.fellBackToFull() ? "full" : job.getType())
                .setBytes(m.bytes()).setStoredBytes(m.storedBytes()).setStartLsn(m.startLsn().toString())
                .setStopLsn(m.stopLsn().toString()).setTimeline(m.timeline()).setParent(m.parent().map(Object::toString).orElse(""))
                .setStartedAtMs(m.startedAt().toEpochMilli())
                .setFinishedAtMs(m.finishedAt().toEpochMilli()).build();
    }

    private Optional<PostgresSourceConfig> postgres(String name) {
        for (SourceConfig s : config.sources()) {
            if (s.name().equals(name) && s instanceof PostgresSourceConfig p) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    @Override
    public void close() {
        workers.close();
    }
}
