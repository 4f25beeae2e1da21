package dev.holdfast.agent.postgres.replication;

import dev.holdfast.repository.wal.Lsn;

/**
 * A replication slot as {@code READ_REPLICATION_SLOT} shows it.
 *
 * @param type {@code physical} or {@code logical}
 * @param restartLsn the oldest WAL the slot keeps; {@link Lsn#INVALID} if it keeps none (not reserved yet)
 * @param restartTimeline the timeline of {@code restartLsn}; 0 when it is invalid
 */
public record SlotInfo(String type, Lsn restartLsn, int restartTimeline) {
}
