package dev.holdfast.repository.retention;

import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.wal.Lsn;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * What the planner knows about one backup id of a cluster.
 *
 * @param id          the backup id
 * @param type        the manifest's type when read ({@code full}, {@code incr}, {@code logical}, or a
 *                    later kind), else the id's
 * @param complete    its {@code manifest} exists (docs/format.md section 12)
 * @param readable    its manifest was read and understood (false for an incomplete backup, an
 *                    unreadable manifest, or a type this build does not model)
 * @param tag         the manifest's tag (daily, weekly, ...), informative only: slots are decided
 *                    by the start time
 * @param parent      an incremental's parent
 * @param timeline    a base backup's timeline (0 otherwise)
 * @param startLsn    a base backup's start LSN ({@link Lsn#INVALID} otherwise)
 * @param finishedAt  when a base backup finished (its manifest's {@code finished_at}): it can serve
 *                    recoveries to points after it; {@code lastWritten} when unknown
 * @param lastWritten when its newest object was stored (for the grace of incomplete backups)
 * @param lock        the lock state of its manifest ({@link ObjectInfo.LockState#NONE} when the
 *                    store has no object lock)
 * @param pruning     a retention run has started deleting it (its {@code pruning} marker exists)
 */
public record BackupFacts(BackupId id, String type, boolean complete, boolean readable, Optional<String> tag, Optional<BackupId> parent,
                          int timeline, Lsn startLsn, Instant finishedAt, Instant lastWritten, ObjectInfo.LockState lock, boolean pruning) {
    public BackupFacts {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(lastWritten, "lastWritten");
        finishedAt = finishedAt == null ? lastWritten : finishedAt;
        lock = lock == null ? ObjectInfo.LockState.NONE : lock;
        startLsn = startLsn == null ? Lsn.INVALID : startLsn;
    }

    /** A complete, readable physical base backup ({@code full} or {@code incr}). */
    public boolean isBase() {
        return readable && ("full".equals(type) || "incr".equals(type));
    }

    /** A complete, readable logical dump. */
    public boolean isLogical() {
        return readable && "logical".equals(type);
    }
}
