package dev.holdfast.agent.postgres.replication;

import dev.holdfast.repository.wal.Lsn;

/**
 * The answer to {@code IDENTIFY_SYSTEM}.
 *
 * @param systemId the cluster's system identifier, in decimal (as {@code pg_control_system()} shows it)
 * @param timeline the server's current timeline
 * @param xlogPos the current WAL flush position
 * @param dbName the database of a logical replication connection; null for physical ones
 */
public record SystemIdentity(String systemId, int timeline, Lsn xlogPos, String dbName) {
}
