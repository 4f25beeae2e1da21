package dev.holdfast.repository.backup;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.seal.OpeningInputStream;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.StoreException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The base backups stored for one source, read from the repository alone (docs/format.md
 * section 12): which ids exist, which are complete (their {@code manifest} exists), their
 * manifests (falling back to {@code manifest.copy} when the first copy is unreadable), and the
 * chain an incremental backup needs.
 *
 * <p>Blocking: call from a worker or CLI thread, never an event loop.
 */
public final class BackupCatalog {
    private final Repository repository;

    public BackupCatalog(Repository repository) {
        this.repository = repository;
    }

    /** What one backup id holds in the store. */
    public record Entry(BackupId id, boolean complete, long storedBytes, List<ObjectInfo> objects) {
        /** Whether retention has started deleting it (its {@code pruning} marker exists, docs/format.md section 7). */
        public boolean pruning() {
            return objects.stream().anyMatch(o -> o.key().value().endsWith("/" + BackupLayout.PRUNING));
        }

        /** Complete and not being deleted: what a new restore, or an incremental's parent, may use. */
        public boolean usable() {
            return complete && !pruning();
        }
    }

    /** Every system identifier with backups under {@code backups/<source>/}. */
    public SortedSet<String> systemIds(String source) {
        String prefix = BackupLayout.ROOT + "/" + source + "/";
        SortedSet<String> ids = new TreeSet<>();
        for (ObjectInfo o : Futures.await(repository.store().listAll(prefix))) {
            String rest = o.key().value().substring(prefix.length());
            int slash = rest.indexOf('/');
            if (slash > 0) {
                ids.add(rest.substring(0, slash));
            }
        }
        return ids;
    }

    /**
     * Every backup id of cluster {@code systemId} under {@code source}, oldest first. Names that
     * are not backup ids are ignored (nothing of ours writes them).
     */
    public SortedMap<BackupId, Entry> list(String source, String systemId) {
        String prefix = BackupLayout.clusterPrefix(source, systemId);
        Map<BackupId, List<ObjectInfo>> byId = new TreeMap<>();
        for (ObjectInfo o : Futures.await(repository.store().listAll(prefix))) {
            String rest = o.key().value().substring(prefix.length());
            int slash = rest.indexOf('/');
            if (slash <= 0) {
                continue;
            }
            BackupId id;
            try {
                id = BackupId.parse(rest.substring(0, slash));
            } catch (HoldfastException | IllegalArgumentException e) {
                continue;
            }
            byId.computeIfAbsent(id, k -> new ArrayList<>()).add(o);
        }
        SortedMap<BackupId, Entry> out = new TreeMap<>();
        byId.forEach((id, objects) -> {
            boolean complete = objects.stream().anyMatch(o -> o.key().value().endsWith("/" + BackupLayout.MANIFEST));
            long stored = objects.stream().mapToLong(ObjectInfo::size).sum();
            out.put(id, new Entry(id, complete, stored, Collections.unmodifiableList(objects)));
        });
        return out;
    }

    /** The raw (decrypted) manifest bytes of a backup: {@code manifest}, else {@code manifest.copy}. */
    public byte[] readManifestBytes(BackupLayout layout) {
        HoldfastException first = null;
        for (ObjectKey key : List.of(layout.manifest(), layout.manifestCopy())) {
            try (OpeningInputStream in = repository.open(key)) {
                return in.readAllBytes();
            } catch (StoreException e) {
                if (first == null) {
                    first = e.code() == ErrorCode.OBJECT_NOT_FOUND ? new HoldfastException(ErrorCode.OBJECT_NOT_FOUND, "backup " + layout + " has no manifest"
                            + " (it is incomplete, or does not exist)", e) : e;
                }
            } catch (HoldfastException e) {
                if (first == null) {
                    first = e;
                }
            } catch (IOException e) {
                if (first == null) {
                    first = new HoldfastException(ErrorCode.IO_ERROR, "cannot read the manifest of " + layout + ": " + e.getMessage(), e);
                }
            }
        }
        throw first;
    }

    /** The manifest of a base backup ({@code full} or {@code incr}). */
    public BackupManifest read(String source, String systemId, BackupId id) {
        BackupLayout layout = new BackupLayout(source, systemId, id);
        return BackupManifest.fromJson(readManifestBytes(layout), "backup " + id);
    }

    /** The newest complete base backup ({@code full} or {@code incr}), if any. */
    public Optional<BackupManifest> latest(String source, String systemId) {
        List<BackupId> ids = new ArrayList<>(list(source, systemId).values().stream()
                .filter(e -> e.usable() && (e.id().type() == BackupType.FULL || e.id().type() == BackupType.INCR))
                .map(Entry::id).toList());
        Collections.reverse(ids);
        return ids.isEmpty() ? Optional.empty() : Optional.of(read(source, systemId, ids.get(0)));
    }

    /**
     * The backups {@code m} needs to be restored, oldest (the full) first, ending with {@code m}:
     * its parents while it is incremental. Fails with {@code integrity_failure} naming the missing
     * link when a parent's manifest is gone.
     */
    public List<BackupManifest> chain(BackupManifest m) {
        List<BackupManifest> out = new ArrayList<>();
        out.add(m);
        BackupManifest cur = m;
        while (cur.parent().isPresent()) {
            BackupId p = cur.parent().get();
            try {
                cur = read(m.source(), m.systemId(), p);
            } catch (HoldfastException e) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "backup " + m.id() + " needs its parent " + p
                        + ", which cannot be read: " + e.getMessage(), e);
            }
            out.add(cur);
        }
        Collections.reverse(out);
        return out;
    }
}
