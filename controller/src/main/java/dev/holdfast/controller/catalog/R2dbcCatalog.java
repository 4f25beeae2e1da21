package dev.holdfast.controller.catalog;

import dev.holdfast.controller.audit.AuditChain;
import dev.holdfast.controller.audit.AuditKey;
import dev.holdfast.controller.audit.AuditMac;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.R2dbcDataIntegrityViolationException;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Row;
import io.r2dbc.spi.Statement;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The catalog over R2DBC: one class, the same SQL on the embedded H2 store (in its PostgreSQL
 * mode) and on PostgreSQL. Open it with {@link CatalogFactory}.
 *
 * <p>Every method borrows a pooled connection, runs its statements (in a transaction where a call
 * writes more than one row) and completes its future on the Vert.x context it was called on.
 * r2dbc-h2 runs H2's calls on the subscribing thread, so for H2 the work is subscribed on
 * Reactor's bounded-elastic workers, never on the caller's event loop; r2dbc-postgresql is
 * non-blocking already.
 *
 * <p>Times are stored as microseconds since the epoch: an {@link Instant} comes back truncated to
 * the microsecond. Upserts are "update, else insert, and update again if a concurrent insert won",
 * which needs no dialect-specific {@code ON CONFLICT} or {@code MERGE}.
 */
public final class R2dbcCatalog implements Catalog {
    private static final List<String> OPEN_STATES = List.of(JobState.QUEUED.wire(), JobState.DISPATCHED.wire(), JobState.RUNNING.wire());

    private final Vertx vertx;
    private final ConnectionPool pool;
    private final boolean blockingDriver;
    private final String description;
    /** The audit chain's key; null when opened for reading only. */
    private volatile AuditKey auditKey;
    /** The last audit append's completion: each append starts after it (one writer in this process). */
    private CompletableFuture<?> auditTail = CompletableFuture.completedFuture(null);

    R2dbcCatalog(Vertx vertx, ConnectionPool pool, boolean blockingDriver, String description) {
        this.vertx = vertx;
        this.pool = pool;
        this.blockingDriver = blockingDriver;
        this.description = description;
    }

    // ---- schema ----

    /** Applies the migrations this build has and the store lacks; idempotent. */
    Future<Integer> migrate(Clock clock) {
        return withConnection(c -> update(c, Schema.VERSION_TABLE)
                .then(currentVersion(c))
                .flatMap(v -> applyFrom(c, v + 1, clock)));
    }

    private static Mono<Integer> currentVersion(Connection c) {
        return query(c, "SELECT MAX(version) AS v FROM schema_version", r -> Optional.ofNullable(r.get("v", Integer.class)))
                .map(l -> l.get(0).orElse(0));
    }

    private Mono<Integer> applyFrom(Connection c, int version, Clock clock) {
        if (version > Schema.MIGRATIONS.size()) {
            return Mono.just(version - 1);
        }
        Mono<Long> steps = Mono.just(0L);
        for (String sql : Schema.MIGRATIONS.get(version - 1)) {
            steps = steps.then(update(c, sql));
        }
        Mono<Long> migration = steps.then(update(c, "INSERT INTO schema_version (version, applied_us) VALUES ($1, $2)", version,
                micros(clock.instant())));
        // Another controller sharing the database may apply the same migration at the same time:
        // its failure here is fine when the version is applied after all.
        return transaction(c, migration)
                .onErrorResume(e -> currentVersion(c).flatMap(now -> now >= version ? Mono.just(0L) : Mono.error(e)))
                .then(Mono.defer(() -> applyFrom(c, version + 1, clock)));
    }

    // ---- agents and sources ----

    @Override
    public Future<Void> upsertAgent(AgentRecord a) {
        Object[] args = {a.agentVersion(), new JsonArray(new ArrayList<>(a.capabilities())).encode(), micros(a.enrolledAt()),
                micros(a.lastSeen()), a.connected(), a.certSerial(), micros(a.certNotAfter()), a.host()};
        return upsert("UPDATE agents SET agent_version = $1, capabilities = $2, enrolled_us = $3, last_seen_us = $4, connected = $5,"
                        + " cert_serial = $6, cert_not_after_us = $7 WHERE host = $8",
                "INSERT INTO agents (agent_version, capabilities, enrolled_us, last_seen_us, connected, cert_serial, cert_not_after_us,"
                        + " host) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", args);
    }

    @Override
    public Future<Void> disconnectAll() {
        return withConnection(c -> update(c, "UPDATE agents SET connected = $1 WHERE connected = $2", false, true)).mapEmpty();
    }

    @Override
    public Future<Void> agentSeen(String host, boolean connected, Instant at) {
        return withConnection(c -> update(c, "UPDATE agents SET connected = $1, last_seen_us = $2 WHERE host = $3", connected, micros(at), host))
                .mapEmpty();
    }

    private static final String AGENT_COLUMNS = "host, agent_version, capabilities, enrolled_us, last_seen_us, connected, cert_serial,"
            + " cert_not_after_us";

    private static AgentRecord agentOf(Row r) {
        List<String> caps = new ArrayList<>();
        new JsonArray(r.get("capabilities", String.class)).forEach(o -> caps.add(String.valueOf(o)));
        return new AgentRecord(r.get("host", String.class), r.get("agent_version", String.class), caps, instant(r, "enrolled_us"),
                optInstant(r, "last_seen_us"), r.get("connected", Boolean.class), r.get("cert_serial", String.class),
                instant(r, "cert_not_after_us"));
    }

    @Override
    public Future<Optional<AgentRecord>> agent(String host) {
        return one("SELECT " + AGENT_COLUMNS + " FROM agents WHERE host = $1", R2dbcCatalog::agentOf, host);
    }

