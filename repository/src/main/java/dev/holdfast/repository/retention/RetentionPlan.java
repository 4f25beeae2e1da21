package dev.holdfast.repository.retention;

import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.store.ObjectKey;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The outcome of {@link RetentionPlanner#plan} for one cluster: every backup id with what happens
 * to it and why, and the WAL objects to delete with why. Nothing in it is deleted yet.
 *
 * @param source   the source name
 * @param systemId the cluster's system identifier
 * @param at       the time the plan was made for
 * @param backups  every backup id of the cluster, oldest first
 * @param wal      the WAL objects to delete, in deletion order (oldest first)
 * @param notes    remarks about the cluster as a whole (why no WAL is deleted, ...)
 */
public record RetentionPlan(String source, String systemId, Instant at, List<BackupDecision> backups, List<WalDeletion> wal,
                            List<String> notes) {
    public RetentionPlan {
        backups = List.copyOf(backups);
        wal = List.copyOf(wal);
        notes = List.copyOf(notes);
    }

    /** What happens to a backup. */
    public enum Action {
        /** Kept: at least one reason holds. */
        KEEP,
        /** A complete backup no rule keeps: its manifest is deleted first, then its data. */
        DROP,
        /** An incomplete backup past its grace, or the rest of an interrupted prune: its objects are deleted. */
        GARBAGE;

        public String token() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** One backup's fate, with every reason that applies (the first is the main one). */
    public record BackupDecision(BackupId id, String type, Action action, List<String> reasons) {
        public BackupDecision {
            Objects.requireNonNull(id, "id");
            reasons = List.copyOf(reasons);
        }
    }

    /** One WAL object to delete. */
    public record WalDeletion(ObjectKey key, int timeline, String reason) {
    }

    /** The backups that are kept. */
    public List<BackupId> kept() {
        return backups.stream().filter(b -> b.action() == Action.KEEP).map(BackupDecision::id).toList();
    }

    /** The backups whose objects are deleted (dropped and garbage). */
    public List<BackupDecision> deleted() {
        return backups.stream().filter(b -> b.action() != Action.KEEP).toList();
    }
}
