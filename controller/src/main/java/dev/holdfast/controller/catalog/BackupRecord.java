package dev.holdfast.controller.catalog;

import java.time.Instant;
import java.util.Optional;

/**
 * A backup as indexed from its manifest (or, before the manifest exists, as reported by a job).
 *
 * @param source source name @param systemId PostgreSQL system id @param id the backup id
 * @param host the agent that took it ("" when reindexed from the bucket alone)
 * @param type full | incr | logical @param tag daily | weekly | monthly | adhoc | ...
 * @param state complete | incomplete (no manifest) | unreadable (a manifest neither copy of which reads)
 * @param startedAt @param finishedAt
 * @param startLsn X/X or "" @param stopLsn X/X or "" @param timeline 0 when unknown
 * @param parent the incremental's parent id @param bytes plaintext bytes @param storedBytes bytes in the store
 * @param jobId the job that took it, when known
 */
public record BackupRecord(String source, String systemId, String id, String host, String type, String tag, String state,
                           Optional<Instant> startedAt, Optional<Instant> finishedAt, String startLsn, String stopLsn,
                           long timeline, Optional<String> parent, long bytes, long storedBytes, Optional<String> jobId) {
}
