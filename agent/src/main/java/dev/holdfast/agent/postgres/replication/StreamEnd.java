package dev.holdfast.agent.postgres.replication;

import dev.holdfast.repository.wal.Lsn;

/**
 * How a {@link ReplicationClient#startReplication} stream ended normally.
 *
 * @param endOfTimeline true when the server ended the stream because the requested timeline ends
 *        (it was promoted away from): continue on {@code nextTimeline} from {@code nextTimelineStart};
 *        false when the client stopped the stream ({@link ReplicationClient#stopReplication()})
 * @param nextTimeline the timeline that follows; 0 unless {@code endOfTimeline}
 * @param nextTimelineStart where the next timeline starts (the switch point); {@link Lsn#INVALID} unless {@code endOfTimeline}
 */
public record StreamEnd(boolean endOfTimeline, int nextTimeline, Lsn nextTimelineStart) {
}
