package dev.holdfast.repository.wal;

import dev.holdfast.repository.store.ObjectKey;
import java.time.Instant;

/**
 * One object of a cluster's WAL area, as classified by {@link WalLayout#classify}. For
 * {@link Type#PART}, {@code start} and {@code end} are the byte range inside the segment.
 */
public record WalObject(Type type, ObjectKey key, String name, WalSegmentName segment, int timeline,
                        long start, long end, long storedSize, Instant lastModified) {
    public enum Type { DESCRIPTOR, SEGMENT, PART, HISTORY, PG_PARTIAL, BACKUP_HISTORY }
}
