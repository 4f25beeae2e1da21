package dev.holdfast.repository.retention;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.backup.BackupLayout;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Applies a {@link RetentionPlan} to the repository, in the order docs/format.md section 7 and
 * docs/retention.md give, so that stopping it at any point leaves a repository {@code verify}
 * accepts and running retention again completes the work:
 *
 * <ol>
 *   <li>for each deleted backup, newest first (an incremental before its parent): the
 *       {@code pruning} marker is written (create-if-absent; a sealed JSON naming the run), then
 *       {@code manifest}, then {@code manifest.copy} are deleted. From the marker on, verify and the
 *       planner treat the backup as being removed;</li>
 *   <li>for each, its other objects (packs, dumps, anything under its prefix, listed afresh), then
 *       the marker;</li>
 *   <li>the WAL objects, oldest first, so the WAL left never has a hole below what is kept.</li>
 * </ol>
 *
 * <p>Objects under object lock or legal hold are never deleted: on a store with object lock each is
 * looked up (HeadObject) first and skipped when protected (on S3 a plain DELETE of a locked object
 * would succeed by adding a delete marker, hiding the object without freeing it), and a delete the
 * store refuses with {@code object_locked} is skipped too. Skipped objects are reported; a backup
 * with a skipped object keeps its marker. Any other failure stops the run (and is thrown). Deletes
 * are reported in batches to a {@link Listener} (the controller audits each batch and updates its
 * catalog) before the run goes on. Blocking: a worker or CLI thread.
 */
public final class RetentionEnforcer {
    /** Deletions reported per batch. */
    public static final int BATCH = 100;

    private final Repository repository;
    private final ObjectStore store;
    private final Clock clock;
    private final Listener listener;

    /** Told about each batch of deletions as soon as it is done. */
    public interface Listener {
        void batch(Batch batch);
    }

    /**
     * One batch: objects deleted and skipped, and the backups whose manifests were deleted in it
     * (from then on not restorable).
     */
    public record Batch(String source, String systemId, List<ObjectKey> deleted, List<Skipped> skipped, List<BackupId> backupsRemoved) {
        public Batch {
            deleted = List.copyOf(deleted);
            skipped = List.copyOf(skipped);
            backupsRemoved = List.copyOf(backupsRemoved);
        }
    }

    /** An object retention left in place, and why (a lock, a legal hold). */
    public record Skipped(ObjectKey key, String reason) {
    }

    /** What one run did. */
    public record Outcome(int deleted, List<Skipped> skipped, List<BackupId> backupsRemoved, int walDeleted) {
        public Outcome {
            skipped = List.copyOf(skipped);
            backupsRemoved = List.copyOf(backupsRemoved);
        }
    }

    public RetentionEnforcer(Repository repository, Clock clock, Listener listener) {
        this.repository = Objects.requireNonNull(repository, "repository");
        this.store = repository.store();
        this.clock = Objects.requireNonNull(clock, "clock");
        this.listener = Objects.requireNonNull(listener, "listener");
    }

