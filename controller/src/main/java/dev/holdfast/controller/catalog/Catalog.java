package dev.holdfast.controller.catalog;

import dev.holdfast.controller.audit.AuditKey;
import dev.holdfast.controller.audit.AuditMac;
import io.vertx.core.Future;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The controller's catalog: an index of the fleet, its backups and jobs, and the controller's own
 * state (tokens, certificates, schedule claims, audit). The bucket stays the source of truth for
 * backups: {@code reindex} rebuilds the backup and WAL tables from it.
 *
 * <p>Contract: one implementation ({@code R2dbcCatalog}) serves both the embedded H2 store and
 * PostgreSQL with the same SQL; every method is non-blocking and completes its future on the
 * caller's Vert.x context. Writes are atomic per call. Methods named {@code claim...} or
 * {@code consume...} are the concurrency guards: they succeed for exactly one caller, also across
 * controller restarts and (on PostgreSQL) across controllers sharing the database.
 */
public interface Catalog extends AutoCloseable {

    // ---- agents and sources ----

    /** Inserts or replaces an agent's inventory (at enrolment and at every Hello). */
    Future<Void> upsertAgent(AgentRecord agent);

    /** Marks every agent disconnected (a controller starting has no link yet, whatever a crash left behind). */
    Future<Void> disconnectAll();

    /** Sets an agent's connected flag and last-seen time; no-op for an unknown host. */
    Future<Void> agentSeen(String host, boolean connected, Instant at);

    Future<Optional<AgentRecord>> agent(String host);

    /** Agents ordered by host. */
    Future<Page<AgentRecord>> agents(PageRequest page);

    /** Replaces the set of sources of a host (from its Hello). */
    Future<Void> replaceSources(String host, List<SourceRecord> sources);

    /** Updates the live state of one source (from a heartbeat); no-op for an unknown source. */
    Future<Void> sourceState(String host, String source, SourceLiveState state);

    /** One source of a host, if the host reported it. */
    Future<Optional<SourceRecord>> source(String host, String name);

    /** Sources ordered by host, then name. */
    Future<Page<SourceRecord>> sources(PageRequest page);

    // ---- backups and WAL (an index of the repository) ----

    /** Inserts or replaces a backup, keyed by (source, system id, backup id). */
    Future<Void> upsertBackup(BackupRecord backup);

    /** Backups, newest first (by started_at, then id); {@code source} empty: all sources. */
    Future<Page<BackupRecord>> backups(Optional<String> source, PageRequest page);

    /** Removes a backup's row (retention deleted its manifest); absent rows are fine. */
    Future<Void> deleteBackup(String source, String systemId, String id);

    /** Replaces the WAL ranges known for (source, system id). */
    Future<Void> replaceWalRanges(String source, String systemId, List<WalRangeRecord> ranges);

    /** WAL ranges of a source, by system id, timeline, first segment. */
    Future<List<WalRangeRecord>> walRanges(String source);

    /** Deletes every backup and WAL range row (reindex starts from this). */
    Future<Void> clearRepositoryIndex();

    // ---- verification (controller verify package) ----

    /** Inserts or replaces the latest verification outcome of a backup. */
    Future<Void> recordVerification(VerificationRecord v);

    /** The latest verification outcomes of a source's backups ({@code source} empty: all), in no particular order. */
    Future<List<VerificationRecord>> verifications(Optional<String> source);

    /** A named value the controller keeps across restarts (e.g. {@code verify.sample.cursor}). */
    Future<Optional<String>> controllerState(String name);

    /** Sets a named value (insert or replace). */
    Future<Void> putControllerState(String name, String value, Instant at);

    // ---- jobs ----

    Future<Void> insertJob(JobRecord job);

    /** Replaces a job's mutable fields (state, times, progress, result); fails with not_found for an unknown id. */
    Future<Void> updateJob(JobRecord job);

    Future<Optional<JobRecord>> job(String id);

    /** Jobs of a host that are not finished (queued, dispatched or running), oldest first. */
    Future<List<JobRecord>> openJobs(String host);

    /** Jobs, newest first (by created_at). */
    Future<Page<JobRecord>> jobs(PageRequest page);

    /** Jobs of one kind ({@code backup}, {@code drill}), newest first (by created_at). */
    Future<Page<JobRecord>> jobsOfKind(String kind, PageRequest page);