    @Override
    public Future<Page<AgentRecord>> agents(PageRequest page) {
        return page("SELECT " + AGENT_COLUMNS + " FROM agents", List.of(), List.of(), new Keyset(false, "host:s"), page,
                R2dbcCatalog::agentOf, a -> List.of(a.host()));
    }

    @Override
    public Future<Void> replaceSources(String host, List<SourceRecord> sources) {
        return withConnection(c -> {
            Mono<Long> work = update(c, "DELETE FROM sources WHERE host = $1", host);
            for (SourceRecord s : sources) {
                if (!s.host().equals(host)) {
                    return Mono.error(new IllegalArgumentException("source " + s.name() + " is of host " + s.host() + ", not " + host));
                }
                Optional<SourceLiveState> l = s.live();
                work = work.then(update(c, "INSERT INTO sources (host, name, type, system_id, server_version, wal_mode, live_reported_us,"
                                + " live_rpo, live_lag, live_durable_lsn, live_durable_us, live_state, live_detail)"
                                + " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                        host, s.name(), s.type(), s.systemId(), s.serverVersion(), s.walMode(),
                        l.isPresent() ? micros(l.get().reportedAt()) : Null.LONG,
                        l.isPresent() ? (Object) l.get().rpoSeconds() : Null.DOUBLE,
                        l.isPresent() ? (Object) l.get().lagSeconds() : Null.DOUBLE,
                        l.isPresent() ? l.get().lastDurableLsn() : Null.STRING,
                        l.isPresent() ? micros(l.get().lastDurableAt()) : Null.LONG,
                        l.isPresent() ? l.get().state() : Null.STRING,
                        l.isPresent() ? l.get().detail() : Null.STRING));
            }
            return transaction(c, work);
        }).mapEmpty();
    }

    @Override
    public Future<Void> sourceState(String host, String source, SourceLiveState l) {
        return withConnection(c -> update(c, "UPDATE sources SET live_reported_us = $1, live_rpo = $2, live_lag = $3, live_durable_lsn = $4,"
                        + " live_durable_us = $5, live_state = $6, live_detail = $7 WHERE host = $8 AND name = $9",
                micros(l.reportedAt()), l.rpoSeconds(), l.lagSeconds(), l.lastDurableLsn(), micros(l.lastDurableAt()), l.state(), l.detail(),
                host, source)).mapEmpty();
    }

    private static SourceRecord sourceOf(Row r) {
        Long reported = r.get("live_reported_us", Long.class);
        Optional<SourceLiveState> live = reported == null ? Optional.empty() : Optional.of(new SourceLiveState(ofMicros(reported),
                r.get("live_rpo", Double.class), r.get("live_lag", Double.class), r.get("live_durable_lsn", String.class),
                optInstant(r, "live_durable_us"), r.get("live_state", String.class), r.get("live_detail", String.class)));
        return new SourceRecord(r.get("host", String.class), r.get("name", String.class), r.get("type", String.class),
                r.get("system_id", String.class), r.get("server_version", String.class), r.get("wal_mode", String.class), live);
    }

    @Override
    public Future<Optional<SourceRecord>> source(String host, String name) {
        return one("SELECT * FROM sources WHERE host = $1 AND name = $2", R2dbcCatalog::sourceOf, host, name);
    }

    @Override
    public Future<Page<SourceRecord>> sources(PageRequest page) {
        return page("SELECT * FROM sources", List.of(), List.of(), new Keyset(false, "host:s", "name:s"), page, R2dbcCatalog::sourceOf,
                s -> List.of(s.host(), s.name()));
    }

    // ---- backups and WAL ----

    @Override
    public Future<Void> upsertBackup(BackupRecord b) {
        long sort = b.startedAt().map(R2dbcCatalog::micros).orElse(0L);
        Object[] args = {b.host(), b.type(), b.tag(), b.state(), micros(b.startedAt()), micros(b.finishedAt()), sort, b.startLsn(),
                b.stopLsn(), b.timeline(), text(b.parent()), b.bytes(), b.storedBytes(), text(b.jobId()), b.source(), b.systemId(), b.id()};
        return upsert("UPDATE backups SET host = $1, type = $2, tag = $3, state = $4, started_us = $5, finished_us = $6, sort_us = $7,"
                        + " start_lsn = $8, stop_lsn = $9, timeline = $10, parent = $11, bytes = $12, stored_bytes = $13, job_id = $14"
                        + " WHERE source = $15 AND system_id = $16 AND id = $17",
                "INSERT INTO backups (host, type, tag, state, started_us, finished_us, sort_us, start_lsn, stop_lsn, timeline, parent,"
                        + " bytes, stored_bytes, job_id, source, system_id, id)"
                        + " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)", args);
    }

    private static BackupRecord backupOf(Row r) {
        return new BackupRecord(r.get("source", String.class), r.get("system_id", String.class), r.get("id", String.class),
                r.get("host", String.class), r.get("type", String.class), r.get("tag", String.class), r.get("state", String.class),
                optInstant(r, "started_us"), optInstant(r, "finished_us"), r.get("start_lsn", String.class), r.get("stop_lsn", String.class),
                r.get("timeline", Long.class), Optional.ofNullable(r.get("parent", String.class)), r.get("bytes", Long.class),
                r.get("stored_bytes", Long.class), Optional.ofNullable(r.get("job_id", String.class)));
    }

    @Override
    public Future<Page<BackupRecord>> backups(Optional<String> source, PageRequest page) {
        return page("SELECT * FROM backups", source.map(s -> List.of("source = ?")).orElse(List.of()),
                source.map(s -> List.<Object>of(s)).orElse(List.of()),
                new Keyset(true, "sort_us:l", "id:s", "source:s", "system_id:s"), page, R2dbcCatalog::backupOf,
                b -> List.of(b.startedAt().map(R2dbcCatalog::micros).orElse(0L), b.id(), b.source(), b.systemId()));
    }