    /** Applies {@code plan}. Throws the store's error when a deletion fails for another reason than a lock. */
    public Outcome enforce(RetentionPlan plan) {
        Run run = new Run(plan.source(), plan.systemId());
        try {
            List<RetentionPlan.BackupDecision> doomed = new ArrayList<>(plan.deleted());
            doomed.sort(Comparator.comparing(RetentionPlan.BackupDecision::id).reversed());
            // 1. References first: marker, manifest, manifest.copy.
            for (RetentionPlan.BackupDecision d : doomed) {
                BackupLayout layout = new BackupLayout(plan.source(), plan.systemId(), d.id());
                List<ObjectInfo> objects = Futures.await(store.listAll(layout.prefix()));
                boolean hasManifest = objects.stream().anyMatch(o -> o.key().equals(layout.manifest()) || o.key().equals(layout.manifestCopy()));
                if (!hasManifest) {
                    // An earlier run deleted the manifest and stopped before it said so (a crash, a
                    // stop): say so now, so that the catalog forgets the backup (idempotent).
                    if (objects.stream().anyMatch(o -> o.key().equals(layout.pruning()))) {
                        run.removed(d.id());
                    }
                    continue;
                }
                if (objects.stream().noneMatch(o -> o.key().equals(layout.pruning()))) {
                    writeMarker(layout, d, plan);
                }
                boolean gone = run.delete(layout.manifest());
                gone &= run.delete(layout.manifestCopy());
                if (gone) {
                    run.removed(d.id());
                }
            }
            // 2. Then the data, and the marker last.
            for (RetentionPlan.BackupDecision d : doomed) {
                BackupLayout layout = new BackupLayout(plan.source(), plan.systemId(), d.id());
                boolean all = true;
                for (ObjectInfo o : Futures.await(store.listAll(layout.prefix()))) {
                    if (!o.key().equals(layout.pruning())) {
                        all &= run.delete(o.key());
                    }
                }
                if (all) {
                    run.delete(layout.pruning());
                }
            }
            // 3. WAL, oldest first.
            for (RetentionPlan.WalDeletion w : plan.wal()) {
                if (run.delete(w.key())) {
                    run.wal++;
                }
            }
        } finally {
            run.flush();
        }
        return new Outcome(run.total, run.allSkipped, run.allRemoved, run.wal);
    }

    private void writeMarker(BackupLayout layout, RetentionPlan.BackupDecision d, RetentionPlan plan) {
        String json = "{\"format\": 1, \"id\": \"" + d.id() + "\", \"action\": \"" + d.action().token() + "\", \"planned_at\": \""
                + plan.at() + "\", \"started_at\": \"" + clock.instant() + "\"}";
        try {
            repository.put(layout.pruning(), new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), true);
        } catch (HoldfastException e) {
            if (e.code() != ErrorCode.OBJECT_EXISTS) {
                throw e;
            }
        } catch (IOException e) {
            HoldfastException h = HoldfastException.find(e);
            if (h == null || h.code() != ErrorCode.OBJECT_EXISTS) {
                throw h != null ? h : new HoldfastException(ErrorCode.IO_ERROR, "writing " + layout.pruning() + ": " + e.getMessage(), e);
            }
        }
    }

    /** The state of one run: the batch being filled and the totals. */
    private final class Run {
        final String source;
        final String systemId;
        final List<ObjectKey> deleted = new ArrayList<>();
        final List<Skipped> skipped = new ArrayList<>();
        final List<BackupId> removed = new ArrayList<>();
        final List<Skipped> allSkipped = new ArrayList<>();
        final List<BackupId> allRemoved = new ArrayList<>();
        int total;
        int wal;

        Run(String source, String systemId) {
            this.source = source;
            this.systemId = systemId;
        }

        /** Deletes {@code key} unless it is protected; true when it is gone. */
        boolean delete(ObjectKey key) {
            if (store.capabilities().objectLock()) {
                Optional<ObjectInfo> info = Futures.await(store.head(key));
                if (info.isEmpty()) {
                    return true;
                }
                ObjectInfo.LockState lock = info.get().lockState();
                if (lock.protects(clock.instant())) {
                    skip(key, lock.describe());
                    return false;
                }
            }
            try {
                Futures.await(store.delete(key));
            } catch (HoldfastException e) {
                if (e.code() == ErrorCode.OBJECT_LOCKED) {
                    skip(key, e.getMessage());
                    return false;
                }
                throw e;
            }
            deleted.add(key);
            total++;
            if (deleted.size() >= BATCH) {
                flush();
            }
            return true;
        }

        void skip(ObjectKey key, String reason) {
            Skipped s = new Skipped(key, reason);
            skipped.add(s);
            allSkipped.add(s);
        }

        void removed(BackupId id) {
            removed.add(id);
            allRemoved.add(id);
            flush(); // the catalog learns at once that the backup is no longer restorable
        }

        void flush() {
            if (deleted.isEmpty() && skipped.isEmpty() && removed.isEmpty()) {
                return;
            }
            Batch b = new Batch(source, systemId, deleted, skipped, removed);
            deleted.clear();
            skipped.clear();
            removed.clear();
            listener.batch(b);
        }
    }
}
