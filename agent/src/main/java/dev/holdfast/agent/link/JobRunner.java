package dev.holdfast.agent.link;

import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.config.FilesSourceConfig;
import dev.holdfast.agent.config.PostgresSourceConfig;
import dev.holdfast.agent.config.RedisSourceConfig;
import dev.holdfast.agent.config.SourceConfig;
import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.agent.drill.Drill;
import dev.holdfast.agent.files.FilesManifest;
import dev.holdfast.agent.files.FilesSnapshot;
import dev.holdfast.agent.pipeline.UploadPipeline;
import dev.holdfast.agent.postgres.PgControl;
import dev.holdfast.agent.postgres.backup.BaseBackup;
import dev.holdfast.agent.postgres.logical.LogicalBackup;
import dev.holdfast.agent.postgres.restore.BaseRestore;
import dev.holdfast.agent.postgres.restore.WalFetchHook;
import dev.holdfast.agent.redis.RdbBackup;
import dev.holdfast.agent.wal.WalRepository;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.Errors;
import dev.holdfast.protocol.v1.DrillCheck;
import dev.holdfast.protocol.v1.DrillReport;
import dev.holdfast.protocol.v1.ErrorReply;
import dev.holdfast.protocol.v1.JobRequest;
import dev.holdfast.protocol.v1.JobResult;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupManifest;
import dev.holdfast.repository.backup.BackupType;
import dev.holdfast.repository.backup.LogicalManifest;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectLock;
import dev.holdfast.repository.store.PutOptions;
import dev.holdfast.repository.wal.WalLayout;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Runs the jobs the controller sends: backups of postgres sources (full, incremental, logical),
 * RDB snapshots of Redis sources ({@code rdb}) and snapshots of files sources ({@code snapshot}),
 * and restore drills of postgres sources (kind {@code drill}, docs/drill.md), on a worker pool of their own (a backup blocks for minutes; it must neither block an
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

    /** How long an RDB snapshot may take (BGSAVE of a large dataset). */
    private static final Duration RDB_TIMEOUT = Duration.ofHours(1);
    /** How long a drill's copy may take to start, and again to recover. */
    private static final Duration DRILL_TIMEOUT = Duration.ofHours(2);
    /** Files hashed and uploaded at once by a files snapshot. */
    private static final int FILES_PARALLEL = 4;

    private final Vertx vertx;
    private final Repository repository;
    private final UploadPipeline pipeline;
    private final AgentConfig config;
    private final Clock clock;
    private final EventLog log;
    private final WorkerExecutor workers;
    /** Per source, the last job started or queued: the next one runs after it. */
    private final Map<String, Future<JobResult>> tails = new ConcurrentHashMap<>();

    public JobRunner(Vertx vertx, Repository repository, UploadPipeline pipeline, AgentConfig config, Clock clock, EventLog log) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.repository = Objects.requireNonNull(repository, "repository");
        this.pipeline = Objects.requireNonNull(pipeline, "pipeline");
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
        Optional<SourceConfig> source = config.sources().stream().filter(s -> s.name().equals(job.getSource())).findFirst();
        HoldfastException refused = null;
        if (!"backup".equals(job.getKind()) && !"drill".equals(job.getKind())) {
            refused = new HoldfastException(ErrorCode.USAGE, "this agent does not run '" + job.getKind() + "' jobs");
        } else if (source.isEmpty()) {
            refused = new HoldfastException(ErrorCode.NOT_FOUND, "this agent has no source '" + job.getSource() + "'");
        } else if ("drill".equals(job.getKind()) && !(source.get() instanceof PostgresSourceConfig)) {
            refused = new HoldfastException(ErrorCode.USAGE, "drills run for postgres sources; '" + job.getSource() + "' is a "
                    + source.get().type() + " source");
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

    private Future<JobResult> execute(JobRequest job, SourceConfig source, Progress progress, JobResult.Builder base) {
        base.setStartedAtMs(clock.millis());
        log.info("job_started", "job", job.getJobId(), "source", job.getSource(), "type", job.getType(), "tag", job.getTag());
        return workers.executeBlocking(() -> "drill".equals(job.getKind()) ? drill(job, (PostgresSourceConfig) source, progress, base)
                : source instanceof PostgresSourceConfig p ? backup(job, p, progress, base)
                : source instanceof RedisSourceConfig r ? rdb(job, r, progress, base)
                : snapshot(job, (FilesSourceConfig) source, progress, base), false).transform(ar -> {
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
            LogicalManifest m = new LogicalBackup(vertx, repository, clock).putOptions(putOptions(job)).run(src, tag,
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
                d.packSize(), putOptions(job));
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

    /**
     * A restore drill (docs/drill.md) into {@code <first allowed target>/holdfast-drill-<source>}: its
     * report travels in the result whether it passed or not; a failed check fails the job with that
     * check's code.
     */
    private JobResult drill(JobRequest job, PostgresSourceConfig src, Progress progress, JobResult.Builder base) {
        List<Path> allowed = config.restore().allowedTargets();
        boolean amcheck = !"false".equals(job.getOptionsOrDefault("amcheck", "true"));
        Drill.Environment env = new Drill.Environment() {
            @Override
            public String restoreCommand(String source, String systemId) {
                return WalFetchHook.command(config.controlSocket(), config.file(), source, systemId);
            }

            @Override
            public BaseRestore.WalFiles walFiles(String source, String systemId) {
                WalRepository wal = new WalRepository(vertx, repository, pipeline, new WalLayout(source, systemId), clock);
                return name -> await(wal.fetch(name)).map(Buffer::getBytes);
            }
        };
        // This host's cluster: other hosts may ship a source of the same name into the repository.
        Optional<String> systemId = PgControl.systemIdentifier(src.dataDir());
        Drill.Report r = new Drill(repository, clock).run(src, new Drill.Options("latest", systemId, Drill.defaultScratch(allowed, src.name()),
                allowed, false, amcheck, DRILL_TIMEOUT), env, (phase, done, total) -> progress.progress(done, total, phase));
        DrillReport.Builder d = DrillReport.newBuilder().setRtoSeconds(r.rto().map(x -> x.toMillis() / 1000.0).orElse(-1.0))
                .setRpoSeconds(r.rpo().map(x -> x.toMillis() / 1000.0).orElse(-1.0))
                .setRestoredToMs(r.restoredTo().map(java.time.Instant::toEpochMilli).orElse(0L));
        for (Drill.Check c : r.checks()) {
            d.addChecks(DrillCheck.newBuilder().setName(c.name()).setOk(c.ok()).setDetail(c.detail()).setSeconds(c.took().toMillis() / 1000.0)
                    .setCode(c.code()));
        }
        base.setType("restore").setBackupId(r.backupId()).setSystemId(r.systemId()).setBytes(r.bytes()).setDrill(d)
                .setStartedAtMs(r.startedAt().toEpochMilli()).setFinishedAtMs(r.finishedAt().toEpochMilli());
        Optional<Drill.Check> failed = r.failure();
        if (failed.isPresent()) {
            ErrorReply e = ErrorReply.newBuilder().setCode(failed.get().code()).setNumber(code(failed.get().code()).exitStatus())
                    .setMessage("drill check '" + failed.get().name() + "' failed: " + failed.get().detail()).setJobId(job.getJobId()).build();
            return base.setOk(false).setError(e).build();
        }
        return base.setOk(true).build();
    }

    /**
     * The Object Lock the controller asks for (docs/protocol.md, JobRequest): packs and manifests are
     * written with it, and a store that cannot lock fails the backup rather than writing it unlocked.
     */
    static PutOptions putOptions(JobRequest job) {
        if (job.getLockMode().isEmpty()) {
            return PutOptions.DEFAULT;
        }
        ObjectLock.Mode mode;
        try {
            mode = ObjectLock.Mode.valueOf(job.getLockMode());
        } catch (IllegalArgumentException e) {
            throw new HoldfastException(ErrorCode.USAGE, "unknown object lock mode '" + job.getLockMode() + "' (GOVERNANCE or COMPLIANCE)");
        }
        return new PutOptions(Optional.empty(), Optional.of(new ObjectLock(mode, Instant.ofEpochMilli(job.getLockRetainUntilMs()))), false);
    }

    private static ErrorCode code(String code) {
        try {
            return ErrorCode.valueOf(code.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return ErrorCode.INTERNAL;
        }
    }

    private static <T> T await(Future<T> f) {
        return Futures.await(f.toCompletionStage(), Duration.ofHours(1), ErrorCode.STORE_UNAVAILABLE, "a WAL fetch");
    }

    /** An RDB snapshot of a Redis source (BGSAVE, then the file; docs/redis.md). */
    private JobResult rdb(JobRequest job, RedisSourceConfig src, Progress progress, JobResult.Builder base) throws IOException {
        requireType(job, "rdb", src);
        progress.progress(0, 0, "bgsave");
        RdbBackup.Manifest m = new RdbBackup(repository, clock).run(src, RDB_TIMEOUT);
        return base.setOk(true).setBackupId(m.id()).setType("rdb").setBytes(m.size()).setStoredBytes(m.size())
                .setStartedAtMs(m.startedAt().toEpochMilli()).setFinishedAtMs(m.finishedAt().toEpochMilli()).build();
    }

    /** A snapshot of a files source (docs/files.md); an unchanged tree still answers with the snapshot it matches. */
    private JobResult snapshot(JobRequest job, FilesSourceConfig src, Progress progress, JobResult.Builder base) {
        requireType(job, "snapshot", src);
        progress.progress(0, 0, "scan");
        FilesSnapshot.Result r = new FilesSnapshot(repository, src, config.host(), clock, FILES_PARALLEL)
                .run(text -> log.info("job_message", "job", job.getJobId(), "msg", text));
        FilesManifest m = r.manifest();
        return base.setOk(true).setBackupId(m.id()).setType("snapshot").setBytes(m.bytes()).setStoredBytes(r.storedBytes())
                .setStartedAtMs(m.startedAt().toEpochMilli()).setFinishedAtMs(m.finishedAt().toEpochMilli()).build();
    }

    private static void requireType(JobRequest job, String type, SourceConfig src) {
        if (!type.equals(job.getType())) {
            throw new HoldfastException(ErrorCode.USAGE, "a " + src.type() + " source takes backups of type " + type + ", not '"
                    + job.getType() + "'");
        }
    }

    @Override
    public void close() {
        workers.close();
    }
}