    @Override
    public Future<Void> deleteBackup(String source, String systemId, String id) {
        return withConnection(c -> update(c, "DELETE FROM backups WHERE source = $1 AND system_id = $2 AND id = $3", source, systemId, id))
                .mapEmpty();
    }

    @Override
    public Future<Void> replaceWalRanges(String source, String systemId, List<WalRangeRecord> ranges) {
        return withConnection(c -> {
            Mono<Long> work = update(c, "DELETE FROM wal_ranges WHERE source = $1 AND system_id = $2", source, systemId);
            for (WalRangeRecord w : ranges) {
                if (!w.source().equals(source) || !w.systemId().equals(systemId)) {
                    return Mono.error(new IllegalArgumentException("WAL range of " + w.source() + "/" + w.systemId() + " given for "
                            + source + "/" + systemId));
                }
                work = work.then(update(c, "INSERT INTO wal_ranges (source, system_id, timeline, first_segment, last_segment, segments)"
                        + " VALUES ($1, $2, $3, $4, $5, $6)", source, systemId, w.timeline(), w.firstSegment(), w.lastSegment(), w.segments()));
            }
            return transaction(c, work);
        }).mapEmpty();
    }

    @Override
    public Future<List<WalRangeRecord>> walRanges(String source) {
        return withConnection(c -> query(c, "SELECT * FROM wal_ranges WHERE source = $1 ORDER BY system_id, timeline, first_segment",
                r -> new WalRangeRecord(r.get("source", String.class), r.get("system_id", String.class), r.get("timeline", Long.class),
                        r.get("first_segment", String.class), r.get("last_segment", String.class), r.get("segments", Long.class)),
                source));
    }

    @Override
    public Future<Void> clearRepositoryIndex() {
        return withConnection(c -> transaction(c, update(c, "DELETE FROM backups").then(update(c, "DELETE FROM wal_ranges")))).mapEmpty();
    }

    // ---- verification ----

    @Override
    public Future<Void> recordVerification(VerificationRecord v) {
        Object[] args = {micros(v.at()), v.ok(), text(v.errorCode()), text(v.errorMessage()), v.dataRead(), v.bytesRead(), v.jobId(),
                v.source(), v.systemId(), v.backupId()};
        return upsert("UPDATE verifications SET at_us = $1, passed = $2, error_code = $3, error_message = $4, data_read = $5,"
                        + " bytes_read = $6, job_id = $7 WHERE source = $8 AND system_id = $9 AND id = $10",
                "INSERT INTO verifications (at_us, passed, error_code, error_message, data_read, bytes_read, job_id, source, system_id, id)"
                        + " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", args);
    }

    private static VerificationRecord verificationOf(Row r) {
        return new VerificationRecord(r.get("source", String.class), r.get("system_id", String.class), r.get("id", String.class),
                instant(r, "at_us"), r.get("passed", Boolean.class), Optional.ofNullable(r.get("error_code", String.class)),
                Optional.ofNullable(r.get("error_message", String.class)), r.get("data_read", Boolean.class),
                r.get("bytes_read", Long.class), r.get("job_id", String.class));
    }

    @Override
    public Future<List<VerificationRecord>> verifications(Optional<String> source) {
        return withConnection(c -> source.isPresent()
                ? query(c, "SELECT * FROM verifications WHERE source = $1", R2dbcCatalog::verificationOf, source.get())
                : query(c, "SELECT * FROM verifications", R2dbcCatalog::verificationOf));
    }

    @Override
    public Future<Optional<String>> controllerState(String name) {
        return one("SELECT state_value FROM controller_state WHERE name = $1", r -> r.get("state_value", String.class), name);
    }

    @Override
    public Future<Void> putControllerState(String name, String value, Instant at) {
        return upsert("UPDATE controller_state SET state_value = $1, updated_us = $2 WHERE name = $3",
                "INSERT INTO controller_state (state_value, updated_us, name) VALUES ($1, $2, $3)", new Object[] {value, micros(at), name});
    }

    // ---- jobs ----

    @Override
    public Future<Void> insertJob(JobRecord j) {
        return withConnection(c -> insertJob(c, j)).mapEmpty();
    }

    private static Mono<Long> insertJob(Connection c, JobRecord j) {
        return update(c, "INSERT INTO jobs (id, host, source, kind, type, tag, state, job_trigger, requested_by,"
                        + " scheduled_for_us, created_us, dispatched_us, started_us, finished_us, progress_done, progress_total, phase,"
                        + " backup_id, error_code, error_message, result)"
                        + " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
                j.id(), j.host(), j.source(), j.kind(), j.type(), j.tag(), j.state().wire(), j.trigger(), j.requestedBy(),
                micros(j.scheduledFor()), micros(j.createdAt()), micros(j.dispatchedAt()), micros(j.startedAt()), micros(j.finishedAt()),
                j.progressDone(), j.progressTotal(), j.phase(), text(j.backupId()), text(j.errorCode()), text(j.errorMessage()),
                new JsonObject(new LinkedHashMap<>(j.result())).encode());
    }

