package dev.holdfast.repository.retention;

import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupCatalog;
import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.backup.BackupLayout;
import dev.holdfast.repository.backup.BackupManifest;
import dev.holdfast.repository.backup.BackupSummary;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.repository.wal.WalArea;
import dev.holdfast.repository.wal.WalLayout;
import dev.holdfast.repository.wal.WalObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * Reads what {@link RetentionPlanner} needs from a repository: the clusters under {@code backups/}
 * and {@code wal/}, each backup's manifest (type, parent, timeline, start LSN), its lock state
 * (HeadObject of its manifest, on stores with object lock), its {@code pruning} marker, and the WAL
 * listing. Blocking: a worker or CLI thread.
 */
public final class RetentionInventory {
    private RetentionInventory() {
    }

    /** One cluster: a source and a system identifier. */
    public record Cluster(String source, String systemId) implements Comparable<Cluster> {
        @Override
        public int compareTo(Cluster o) {
            int c = source.compareTo(o.source);
            return c != 0 ? c : systemId.compareTo(o.systemId);
        }
    }

    /** Every cluster with backups or WAL whose source {@code sources} accepts. */
    public static SortedSet<Cluster> clusters(Repository repository, Predicate<String> sources) {
        SortedSet<Cluster> out = new TreeSet<>();
        for (String root : List.of(BackupLayout.ROOT + "/", WalLayout.ROOT + "/")) {
            for (ObjectInfo o : Futures.await(repository.store().listAll(root))) {
                String[] parts = o.key().value().substring(root.length()).split("/");
                if (parts.length >= 3 && sources.test(parts[0])) {
                    try {
                        new WalLayout(parts[0], parts[1]);
                    } catch (RuntimeException e) {
                        continue; // not a cluster's area: nothing of ours wrote it
                    }
                    out.add(new Cluster(parts[0], parts[1]));
                }
            }
        }
        return out;
    }

    /** The planner's view of one cluster's backups. */
    public static List<BackupFacts> backups(Repository repository, Cluster cluster) {
        BackupCatalog catalog = new BackupCatalog(repository);
        ObjectStore store = repository.store();
        List<BackupFacts> out = new ArrayList<>();
        for (BackupCatalog.Entry e : catalog.list(cluster.source(), cluster.systemId()).values()) {
            BackupLayout layout = new BackupLayout(cluster.source(), cluster.systemId(), e.id());
            boolean pruning = e.objects().stream().anyMatch(o -> o.key().equals(layout.pruning()));
            Instant last = e.objects().stream().map(ObjectInfo::lastModified).max(Instant::compareTo).orElse(Instant.EPOCH);
            ObjectInfo.LockState lock = ObjectInfo.LockState.NONE;
            if (e.complete() && store.capabilities().objectLock()) {
                lock = Futures.await(store.head(layout.manifest())).map(ObjectInfo::lockState).orElse(ObjectInfo.LockState.NONE);
            }
            if (!e.complete() || pruning) {
                out.add(new BackupFacts(e.id(), e.id().type().token(), e.complete(), false, Optional.empty(), Optional.empty(), 0,
                        Lsn.INVALID, last, last, lock, pruning));
                continue;
            }
            BackupSummary s = BackupSummary.read(catalog, cluster.source(), cluster.systemId(), e);
            if (s.manifest().isPresent()) {
                BackupManifest m = s.manifest().get();
                out.add(new BackupFacts(e.id(), s.type(), true, true, m.tag(), m.parent(), m.timeline(), m.startLsn(), m.finishedAt(), last, lock, false));
            } else {
                boolean logical = s.json().isPresent() && "logical".equals(s.type());
                Optional<String> tag = s.json().map(j -> j.path("tag")).filter(t -> t.isTextual()).map(t -> t.asText());
                out.add(new BackupFacts(e.id(), s.type(), true, logical, tag, Optional.empty(), 0, Lsn.INVALID, null, last, lock, false));
            }
        }
        return out;
    }

    /** The cluster's WAL, empty when it has none. */
    public static Optional<RetentionPlanner.WalInventory> wal(Repository repository, Cluster cluster) {
        WalLayout layout = new WalLayout(cluster.source(), cluster.systemId());
        List<ObjectInfo> listed = Futures.await(repository.store().listAll(layout.listPrefix()));
        if (listed.isEmpty()) {
            return Optional.empty();
        }
        long size = WalArea.descriptor(repository, layout).walSegmentSize();
        List<WalObject> objects = new ArrayList<>();
        for (ObjectInfo o : listed) {
            WalObject w = layout.classify(o.key(), o.size(), o.lastModified());
            if (w != null) {
                objects.add(w);
            }
        }
        return Optional.of(new RetentionPlanner.WalInventory(size, objects));
    }

    /** Reads one cluster and plans it. */
    public static RetentionPlan plan(Repository repository, Cluster cluster, RetentionRules rules, Instant now) {
        return plan(repository, cluster, rules, now, Map.of());
    }

    /** Reads one cluster and plans it, keeping the {@code pinned} backups too (see {@link RetentionPlanner}). */
    public static RetentionPlan plan(Repository repository, Cluster cluster, RetentionRules rules, Instant now,
                                     Map<BackupId, String> pinned) {
        return RetentionPlanner.plan(cluster.source(), cluster.systemId(), backups(repository, cluster), wal(repository, cluster), rules,
                now, pinned);
    }
}
