package dev.holdfast.agent.grant;

import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.agent.link.ControllerLink;
import dev.holdfast.agent.link.JobRunner;
import dev.holdfast.agent.pipeline.UploadPipeline;
import dev.holdfast.agent.postgres.restore.BaseRestore;
import dev.holdfast.agent.postgres.restore.RecoveryTarget;
import dev.holdfast.agent.postgres.restore.WalFetchHook;
import dev.holdfast.agent.wal.WalRepository;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.Errors;
import dev.holdfast.protocol.v1.JobResult;
import dev.holdfast.protocol.v1.RestoreGrant;
import dev.holdfast.protocol.v1.RestoreGrantPayload;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.wal.WalLayout;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs the restores that restore grants authorize (docs/protocol.md "Restore grants"): every grant
 * goes through the {@link GrantVerifier} first, on a worker of its own (the checks touch the disk and
 * fsync the journal), and only a verified grant reaches {@link BaseRestore}, with the grant's backup
 * id, recovery target and target directory and nothing else from the controller. The outcome, a
 * refusal included, is a {@link JobResult} whose job id is the restore request's id.
 *
 * <p>The restored directory is left for an operator to start (as {@code holdfast restore} leaves
 * it): its {@code restore_command} is this installation's {@code holdfast-wal-fetch} hook through
 * this agent's control socket.
 */
public final class GrantedRestores implements ControllerLink.GrantHandler, AutoCloseable {
    private final Vertx vertx;
    private final Repository repository;
    private final UploadPipeline pipeline;
    private final AgentConfig config;
    private final GrantVerifier verifier;
    private final Clock clock;
    private final EventLog log;
    private final WorkerExecutor workers;

    public GrantedRestores(Vertx vertx, Repository repository, UploadPipeline pipeline, AgentConfig config, GrantVerifier verifier,
                           Clock clock, EventLog log) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.repository = Objects.requireNonNull(repository, "repository");
        this.pipeline = Objects.requireNonNull(pipeline, "pipeline");
        this.config = Objects.requireNonNull(config, "config");
        this.verifier = Objects.requireNonNull(verifier, "verifier");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.log = Objects.requireNonNull(log, "log");
        this.workers = vertx.createSharedWorkerExecutor("holdfast-restores", 1, 7, TimeUnit.DAYS);
    }

    @Override
    public Future<JobResult> run(RestoreGrant grant, JobRunner.Progress progress) {
        String requestId = GrantVerifier.unverifiedRequestId(grant);
        long started = clock.millis();
        return workers.executeBlocking(() -> restore(grant, progress, started), false).recover(t -> {
            HoldfastException h = HoldfastException.find(t);
            if (h != null && refusal(h.code())) {
                log.warn("restore_grant_refused", "request", requestId, "code", h.code().code(), "error", h.getMessage());
            } else {
                log.warn("restore_failed", "request", requestId, "error", String.valueOf(t.getMessage()));
            }
            return Future.succeededFuture(JobResult.newBuilder().setJobId(requestId).setOk(false).setError(Errors.reply(t))
                    .setStartedAtMs(started).setFinishedAtMs(clock.millis()).setType("restore").build());
        });
    }

    /** Codes that mean "refused before anything was written". */
    public static boolean refusal(ErrorCode c) {
        return c == ErrorCode.GRANT_INVALID || c == ErrorCode.GRANT_EXPIRED || c == ErrorCode.GRANT_USED
                || c == ErrorCode.TARGET_NOT_ALLOWED || c == ErrorCode.TARGET_NOT_EMPTY;
    }

    private JobResult restore(RestoreGrant grant, JobRunner.Progress progress, long started) {
        GrantVerifier.Verified v = verifier.verify(grant);
        RestoreGrantPayload p = v.payload();
        log.info("restore_grant_accepted", "request", p.getRequestId(), "grant", p.getGrantId(), "source", p.getSource(),
                "backup", p.getBackupId(), "target", v.target().path());
        progress.progress(0, 0, "verified");
        RecoveryTarget recovery = recovery(p);
        BaseRestore restore = new BaseRestore(repository, clock);
        Optional<String> systemId = p.getSystemId().isEmpty() ? Optional.empty() : Optional.of(p.getSystemId());
        BaseRestore.Options o0 = options(p, systemId, v.target().path(), recovery, "%f %p");
        BaseRestore.Plan plan = restore.plan(o0);
        String sysid = plan.backup().systemId();
        String command = WalFetchHook.command(config.controlSocket(), config.file(), p.getSource(), sysid);
        BaseRestore.Options o = options(p, Optional.of(sysid), v.target().path(), recovery, command);
        plan = plan.withRestoreCommand(command);
        WalRepository wal = new WalRepository(vertx, repository, pipeline, new WalLayout(p.getSource(), sysid), clock);
        long total = plan.bytes();
        restore.restore(plan, o, name -> await(wal.fetch(name)).map(Buffer::getBytes), new BaseRestore.Listener() {
            @Override
            public void message(String text) {
                log.info("restore_message", "request", p.getRequestId(), "msg", text);
            }

            @Override
            public void progress(long done, long all) {
                progress.progress(done, all > 0 ? all : total, "copy");
            }
        });
        log.info("restore_done", "request", p.getRequestId(), "backup", plan.backup().id(), "target", plan.target().path());
        return JobResult.newBuilder().setJobId(p.getRequestId()).setOk(true).setSource(p.getSource()).setBackupId(plan.backup().id().toString())
                .setSystemId(sysid).setBytes(plan.bytes()).setType("restore").setStartedAtMs(started).setFinishedAtMs(clock.millis()).build();
    }

    private BaseRestore.Options options(RestoreGrantPayload p, Optional<String> systemId, Path target, RecoveryTarget recovery,
                                        String command) {
        return new BaseRestore.Options(p.getSource(), systemId, p.getBackupId(), target, config.restore().allowedTargets(), recovery,
                false, 2, command, false, false);
    }

    static RecoveryTarget recovery(RestoreGrantPayload p) {
        String v = p.getTargetValue();
        return switch (p.getTargetKind()) {
            case "", "latest" -> RecoveryTarget.latest();
            case "immediate" -> RecoveryTarget.of(null, null, null, null, true, RecoveryTarget.Action.PROMOTE);
            case "time" -> RecoveryTarget.of(v, null, null, null, false, RecoveryTarget.Action.PROMOTE);
            case "lsn" -> RecoveryTarget.of(null, v, null, null, false, RecoveryTarget.Action.PROMOTE);
            default -> throw new HoldfastException(ErrorCode.GRANT_INVALID, "restore grant names an unknown recovery target kind '"
                    + p.getTargetKind() + "'; nothing was written");
        };
    }

    private static <T> T await(Future<T> f) {
        return Futures.await(f.toCompletionStage(), Duration.ofHours(1), ErrorCode.STORE_UNAVAILABLE, "a WAL fetch");
    }

    @Override
    public void close() {
        workers.close();
    }
}