    @Override
    public Future<Void> updateJob(JobRecord j) {
        return withConnection(c -> update(c, "UPDATE jobs SET state = $1, dispatched_us = $2, started_us = $3, finished_us = $4,"
                        + " progress_done = $5, progress_total = $6, phase = $7, backup_id = $8, error_code = $9, error_message = $10,"
                        + " result = $11 WHERE id = $12",
                j.state().wire(), micros(j.dispatchedAt()), micros(j.startedAt()), micros(j.finishedAt()), j.progressDone(),
                j.progressTotal(), j.phase(), text(j.backupId()), text(j.errorCode()), text(j.errorMessage()),
                new JsonObject(new LinkedHashMap<>(j.result())).encode(), j.id()))
                .compose(n -> n == 0 ? Future.failedFuture(new HoldfastException(ErrorCode.NOT_FOUND, "no job with id '" + j.id() + "'"))
                        : Future.succeededFuture());
    }

    private static final String JOB_COLUMNS = "id, host, source, kind, type, tag, state, job_trigger, requested_by, scheduled_for_us,"
            + " created_us, dispatched_us, started_us, finished_us, progress_done, progress_total, phase, backup_id, error_code,"
            + " error_message, result";

    private static JobRecord jobOf(Row r) {
        Map<String, String> result = new LinkedHashMap<>();
        new JsonObject(r.get("result", String.class)).forEach(e -> result.put(e.getKey(), String.valueOf(e.getValue())));
        return new JobRecord(r.get("id", String.class), r.get("host", String.class), r.get("source", String.class),
                r.get("kind", String.class), r.get("type", String.class), r.get("tag", String.class),
                JobState.ofWire(r.get("state", String.class)), r.get("job_trigger", String.class), r.get("requested_by", String.class),
                optInstant(r, "scheduled_for_us"), instant(r, "created_us"), optInstant(r, "dispatched_us"), optInstant(r, "started_us"),
                optInstant(r, "finished_us"), r.get("progress_done", Long.class), r.get("progress_total", Long.class),
                r.get("phase", String.class), Optional.ofNullable(r.get("backup_id", String.class)),
                Optional.ofNullable(r.get("error_code", String.class)), Optional.ofNullable(r.get("error_message", String.class)), result);
    }

    @Override
    public Future<Optional<JobRecord>> job(String id) {
        return one("SELECT " + JOB_COLUMNS + " FROM jobs WHERE id = $1", R2dbcCatalog::jobOf, id);
    }

    @Override
    public Future<List<JobRecord>> openJobs(String host) {
        return withConnection(c -> query(c, "SELECT " + JOB_COLUMNS + " FROM jobs WHERE host = $1 AND state IN ($2, $3, $4)"
                + " ORDER BY created_us, id", R2dbcCatalog::jobOf, host, OPEN_STATES.get(0), OPEN_STATES.get(1), OPEN_STATES.get(2)));
    }

    @Override
    public Future<Page<JobRecord>> jobs(PageRequest page) {
        return page("SELECT " + JOB_COLUMNS + " FROM jobs", List.of(), List.of(), new Keyset(true, "created_us:l", "id:s"), page,
                R2dbcCatalog::jobOf, j -> List.of(micros(j.createdAt()), j.id()));
    }

    @Override
    public Future<Page<JobRecord>> jobsOfKind(String kind, PageRequest page) {
        return page("SELECT " + JOB_COLUMNS + " FROM jobs", List.of("kind = ?"), List.of(kind), new Keyset(true, "created_us:l", "id:s"), page,
                R2dbcCatalog::jobOf, j -> List.of(micros(j.createdAt()), j.id()));
    }

    @Override
    public Future<List<JobRecord>> lastSucceeded(String kind) {
        // Ties on finished_us (the same microsecond) keep both rows; the caller takes either.
        return withConnection(c -> query(c, "SELECT " + JOB_COLUMNS + " FROM jobs j WHERE j.kind = $1 AND j.state = $2"
                + " AND j.finished_us = (SELECT max(k.finished_us) FROM jobs k WHERE k.kind = $3 AND k.state = $4 AND k.host = j.host"
                + " AND k.source = j.source) ORDER BY j.host, j.source", R2dbcCatalog::jobOf, kind, JobState.SUCCEEDED.wire(), kind,
                JobState.SUCCEEDED.wire()));
    }

    // ---- schedules ----

    @Override
    public Future<Boolean> claimScheduledRun(String host, String source, String tag, Instant scheduledFor, String jobId) {
        long at = micros(scheduledFor);
        return withConnection(c -> update(c, "INSERT INTO scheduled_runs (host, source, tag, scheduled_for_us, job_id)"
                + " VALUES ($1, $2, $3, $4, $5)", host, source, tag, at, jobId)
                .map(n -> n == 1)
                // The key exists: another caller claimed it. Any other failure (a lock timeout, a
                // lost connection) is reported as such, unless the row turns out to exist.
                .onErrorResume(e -> query(c, "SELECT job_id FROM scheduled_runs WHERE host = $1 AND source = $2 AND tag = $3"
                        + " AND scheduled_for_us = $4", r -> r.get("job_id", String.class), host, source, tag, at)
                        .flatMap(rows -> rows.isEmpty() ? Mono.error(e) : Mono.just(false))));
    }

    @Override
    public Future<Boolean> claimScheduledJob(JobRecord j) {
        if (j.scheduledFor().isEmpty()) {
            return Future.failedFuture(new IllegalArgumentException("job " + j.id() + " has no scheduled time"));
        }
        long at = micros(j.scheduledFor().get());
        return withConnection(c -> transaction(c, update(c, "INSERT INTO scheduled_runs (host, source, tag, scheduled_for_us, job_id)"
                        + " VALUES ($1, $2, $3, $4, $5)", j.host(), j.source(), j.tag(), at, j.id())
                        .then(insertJob(c, j)).thenReturn(true))
                .onErrorResume(e -> query(c, "SELECT job_id FROM scheduled_runs WHERE host = $1 AND source = $2 AND tag = $3"
                        + " AND scheduled_for_us = $4", r -> r.get("job_id", String.class), j.host(), j.source(), j.tag(), at)
                        .flatMap(rows -> rows.isEmpty() ? Mono.error(e) : Mono.just(false))));
    }