    /** For each host and source, its newest succeeded job of {@code kind} (by finished_at), e.g. the last good drill. */
    Future<List<JobRecord>> lastSucceeded(String kind);

    // ---- schedules ----

    /**
     * Claims the scheduled run (host, source, tag, scheduledFor) for a job: true for exactly one
     * caller ever (a unique key), false when it was already claimed. This is what makes a
     * restarted controller never run a schedule twice.
     */
    Future<Boolean> claimScheduledRun(String host, String source, String tag, Instant scheduledFor, String jobId);

    /**
     * Claims the scheduled run of {@code job} (its host, source, tag and {@code scheduledFor}) and
     * inserts the job, in one transaction: true when both happened, false when the slot was claimed
     * already (and nothing was written). A crash can never leave a claimed slot without its job.
     */
    Future<Boolean> claimScheduledJob(JobRecord job);

    /** The latest claimed scheduled time for (host, source, tag), if any. */
    Future<Optional<Instant>> lastScheduledRun(String host, String source, String tag);

    // ---- enrolment and certificates ----

    Future<Void> insertEnrolmentToken(EnrolmentTokenRecord token);

    Future<Optional<EnrolmentTokenRecord>> enrolmentToken(String tokenHash);

    /** Marks an unused token used at {@code at}: true for exactly one caller, false when already used. */
    Future<Boolean> consumeEnrolmentToken(String tokenHash, Instant at);

    Future<Void> insertCertificate(CertificateRecord certificate);

    /** Marks every certificate of a host revoked at {@code at}; returns how many were. */
    Future<Integer> revokeCertificates(String host, Instant at);

    /** Serial numbers (lower-case hex) of every revoked certificate. */
    Future<List<String>> revokedSerials();

    // ---- API tokens ----

    Future<Void> insertApiToken(ApiTokenRecord token);

    Future<Optional<ApiTokenRecord>> apiToken(String tokenHash);

    /** Deletes the API tokens named {@code name}, except the one whose hash is {@code keepHash} (may be null); returns how many. */
    Future<Integer> deleteApiTokens(String name, String keepHash);

    // ---- audit ----

    /**
     * Appends an entry; the catalog assigns its sequence number (returned) and its chain mac
     * (docs/format.md section 15.1), computed and stored in one transaction with the entry and the
     * chain's head. Appends are serialized: one at a time in this process, and under the head row's
     * lock across processes sharing a PostgreSQL catalog, so the chain never forks. Fails with
     * {@code audit_key_mismatch} when the catalog was opened without the chain's key.
     */
    Future<Long> appendAudit(AuditRecord entry);

    /** Audit entries in sequence order, oldest first. */
    Future<Page<AuditRecord>> audit(PageRequest page);

    /** Audit entries with their chain macs, in sequence order, oldest first. */
    Future<Page<AuditEntry>> auditEntries(PageRequest page);

    /** Up to {@code limit} audit entries with sequence numbers above {@code afterSeq}, oldest first. */
    Future<List<AuditEntry>> auditAfter(long afterSeq, int limit);

    /** The chain's head, base and export position. */
    Future<AuditHead> auditHead();

    /**
     * Records that the entries up to {@code seq} (mac {@code mac}) are exported, if the recorded
     * export position is still {@code fromSeq}: true when it was recorded, false when another
     * exporter moved it first.
     */
    Future<Boolean> markAuditExported(long fromSeq, long seq, AuditMac mac);

    /** The key this catalog chains audit entries with; empty when it was opened for reading only. */
    Optional<AuditKey> auditKey();

    // ---- restore requests ----

    Future<Void> insertRestore(RestoreRecord restore);

    /**
     * Replaces a restore request if its stored revision is {@code expectedRevision} (the new record
     * carries a higher one): true for exactly one of concurrent callers, false when it changed
     * meanwhile (re-read and decide again).
     */
    Future<Boolean> updateRestore(RestoreRecord restore, long expectedRevision);

    Future<Optional<RestoreRecord>> restore(String id);

    /** Restore requests, newest first. */
    Future<Page<RestoreRecord>> restores(PageRequest page);

    /** Approved and running restore requests (of one host, or all), oldest first. */
    Future<List<RestoreRecord>> openRestores(Optional<String> host);

    /** Closes the connection pool. */
    @Override
    void close();
}
