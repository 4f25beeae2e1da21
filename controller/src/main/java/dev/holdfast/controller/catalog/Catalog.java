package dev.holdfast.controller.catalog;

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

    /** Replaces the WAL ranges known for (source, system id). */
    Future<Void> replaceWalRanges(String source, String systemId, List<WalRangeRecord> ranges);

    /** WAL ranges of a source, by system id, timeline, first segment. */
    Future<List<WalRangeRecord>> walRanges(String source);

    /** Deletes every backup and WAL range row (reindex starts from this). */
    Future<Void> clearRepositoryIndex();

    // ---- jobs ----

    Future<Void> insertJob(JobRecord job);

    /** Replaces a job's mutable fields (state, times, progress, result); fails with not_found for an unknown id. */
    Future<Void> updateJob(JobRecord job);

    Future<Optional<JobRecord>> job(String id);

    /** Jobs of a host that are not finished (queued, dispatched or running), oldest first. */
    Future<List<JobRecord>> openJobs(String host);

    /** Jobs, newest first (by created_at). */
    Future<Page<JobRecord>> jobs(PageRequest page);

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

    /** Appends an entry; the catalog assigns its sequence number (returned). */
    Future<Long> appendAudit(AuditRecord entry);

    /** Audit entries in sequence order, oldest first. */
    Future<Page<AuditRecord>> audit(PageRequest page);

    /** Closes the connection pool. */
    @Override
    void close();
}