    @Override
    public Future<Optional<Instant>> lastScheduledRun(String host, String source, String tag) {
        return withConnection(c -> query(c, "SELECT MAX(scheduled_for_us) AS last FROM scheduled_runs WHERE host = $1 AND source = $2"
                + " AND tag = $3", r -> optInstant(r, "last"), host, source, tag).map(l -> l.get(0)));
    }

    // ---- enrolment and certificates ----

    @Override
    public Future<Void> insertEnrolmentToken(EnrolmentTokenRecord t) {
        return withConnection(c -> update(c, "INSERT INTO enrolment_tokens (token_hash, host, created_us, expires_us, created_by, used_us)"
                        + " VALUES ($1, $2, $3, $4, $5, $6)", t.tokenHash(), t.host(), micros(t.createdAt()), micros(t.expiresAt()),
                t.createdBy(), micros(t.usedAt()))).mapEmpty();
    }

    @Override
    public Future<Optional<EnrolmentTokenRecord>> enrolmentToken(String tokenHash) {
        return one("SELECT * FROM enrolment_tokens WHERE token_hash = $1", r -> new EnrolmentTokenRecord(r.get("token_hash", String.class),
                r.get("host", String.class), instant(r, "created_us"), instant(r, "expires_us"), r.get("created_by", String.class),
                optInstant(r, "used_us")), tokenHash);
    }

    @Override
    public Future<Boolean> consumeEnrolmentToken(String tokenHash, Instant at) {
        // The condition is re-checked under the row lock by both stores: of concurrent callers,
        // exactly one sees used_us IS NULL and updates the row.
        return withConnection(c -> update(c, "UPDATE enrolment_tokens SET used_us = $1 WHERE token_hash = $2 AND used_us IS NULL",
                micros(at), tokenHash).map(n -> n == 1));
    }

    @Override
    public Future<Void> insertCertificate(CertificateRecord cert) {
        return withConnection(c -> update(c, "INSERT INTO certificates (serial, host, not_before_us, not_after_us, revoked_us)"
                        + " VALUES ($1, $2, $3, $4, $5)", cert.serial(), cert.host(), micros(cert.notBefore()), micros(cert.notAfter()),
                micros(cert.revokedAt()))).mapEmpty();
    }

    @Override
    public Future<Integer> revokeCertificates(String host, Instant at) {
        return withConnection(c -> update(c, "UPDATE certificates SET revoked_us = $1 WHERE host = $2 AND revoked_us IS NULL",
                micros(at), host).map(Long::intValue));
    }

    @Override
    public Future<List<String>> revokedSerials() {
        return withConnection(c -> query(c, "SELECT serial FROM certificates WHERE revoked_us IS NOT NULL ORDER BY serial",
                r -> r.get("serial", String.class)));
    }

    // ---- API tokens ----

    @Override
    public Future<Void> insertApiToken(ApiTokenRecord t) {
        return withConnection(c -> update(c, "INSERT INTO api_tokens (token_hash, role, name, created_us, created_by)"
                + " VALUES ($1, $2, $3, $4, $5)", t.tokenHash(), t.role(), t.name(), micros(t.createdAt()), t.createdBy())).mapEmpty();
    }

    @Override
    public Future<Optional<ApiTokenRecord>> apiToken(String tokenHash) {
        return one("SELECT * FROM api_tokens WHERE token_hash = $1", r -> new ApiTokenRecord(r.get("token_hash", String.class),
                r.get("role", String.class), r.get("name", String.class), instant(r, "created_us"), r.get("created_by", String.class)),
                tokenHash);
    }

    @Override
    public Future<Integer> deleteApiTokens(String name, String keepHash) {
        return withConnection(c -> update(c, "DELETE FROM api_tokens WHERE name = $1 AND token_hash <> $2", name,
                keepHash == null ? "" : keepHash)).map(Long::intValue);
    }

    // ---- audit ----

    /** Sets the key appends chain with (at open, before the catalog is handed out). */
    void auditKey(AuditKey key) {
        this.auditKey = key;
    }

    @Override
    public Optional<AuditKey> auditKey() {
        return Optional.ofNullable(auditKey);
    }

    @Override
    public Future<Long> appendAudit(AuditRecord e) {
        AuditKey key = auditKey;
        if (key == null) {
            return Future.failedFuture(new HoldfastException(ErrorCode.AUDIT_KEY_MISMATCH,
                    "this catalog was opened without the audit key: it cannot append audit entries"));
        }
        long at = micros(e.at());
        // Under the head row's lock (FOR UPDATE on both stores): a second controller sharing a
        // PostgreSQL catalog waits here, so seq and prev mac are never read by two appends at once.
        Function<Connection, Mono<Long>> work = c -> transaction(c, query(c, "SELECT seq, mac, key_id FROM audit_head WHERE id = 1 FOR UPDATE",
                r -> new HeadRow(r.get("seq", Long.class), r.get("mac", String.class), Optional.ofNullable(r.get("key_id", String.class))))
                .flatMap(rows -> {
                    if (rows.isEmpty()) {
                        return Mono.error(new IllegalStateException("the audit_head row is missing"));
                    }
                    HeadRow head = rows.get(0);
                    if (head.keyId().isPresent() && !head.keyId().get().equals(key.id())) {
                        return Mono.error(keyMismatch(head.keyId().get(), key.id()));
                    }
                    long seq = head.seq() + 1;
                    AuditRecord stored = new AuditRecord(seq, ofMicros(at), e.requestId(), e.actor(), e.role(), e.action(), e.object(),
                            e.outcome(), e.detail());
                    AuditMac mac = AuditChain.link(key, AuditMac.parse(head.mac()), stored);
                    return update(c, "INSERT INTO audit (seq, at_us, request_id, actor, role, action, object_name, outcome, detail, mac)"
                                    + " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", seq, at, e.requestId(), e.actor(), e.role(),
                            e.action(), e.object(), e.outcome(), e.detail(), mac.hex())
                            .then(update(c, "UPDATE audit_head SET seq = $1, mac = $2, key_id = $3 WHERE id = 1", seq, mac.hex(), key.id()))
                            .thenReturn(seq);
                }));
        return serialized(work);
    }

