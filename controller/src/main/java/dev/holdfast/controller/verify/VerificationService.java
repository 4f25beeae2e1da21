package dev.holdfast.controller.verify;

import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.JobRecord;
import dev.holdfast.controller.catalog.JobState;
import dev.holdfast.controller.catalog.VerificationRecord;
import dev.holdfast.controller.metrics.ControllerMetrics;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupCatalog;
import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.backup.BackupLayout;
import dev.holdfast.repository.backup.BackupSummary;
import dev.holdfast.repository.backup.BackupVerifier;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@link BackupVerifier} against the repository for the controller, and records what it found.
 *
 * <p>A run is a job of kind {@code verify} in the catalog (host {@code ""}: the controller runs it,
 * no agent ever receives it), readable with {@code GET /api/v1/jobs/{id}}. It checks, per backup,
 * the manifests, the chain, every pack's presence and footer and the WAL continuity (docs/verify.md)
 * and reads in full the packs it is told to: all of them ({@code read_data}), or a rotating
 * {@link DataSample} (scheduled runs). Then, in this order:
 * <ol>
 *   <li>each complete full or incremental backup checked gets its {@link VerificationRecord}
 *       (ok, or failed with the error code and the first error's message);</li>
 *   <li>the sample cursor is saved (scheduled runs), so a restarted controller continues the rotation;</li>
 *   <li>{@code holdfast_verify_failures_total{source}} grows by the failed backups of each source
 *       (a problem with a cluster's WAL area as a whole counts as one), and a source without any
 *       sets {@code holdfast_verify_last_success_timestamp_seconds{source}};</li>
 *   <li>the job is finished (failed with {@code integrity_failure} or {@code wal_gap} when any
 *       backup failed) and the run is audited as {@code verify.run}.</li>
 * </ol>
 * Store and key errors (the repository unreachable, a wrong master key) fail the job with their own
 * code and record nothing about the backups: they say nothing about them.
 *
 * <p>The repository is read on one dedicated worker thread (never an event loop), so runs are
 * serialised; catalog calls are asynchronous. A controller that stops during a run leaves its job
 * {@code running}.
 */
public final class VerificationService implements AutoCloseable {
    /** The controller_state name of the data sample's cursor (the last pack key read). */
    public static final String CURSOR = "verify.sample.cursor";
    /** Longest error message recorded per backup. */
    static final int MESSAGE_LIMIT = 2000;
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    private final Vertx vertx;
    private final Catalog catalog;
    private final Repository repository;
    private final ControllerMetrics metrics;
    private final Clock clock;
    private final SecureRandom random;
    private final EventLog log;
    private final WorkerExecutor worker;

    public VerificationService(Vertx vertx, Catalog catalog, Repository repository, ControllerMetrics metrics, Clock clock,
                               SecureRandom random, EventLog log) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.catalog = Objects.requireNonNull(catalog, "catalog");
        this.repository = Objects.requireNonNull(repository, "repository");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
        this.log = Objects.requireNonNull(log, "log");
        // One thread: runs never overlap (the cursor stays consistent); a full read may take hours.
        this.worker = vertx.createSharedWorkerExecutor("holdfast-verify", 1, 7, TimeUnit.DAYS);
    }

    /** Who asked: for the job and the audit entry. @param role admin | service | system */
    public record Requester(String actor, String role, String requestId, String trigger) {
        public static final Requester SCHEDULER = new Requester("scheduler", "system", "", "schedule");

        public Requester {
            Objects.requireNonNull(actor, "actor");
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(requestId, "requestId");
            Objects.requireNonNull(trigger, "trigger");
        }
    }

    /**
     * What a run found. @param job the finished job @param backups backups checked (complete full
     * and incremental ones) @param failed of which failed @param packsRead keys of the packs read
     * in full @param bytesRead their stored bytes @param errors every error found
     */
    public record Outcome(JobRecord job, int backups, int failed, List<String> packsRead, long bytesRead,
                          List<BackupVerifier.Problem> errors) {
        public Outcome {
            packsRead = List.copyOf(packsRead);
            errors = List.copyOf(errors);
        }
    }

    /**
     * Starts verifying backup {@code id} of {@code source} (in every cluster of the source that has
     * it), with all its data read when {@code readData}; the future holds the job, in state
     * {@code running}, once it is recorded. Fails with {@code object_not_found} when the repository
     * has no such backup.
     */
    public Future<JobRecord> request(String source, BackupId id, boolean readData, Requester who) {
        return worker.executeBlocking(() -> {
            String prefix = BackupLayout.sourcePrefix(source);
            boolean found = Futures.await(repository.store().listAll(prefix)).stream()
                    .anyMatch(o -> o.key().value().split("/").length >= 5 && o.key().value().split("/")[3].equals(id.toString()));
            if (!found) {
                throw new HoldfastException(ErrorCode.OBJECT_NOT_FOUND, "no backup " + id + " of source " + source + " in the repository");
            }
            return null;
        }, false).compose(v -> {
            JobRecord job = newJob(source, Optional.of(id), readData ? "read_data" : "structure", "adhoc", who, Optional.empty());
            return catalog.insertJob(job).map(x -> {
                run(job, Optional.of(source), Optional.of(id), readData, Optional.empty(), who)
                        .onFailure(t -> log.warn("verify_failed", "job", job.id(), "msg", String.valueOf(t.getMessage())));
                return job;
            });
        });
    }

    /**
     * The scheduled run for {@code scheduledFor}: every backup's structure and WAL continuity, and
     * the rotating data sample sized for {@code runsInPeriod} runs per {@code verify.read_data_within}.
     */
    public Future<Outcome> scheduled(Instant scheduledFor, int runsInPeriod, String jobId) {
        JobRecord job = withId(newJob("*", Optional.empty(), "sample", "scheduled", Requester.SCHEDULER, Optional.of(scheduledFor)), jobId);
        return catalog.insertJob(job).compose(v -> run(job, Optional.empty(), Optional.empty(), false, Optional.of(runsInPeriod),
                Requester.SCHEDULER));
    }

    /** A new job id: {@code v-<UTC time>-<8 random hex>}. */
    public String newJobId() {
        byte[] b = new byte[4];
        random.nextBytes(b);
        return "v-" + ID_TIME.format(clock.instant()) + "-" + HexFormat.of().formatHex(b);
    }

    private JobRecord newJob(String source, Optional<BackupId> id, String type, String tag, Requester who, Optional<Instant> scheduledFor) {
        Instant now = clock.instant();
        return new JobRecord(newJobId(), "", source, "verify", type, tag, JobState.RUNNING, who.trigger(), who.actor(), scheduledFor, now,
                Optional.empty(), Optional.of(now), Optional.empty(), 0, 0, "verifying", id.map(BackupId::toString), Optional.empty(),
                Optional.empty(), Map.of());
    }

    private static JobRecord withId(JobRecord j, String id) {
        return new JobRecord(id, j.host(), j.source(), j.kind(), j.type(), j.tag(), j.state(), j.trigger(), j.requestedBy(), j.scheduledFor(),
                j.createdAt(), j.dispatchedAt(), j.startedAt(), j.finishedAt(), j.progressDone(), j.progressTotal(), j.phase(), j.backupId(),
                j.errorCode(), j.errorMessage(), j.result());
    }

    /** What the worker found, before anything is recorded. */
    private record Found(List<VerificationRecord> records, Map<String, Integer> failuresBySource, Set<String> sources,
                         List<BackupVerifier.Problem> errors, List<String> packsRead, long bytesRead, Optional<String> cursor,
                         Optional<ErrorCode> failure) {
    }

    private Future<Outcome> run(JobRecord job, Optional<String> source, Optional<BackupId> only, boolean readAll,
                                Optional<Integer> runsInPeriod, Requester who) {
        Future<Optional<String>> cursor = runsInPeriod.isPresent() ? catalog.controllerState(CURSOR) : Future.succeededFuture(Optional.empty());
        return cursor.compose(c -> worker.executeBlocking(() -> inspect(job, source, only, readAll, runsInPeriod, c), false))
                .transform(ar -> ar.succeeded() ? record(job, ar.result(), who)
                        : fail(job, ar.cause(), who).compose(v -> Future.failedFuture(ar.cause())));
    }

    /** Blocking: lists, chooses the sample, verifies. */
    private Found inspect(JobRecord job, Optional<String> source, Optional<BackupId> only, boolean readAll, Optional<Integer> runsInPeriod,
                          Optional<String> cursor) {
        Instant at = clock.instant();
        BackupCatalog backups = new BackupCatalog(repository);
        SortedMap<String, SortedSet<String>> clusters = clusters(source);
        // Every pack of every complete backup, with its stored size; and which backup holds it.
        Map<String, Long> packSizes = new TreeMap<>();
        Map<String, List<String>> packsOfBackup = new LinkedHashMap<>();
        clusters.forEach((src, systemIds) -> {
            for (String sys : systemIds) {
                backups.list(src, sys).forEach((id, entry) -> {
                    if (!entry.complete()) {
                        return;
                    }
                    for (ObjectInfo o : entry.objects()) {
                        String key = o.key().value();
                        if (key.substring(key.lastIndexOf('/') + 1).startsWith("pack-")) {
                            packSizes.put(key, o.size());
                            packsOfBackup.computeIfAbsent(src + "/" + sys + "/" + id, k -> new ArrayList<>()).add(key);
                        }
                    }
                });
            }
        });
        Set<String> toRead = new HashSet<>();
        Optional<String> newCursor = Optional.empty();
        if (readAll) {
            toRead.addAll(packSizes.keySet());
        } else if (runsInPeriod.isPresent()) {
            List<DataSample.Pack> universe = packSizes.entrySet().stream().map(e -> new DataSample.Pack(e.getKey(), e.getValue())).toList();
            long total = universe.stream().mapToLong(DataSample.Pack::bytes).sum();
            DataSample.Selection sel = DataSample.choose(universe, cursor, DataSample.budget(total, runsInPeriod.get()));
            sel.packs().forEach(p -> toRead.add(p.key()));
            newCursor = sel.cursor();
        }
        BackupVerifier verifier = new BackupVerifier(repository);
        List<BackupVerifier.Report> reports = new ArrayList<>();
        List<VerificationRecord> records = new ArrayList<>();
        Map<String, Integer> failures = new TreeMap<>();
        Set<String> sources = new TreeSet<>();
        clusters.forEach((src, systemIds) -> {
            for (String sys : systemIds) {
                BackupVerifier.Report report = verifier.verify(src, sys, only, readAll, key -> toRead.contains(key.value()));
                if (report.backups().isEmpty() && only.isPresent()) {
                    continue;
                }
                reports.add(report);
                sources.add(src);
                report.errors().stream().filter(p -> p.backup() == null).forEach(p -> failures.merge(src, 1, Integer::sum));
                for (BackupVerifier.Result r : report.backups()) {
                    if (!r.complete() || !BackupSummary.isBaseBackup(r.type())) {
                        continue;    // interrupted runs and logical dumps: not checked here (docs/verify.md)
                    }
                    String id = r.id().toString();
                    List<BackupVerifier.Problem> errors = report.errors().stream().filter(p -> id.equals(p.backup())).toList();
                    List<String> own = packsOfBackup.getOrDefault(src + "/" + sys + "/" + r.id(), List.of());
                    long bytes = own.stream().filter(toRead::contains).mapToLong(packSizes::get).sum();
                    Optional<String> code = Optional.empty();
                    Optional<String> message = Optional.empty();
                    if (!errors.isEmpty()) {
                        code = Optional.of(new BackupVerifier.Report(List.of(r), errors).failure().orElse(ErrorCode.INTEGRITY_FAILURE).code());
                        String m = errors.get(0).kind().token() + ": " + errors.get(0).message()
                                + (errors.size() > 1 ? " (and " + (errors.size() - 1) + " more)" : "");
                        message = Optional.of(m.length() > MESSAGE_LIMIT ? m.substring(0, MESSAGE_LIMIT) + "..." : m);
                        failures.merge(src, 1, Integer::sum);
                    }
                    records.add(new VerificationRecord(src, sys, id, at, errors.isEmpty(), code, message, r.packsRead() > 0, bytes, job.id()));
                }
            }
        });
        if (only.isPresent() && reports.isEmpty()) {
            throw new HoldfastException(ErrorCode.OBJECT_NOT_FOUND, "no backup " + only.get() + " of source " + source.orElse("*")
                    + " in the repository");
        }
        BackupVerifier.Report all = BackupVerifier.Report.merge(reports);
        List<String> read = toRead.stream().sorted().toList();
        long bytesRead = read.stream().mapToLong(packSizes::get).sum();
        return new Found(records, failures, sources, all.errors(), read, bytesRead, newCursor, all.failure());
    }

    /** Source name to system ids with anything under {@code backups/} (or under the one source), from one listing. */
    private SortedMap<String, SortedSet<String>> clusters(Optional<String> source) {
        SortedMap<String, SortedSet<String>> out = new TreeMap<>();
        String prefix = source.map(BackupLayout::sourcePrefix).orElse(BackupLayout.ROOT + "/");
        for (ObjectInfo o : Futures.await(repository.store().listAll(prefix))) {
            String[] parts = o.key().value().split("/");
            if (parts.length >= 4) {
                out.computeIfAbsent(parts[1], k -> new TreeSet<>()).add(parts[2]);
            }
        }
        return out;
    }

    private Future<Outcome> record(JobRecord job, Found f, Requester who) {
        Future<Void> chain = Future.succeededFuture();
        for (VerificationRecord r : f.records()) {
            chain = chain.compose(v -> catalog.recordVerification(r));
        }
        if (f.cursor().isPresent()) {
            chain = chain.compose(v -> catalog.putControllerState(CURSOR, f.cursor().get(), clock.instant()));
        }
        return chain.compose(v -> {
            Instant now = clock.instant();
            for (String s : f.sources()) {
                int n = f.failuresBySource().getOrDefault(s, 0);
                if (n > 0) {
                    metrics.verifyFailed(s, n);
                } else {
                    metrics.verifySucceeded(s, now);
                }
            }
            int failed = (int) f.records().stream().filter(r -> !r.ok()).count();
            Map<String, String> result = new LinkedHashMap<>();
            result.put("backups", Integer.toString(f.records().size()));
            result.put("failed", Integer.toString(failed));
            result.put("packs_read", Integer.toString(f.packsRead().size()));
            result.put("bytes_read", Long.toString(f.bytesRead()));
            result.put("errors", Integer.toString(f.errors().size()));
            Optional<String> message = f.errors().isEmpty() ? Optional.empty()
                    : Optional.of(clip(f.errors().get(0).kind().token() + " backup " + f.errors().get(0).backup() + ": "
                    + f.errors().get(0).message()));
            JobRecord done = finished(job, f.failure().isEmpty() ? JobState.SUCCEEDED : JobState.FAILED,
                    f.failure().map(ErrorCode::code), message, result, now);
            String detail = "job " + job.id() + ": " + f.records().size() + " backup(s) checked, " + failed + " failed, "
                    + f.packsRead().size() + " pack(s) (" + f.bytesRead() + " bytes) read" + message.map(m -> "; first error: " + m).orElse("");
            log.info("verify_finished", "job", job.id(), "backups", f.records().size(), "failed", failed, "packs_read", f.packsRead().size(),
                    "bytes_read", f.bytesRead(), "failure", f.failure().map(ErrorCode::code).orElse(""));
            return catalog.updateJob(done).compose(x -> audit(who, job, f.failure().isEmpty() ? "ok" : "failed", detail))
                    .map(x -> new Outcome(done, f.records().size(), failed, f.packsRead(), f.bytesRead(), f.errors()));
        });
    }

    private Future<Void> fail(JobRecord job, Throwable t, Requester who) {
        HoldfastException h = HoldfastException.find(t);
        ErrorCode code = h == null ? ErrorCode.INTERNAL : h.code();
        String message = h == null ? "internal error: " + t.getClass().getSimpleName() : h.getMessage();
        JobRecord done = finished(job, JobState.FAILED, Optional.of(code.code()), Optional.of(clip(message)), Map.of(), clock.instant());
        log.warn("verify_not_run", "job", job.id(), "code", code.code(), "msg", clip(message));
        return catalog.updateJob(done).compose(v -> audit(who, job, "failed", "job " + job.id() + ": " + code.code() + ": " + clip(message)))
                .otherwiseEmpty();
    }

    private static JobRecord finished(JobRecord j, JobState state, Optional<String> code, Optional<String> message, Map<String, String> result,
                                      Instant at) {
        return new JobRecord(j.id(), j.host(), j.source(), j.kind(), j.type(), j.tag(), state, j.trigger(), j.requestedBy(), j.scheduledFor(),
                j.createdAt(), j.dispatchedAt(), j.startedAt(), Optional.of(at), 0, 0, "done", j.backupId(), code, message, result);
    }

    private Future<Void> audit(Requester who, JobRecord job, String outcome, String detail) {
        String object = job.source() + job.backupId().map(b -> "/" + b).orElse("");
        return catalog.appendAudit(new AuditRecord(0, clock.instant(), who.requestId(), who.actor(), who.role(), "verify.run", object, outcome,
                clip(detail))).<Void>mapEmpty().recover(t -> {
                    log.warn("audit_append_failed", "action", "verify.run", "msg", String.valueOf(t.getMessage()));
                    return Future.succeededFuture();
                });
    }

    private static String clip(String s) {
        return s.length() > MESSAGE_LIMIT ? s.substring(0, MESSAGE_LIMIT) + "..." : s;
    }

    /** Closes the worker (a run in progress finishes on it). */
    @Override
    public void close() {
        worker.close();
    }
}