    /** The audit_head row as an append reads it. */
    private record HeadRow(long seq, String mac, Optional<String> keyId) {
    }

    static HoldfastException keyMismatch(String chainKeyId, String givenKeyId) {
        return new HoldfastException(ErrorCode.AUDIT_KEY_MISMATCH, "the catalog's audit chain is made with key " + chainKeyId
                + ", not with " + givenKeyId + " (<data_dir>/audit.key): copy the audit.key of the controller that started the chain,"
                + " or restore it from the repository's sealed copy audit/keys/" + chainKeyId);
    }

    /** Checks at open that {@code key} is the chain's key (when the chain has one yet). */
    Future<Void> checkAuditKey(AuditKey key) {
        return auditHead().compose(h -> h.keyId().isPresent() && !h.keyId().get().equals(key.id())
                ? Future.failedFuture(keyMismatch(h.keyId().get(), key.id())) : Future.succeededFuture());
    }

    private static AuditRecord auditOf(Row r) {
        return new AuditRecord(r.get("seq", Long.class), instant(r, "at_us"), r.get("request_id", String.class),
                r.get("actor", String.class), r.get("role", String.class), r.get("action", String.class),
                r.get("object_name", String.class), r.get("outcome", String.class), r.get("detail", String.class));
    }

    private static AuditEntry auditEntryOf(Row r) {
        String mac = r.get("mac", String.class);
        return new AuditEntry(auditOf(r), mac == null ? Optional.empty() : Optional.of(AuditMac.parse(mac)));
    }

    @Override
    public Future<Page<AuditRecord>> audit(PageRequest page) {
        return page("SELECT * FROM audit", List.of(), List.of(), new Keyset(false, "seq:l"), page, R2dbcCatalog::auditOf,
                a -> List.of(a.seq()));
    }

    @Override
    public Future<Page<AuditEntry>> auditEntries(PageRequest page) {
        return page("SELECT * FROM audit", List.of(), List.of(), new Keyset(false, "seq:l"), page, R2dbcCatalog::auditEntryOf,
                a -> List.of(a.record().seq()));
    }

    @Override
    public Future<List<AuditEntry>> auditAfter(long afterSeq, int limit) {
        if (limit < 1 || limit > 100_000) {
            return Future.failedFuture(new IllegalArgumentException("limit must be 1..100000, not " + limit));
        }
        return withConnection(c -> query(c, "SELECT * FROM audit WHERE seq > $1 ORDER BY seq LIMIT " + limit, R2dbcCatalog::auditEntryOf,
                afterSeq));
    }

    @Override
    public Future<AuditHead> auditHead() {
        return withConnection(c -> query(c, "SELECT * FROM audit_head WHERE id = 1", r -> new AuditHead(r.get("seq", Long.class),
                AuditMac.parse(r.get("mac", String.class)), r.get("base_seq", Long.class), r.get("exported_seq", Long.class),
                AuditMac.parse(r.get("exported_mac", String.class)), Optional.ofNullable(r.get("key_id", String.class))))
                .flatMap(l -> l.isEmpty() ? Mono.error(new IllegalStateException("the audit_head row is missing")) : Mono.just(l.get(0))));
    }

    @Override
    public Future<Boolean> markAuditExported(long fromSeq, long seq, AuditMac mac) {
        return withConnection(c -> update(c, "UPDATE audit_head SET exported_seq = $1, exported_mac = $2 WHERE id = 1 AND exported_seq = $3",
                seq, mac.hex(), fromSeq).map(n -> n == 1));
    }

    /**
     * Closes the pool. Off an event loop (CLI, tests, shutdown hooks) it waits until every
     * connection is closed, so that the embedded store's file is released when it returns; on an
     * event loop it only starts closing.
     */
    @Override
    public void close() {
        if (Context.isOnEventLoopThread()) {
            pool.disposeLater().subscribe(v -> { }, e -> { });
        } else {
            pool.disposeLater().block(Duration.ofSeconds(30));
        }
    }

    @Override
    public String toString() {
        return "catalog " + description;
    }

    // ---- restore requests ----

    private static final String RESTORE_COLUMNS = "id, host, state, created_us, revision, body";

    private static RestoreRecord restoreOf(Row r) {
        return RestoreRecord.of(r.get("id", String.class), r.get("host", String.class), r.get("state", String.class),
                r.get("created_us", Long.class), r.get("revision", Long.class), new JsonObject(r.get("body", String.class)));
    }

    @Override
    public Future<Void> insertRestore(RestoreRecord x) {
        return withConnection(c -> update(c, "INSERT INTO restores (" + RESTORE_COLUMNS + ") VALUES ($1, $2, $3, $4, $5, $6)", x.id(),
                x.host(), x.state().wire(), micros(x.createdAt()), x.revision(), x.document().encode())).mapEmpty();
    }

    @Override
    public Future<Boolean> updateRestore(RestoreRecord x, long expectedRevision) {
        return withConnection(c -> update(c, "UPDATE restores SET state = $1, revision = $2, body = $3 WHERE id = $4 AND revision = $5",
                x.state().wire(), x.revision(), x.document().encode(), x.id(), expectedRevision)).map(n -> n == 1);
    }

    @Override
    public Future<Optional<RestoreRecord>> restore(String id) {
        return one("SELECT " + RESTORE_COLUMNS + " FROM restores WHERE id = $1", R2dbcCatalog::restoreOf, id);
    }

    @Override
    public Future<Page<RestoreRecord>> restores(PageRequest page) {
        return page("SELECT " + RESTORE_COLUMNS + " FROM restores", List.of(), List.of(), new Keyset(true, "created_us:l", "id:s"), page,
                R2dbcCatalog::restoreOf, x -> List.of(micros(x.createdAt()), x.id()));
    }

    @Override
    public Future<List<RestoreRecord>> openRestores(Optional<String> host) {
        String open = "state IN ('" + RestoreState.APPROVED.wire() + "', '" + RestoreState.RUNNING.wire() + "')";
        return withConnection(c -> host.isPresent()
                ? query(c, "SELECT " + RESTORE_COLUMNS + " FROM restores WHERE host = $1 AND " + open + " ORDER BY created_us, id",
                        R2dbcCatalog::restoreOf, host.get())
                : query(c, "SELECT " + RESTORE_COLUMNS + " FROM restores WHERE " + open + " ORDER BY created_us, id",
                        R2dbcCatalog::restoreOf));
    }

    // ---- plumbing ----

    /** A typed SQL NULL for {@link Statement#bindNull}. */
    private record Null(Class<?> type) {
        static final Null LONG = new Null(Long.class);
        static final Null STRING = new Null(String.class);
        static final Null DOUBLE = new Null(Double.class);
    }

    static long micros(Instant i) {
        return Math.addExact(Math.multiplyExact(i.getEpochSecond(), 1_000_000L), i.getNano() / 1000);
    }

    private static Object micros(Optional<Instant> i) {
        return i.isPresent() ? (Object) micros(i.get()) : Null.LONG;
    }

    static Instant ofMicros(long us) {
        return Instant.ofEpochSecond(Math.floorDiv(us, 1_000_000L), Math.floorMod(us, 1_000_000L) * 1000L);
    }

    private static Object text(Optional<String> s) {
        return s.isPresent() ? s.get() : Null.STRING;
    }

    private static Instant instant(Row r, String column) {
        return ofMicros(r.get(column, Long.class));
    }

    private static Optional<Instant> optInstant(Row r, String column) {
        Long v = r.get(column, Long.class);
        return v == null ? Optional.empty() : Optional.of(ofMicros(v));
    }

    private static Statement bind(Connection c, String sql, Object... args) {
        Statement s = c.createStatement(sql);
        for (int i = 0; i < args.length; i++) {
            if (args[i] instanceof Null n) {
                s.bindNull(i, n.type());
            } else {
                s.bind(i, args[i]);
            }
        }
        return s;
    }

    /** Runs a statement; the rows it changed. */
    private static Mono<Long> update(Connection c, String sql, Object... args) {
        return Mono.defer(() -> Flux.from(bind(c, sql, args).execute()).flatMap(Result::getRowsUpdated).reduce(0L, Long::sum));
    }

    private static <T> Mono<List<T>> query(Connection c, String sql, Function<Row, T> map, Object... args) {
        return Mono.defer(() -> Flux.from(bind(c, sql, args).execute())
                .flatMap(r -> r.map((row, md) -> Optional.ofNullable(map.apply(row))))
                .map(o -> o.orElseThrow(() -> new IllegalStateException("a row mapped to null: " + sql)))
                .collectList());
    }

    private <T> Future<Optional<T>> one(String sql, Function<Row, T> map, Object... args) {
        return withConnection(c -> query(c, sql, map, args).map(l -> l.isEmpty() ? Optional.empty() : Optional.of(l.get(0))));
    }

    /** Update, else insert; an insert that loses to a concurrent one becomes an update. Same arguments for both. */
    private Future<Void> upsert(String updateSql, String insertSql, Object[] args) {
        return withConnection(c -> update(c, updateSql, args).flatMap(n -> n > 0 ? Mono.just(n)
                : update(c, insertSql, args).onErrorResume(R2dbcDataIntegrityViolationException.class, e -> update(c, updateSql, args))))
                .mapEmpty();
    }

    /** Runs {@code work} in a transaction on {@code c}: committed when it succeeds, rolled back when it fails. */
    private static <T> Mono<T> transaction(Connection c, Mono<T> work) {
        return Mono.from(c.beginTransaction())
                .then(work.map(Optional::of).defaultIfEmpty(Optional.empty()))
                .flatMap(v -> Mono.from(c.commitTransaction()).thenReturn(v))
                .onErrorResume(e -> Mono.from(c.rollbackTransaction()).onErrorResume(x -> Mono.empty()).then(Mono.error(e)))
                .flatMap(Mono::justOrEmpty);
    }

    /**
     * Runs {@code work} on a pooled connection (returned whatever happens); completes on the
     * caller's context with the result (null when the work is empty) or a {@link HoldfastException}.
     */
    private <T> Future<T> withConnection(Function<Connection, Mono<T>> work) {
        Context context = vertx.getOrCreateContext();
        Mono<Optional<T>> m = Mono.usingWhen(pool.create(),
                c -> Mono.defer(() -> work.apply(c)).map(Optional::of).defaultIfEmpty(Optional.empty()),
                Connection::close);
        if (blockingDriver) {
            m = m.subscribeOn(Schedulers.boundedElastic());
        }
        return Future.fromCompletionStage(m.toFuture(), context)
                .transform(ar -> ar.succeeded() ? Future.succeededFuture(ar.result().orElse(null)) : Future.failedFuture(translate(ar.cause())));
    }

    /**
     * Like {@link #withConnection}, but the work starts only once the previous serialized work of
     * this catalog has finished (whatever its outcome): audit appends run one at a time, so the
     * in-process writers never queue on the head row's lock (nor time out there on H2).
     */
    private <T> Future<T> serialized(Function<Connection, Mono<T>> work) {
        Context context = vertx.getOrCreateContext();
        Mono<Optional<T>> m = Mono.usingWhen(pool.create(),
                c -> Mono.defer(() -> work.apply(c)).map(Optional::of).defaultIfEmpty(Optional.empty()),
                Connection::close);
        if (blockingDriver) {
            m = m.subscribeOn(Schedulers.boundedElastic());
        }
        Mono<Optional<T>> run = m;
        CompletableFuture<Optional<T>> mine;
        synchronized (this) {
            mine = auditTail.handle((v, t) -> null).thenCompose(v -> run.toFuture());
            auditTail = mine;
        }
        return Future.fromCompletionStage(mine, context)
                .transform(ar -> ar.succeeded() ? Future.succeededFuture(ar.result().orElse(null)) : Future.failedFuture(translate(ar.cause())));
    }

    private Throwable translate(Throwable e) {
        Throwable t = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
        if (t instanceof HoldfastException || t instanceof IllegalArgumentException) {
            return t;
        }
        if (t instanceof R2dbcDataIntegrityViolationException) {
            return new HoldfastException(ErrorCode.CONFLICT, "catalog: " + t.getMessage(), t);
        }
        return new HoldfastException(ErrorCode.INTERNAL, "catalog (" + description + "): " + t.getMessage(), t);
    }

    // ---- pagination ----

    /**
     * A total order for keyset pagination: columns named {@code name:s} (text) or {@code name:l}
     * (integer), all ascending or all descending. The cursor is the last row's key, as base64url
     * of a JSON array: opaque to clients, stable across restarts, and a page never skips or repeats
     * a row that existed before the first page was read.
     */
    private record Keyset(boolean descending, String... columns) {
        String column(int i) {
            return columns[i].substring(0, columns[i].indexOf(':'));
        }

        boolean integer(int i) {
            return columns[i].endsWith(":l");
        }

        String orderBy() {
            List<String> parts = new ArrayList<>();
            for (int i = 0; i < columns.length; i++) {
                parts.add(column(i) + (descending ? " DESC" : " ASC"));
            }
            return String.join(", ", parts);
        }

        String encode(List<Object> key) {
            return Base64.getUrlEncoder().withoutPadding().encodeToString(new JsonArray(new ArrayList<>(key)).encode()
                    .getBytes(StandardCharsets.UTF_8));
        }

        List<Object> decode(String cursor) {
            HoldfastException bad = new HoldfastException(ErrorCode.USAGE, "invalid page cursor: pass the 'next' value of the previous page");
            JsonArray a;
            try {
                a = new JsonArray(new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8));
            } catch (IllegalArgumentException | DecodeException e) {
                throw bad;
            }
            if (a.size() != columns.length) {
                throw bad;
            }
            List<Object> out = new ArrayList<>();
            for (int i = 0; i < columns.length; i++) {
                Object v = a.getValue(i);
                if (integer(i) && v instanceof Number n) {
                    out.add(n.longValue());
                } else if (!integer(i) && v instanceof String s) {
                    out.add(s);
                } else {
                    throw bad;
                }
            }
            return out;
        }
    }

    /**
     * One page of {@code select}, filtered by {@code conditions} (with {@code ?} for their
     * {@code args}), after the cursor's key, in the keyset's order.
     */
    private <T> Future<Page<T>> page(String select, List<String> conditions, List<Object> args, Keyset ks, PageRequest page,
                                     Function<Row, T> map, Function<T, List<Object>> keyOf) {
        List<Object> after;
        try {
            after = page.cursor().map(ks::decode).orElse(null);
        } catch (HoldfastException e) {
            return Future.failedFuture(e);
        }
        List<Object> binds = new ArrayList<>();
        List<String> where = new ArrayList<>();
        for (String cond : conditions) {
            StringBuilder sb = new StringBuilder();
            for (char ch : cond.toCharArray()) {
                if (ch == '?') {
                    binds.add(args.get(binds.size()));
                    sb.append('$').append(binds.size());
                } else {
                    sb.append(ch);
                }
            }
            where.add(sb.toString());
        }
        if (after != null) {
            // (c1 op k1) OR (c1 = k1 AND c2 op k2) OR ...
            String op = ks.descending() ? " < " : " > ";
            List<String> alternatives = new ArrayList<>();
            for (int i = 0; i < ks.columns().length; i++) {
                List<String> terms = new ArrayList<>();
                for (int j = 0; j < i; j++) {
                    binds.add(after.get(j));
                    terms.add(ks.column(j) + " = $" + binds.size());
                }
                binds.add(after.get(i));
                terms.add(ks.column(i) + op + "$" + binds.size());
                alternatives.add("(" + String.join(" AND ", terms) + ")");
            }
            where.add("(" + String.join(" OR ", alternatives) + ")");
        }
        String sql = select + (where.isEmpty() ? "" : " WHERE " + String.join(" AND ", where)) + " ORDER BY " + ks.orderBy()
                + " LIMIT " + (page.limit() + 1);
        return withConnection(c -> query(c, sql, map, binds.toArray())).map(rows -> {
            if (rows.size() <= page.limit()) {
                return new Page<>(rows, Optional.empty());
            }
            List<T> items = rows.subList(0, page.limit());
            return new Page<>(items, Optional.of(ks.encode(keyOf.apply(items.get(items.size() - 1)))));
        });
    }
}
