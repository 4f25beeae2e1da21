package dev.holdfast.controller.catalog;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupCatalog;
import dev.holdfast.repository.backup.BackupLayout;
import dev.holdfast.repository.backup.BackupManifest;
import dev.holdfast.repository.backup.BackupSummary;
import dev.holdfast.repository.backup.BackupType;
import dev.holdfast.repository.backup.LogicalManifest;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.repository.wal.WalArea;
import dev.holdfast.repository.wal.WalIndex;
import dev.holdfast.repository.wal.WalLayout;
import dev.holdfast.repository.wal.WalSegmentName;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Rebuilds the catalog's backup and WAL-range tables from the repository alone (the bucket is the
 * source of truth; docs/format.md sections 11 and 12): {@link Catalog#clearRepositoryIndex}, then
 * one {@link BackupRecord} per backup id found under {@code backups/} and the contiguous WAL ranges
 * of every cluster under {@code wal/}.
 *
 * <p>A backup is {@code complete} when its manifest exists and reads, {@code incomplete} when it has
 * none (an interrupted run; only its id's time and its stored bytes are known), and
 * {@code unreadable} when its manifest exists but neither copy reads: it is still indexed, and the
 * reason is reported in {@link Summary#problems} ({@code holdfast verify} is the check). What only
 * the controller knew (the agent's host, the job id) is not in the bucket: reindexed rows have
 * {@code host = ""} and no job id.
 *
 * <p>Reading the repository blocks, so it runs on a worker ({@code executeBlocking}); the catalog
 * calls are asynchronous. The tables are cleared first and refilled row by row: a reader during a
 * reindex may see a partial index.
 */
public final class Reindexer {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Vertx vertx;
    private final Repository repository;

    public Reindexer(Vertx vertx, Repository repository) {
        this.vertx = vertx;
        this.repository = repository;
    }

    /**
     * What a reindex found. @param sources source names with backups or WAL @param backups backup
     * ids indexed @param complete of which complete @param walRanges contiguous WAL ranges indexed
     * @param problems what could not be read (one line each), never fatal
     */
    public record Summary(int sources, int backups, int complete, int walRanges, List<String> problems) {
        public Summary {
            problems = List.copyOf(problems);
        }
    }

    /** One cluster of one source. */
    public record Cluster(String source, String systemId) {
    }

    /**
     * Everything the repository says, as catalog rows. @param backups by source, system id, id
     * (oldest first) @param walRanges per cluster that has WAL
     */
    public record Index(SortedSet<String> sources, List<BackupRecord> backups, Map<Cluster, List<WalRangeRecord>> walRanges,
                        List<String> problems) {
    }

    /** Clears the catalog's repository index and refills it from the repository. */
    public Future<Summary> reindex(Catalog catalog) {
        return vertx.executeBlocking(() -> read(repository), false).compose(index -> {
            Future<Void> f = catalog.clearRepositoryIndex();
            for (BackupRecord b : index.backups()) {
                f = f.compose(v -> catalog.upsertBackup(b));
            }
            for (Map.Entry<Cluster, List<WalRangeRecord>> e : index.walRanges().entrySet()) {
                f = f.compose(v -> catalog.replaceWalRanges(e.getKey().source(), e.getKey().systemId(), e.getValue()));
            }
            return f.map(v -> new Summary(index.sources().size(), index.backups().size(),
                    (int) index.backups().stream().filter(b -> b.state().equals("complete")).count(),
                    index.walRanges().values().stream().mapToInt(List::size).sum(), index.problems()));
        });
    }

    /** Reads the whole repository into catalog rows. Blocking. */
    public static Index read(Repository repository) {
        SortedMap<String, SortedSet<String>> backupClusters = clusters(repository, BackupLayout.ROOT + "/", 4);
        SortedMap<String, SortedSet<String>> walClusters = clusters(repository, WalLayout.ROOT + "/", 4);
        SortedSet<String> sources = new TreeSet<>(backupClusters.keySet());
        sources.addAll(walClusters.keySet());
        List<BackupRecord> backups = new ArrayList<>();
        Map<Cluster, List<WalRangeRecord>> wal = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        BackupCatalog catalog = new BackupCatalog(repository);
        backupClusters.forEach((source, systemIds) -> {
            for (String systemId : systemIds) {
                for (BackupSummary s : BackupSummary.list(catalog, source, systemId)) {
                    backups.add(record(source, systemId, s, problems));
                }
            }
        });
        walClusters.forEach((source, systemIds) -> {
            for (String systemId : systemIds) {
                try {
                    WalArea.index(repository, new WalLayout(source, systemId))
                            .ifPresent(ix -> wal.put(new Cluster(source, systemId), ranges(source, systemId, ix)));
                } catch (HoldfastException e) {
                    problems.add("WAL of " + source + "/" + systemId + ": " + e.code().code() + ": " + e.getMessage());
                }
            }
        });
        return new Index(sources, backups, wal, problems);
    }

    /**
     * Source name to system ids, from one listing of {@code prefix}: keys
     * {@code <root>/<source>/<system-id>/...} with at least {@code parts} parts.
     */
    private static SortedMap<String, SortedSet<String>> clusters(Repository repository, String prefix, int parts) {
        SortedMap<String, SortedSet<String>> out = new TreeMap<>();
        for (ObjectInfo o : Futures.await(repository.store().listAll(prefix))) {
            String[] p = o.key().value().split("/");
            if (p.length >= parts) {
                out.computeIfAbsent(p[1], k -> new TreeSet<>()).add(p[2]);
            }
        }
        return out;
    }

    static BackupRecord record(String source, String systemId, BackupSummary s, List<String> problems) {
        String id = s.id().toString();
        if (s.manifest().isPresent()) {
            BackupManifest m = s.manifest().get();
            return new BackupRecord(source, systemId, id, "", m.id().type().token(), m.tag().orElse(""), "complete",
                    Optional.of(m.startedAt()), Optional.of(m.finishedAt()), m.startLsn().toString(), m.stopLsn().toString(),
                    m.timeline(), m.parent().map(Object::toString), m.bytes(), m.storedBytes(), Optional.empty());
        }
        if (s.json().isPresent() && BackupType.LOGICAL.token().equals(s.type())) {
            try {
                LogicalManifest m = LogicalManifest.fromJson(JSON.writeValueAsBytes(s.json().get()), "backup " + id);
                return new BackupRecord(source, systemId, id, "", BackupType.LOGICAL.token(), m.tag().orElse(""), "complete",
                        Optional.of(m.startedAt()), Optional.of(m.finishedAt()), "", "", 0, Optional.empty(), m.bytes(), m.storedBytes(),
                        Optional.empty());
            } catch (HoldfastException | JsonProcessingException e) {
                return unreadable(source, systemId, s, e.getMessage(), problems);
            }
        }
        if (s.complete()) {
            return unreadable(source, systemId, s, s.error().orElse("a manifest of unknown type '" + s.type() + "'"), problems);
        }
        return new BackupRecord(source, systemId, id, "", s.id().type().token(), "", "incomplete", Optional.of(s.id().startedAt()),
                Optional.empty(), "", "", 0, Optional.empty(), 0, s.storedBytes(), Optional.empty());
    }

    private static BackupRecord unreadable(String source, String systemId, BackupSummary s, String why, List<String> problems) {
        problems.add("backup " + source + "/" + systemId + "/" + s.id() + ": " + why);
        return new BackupRecord(source, systemId, s.id().toString(), "", s.id().type().token(), "", "unreadable",
                Optional.of(s.id().startedAt()), Optional.empty(), "", "", 0, Optional.empty(), 0, s.storedBytes(), Optional.empty());
    }

    /**
     * The contiguous runs of segments with WAL on each timeline. A complete segment extends a run;
     * a segment covered only in part (stream-mode parts, still being filled or cut short) counts
     * as one and ends its run, since the WAL after it is not contiguous with it; a segment with
     * nothing is a gap.
     */
    static List<WalRangeRecord> ranges(String source, String systemId, WalIndex ix) {
        List<WalRangeRecord> out = new ArrayList<>();
        Optional<Integer> latest = ix.latestTimeline();
        if (latest.isEmpty()) {
            return out;
        }
        long size = ix.segmentSize();
        for (int tli = 1; tli > 0 && Integer.compareUnsigned(tli, latest.get()) <= 0; tli++) {
            Optional<WalSegmentName> first = ix.firstSegment(tli);
            Optional<Lsn> end = ix.durableEnd(tli);
            if (first.isEmpty() || end.isEmpty()) {
                continue;
            }
            WalSegmentName last = WalSegmentName.of(tli, end.get().plus(-1), size);
            WalSegmentName runFirst = null;
            WalSegmentName runLast = null;
            long count = 0;
            for (WalSegmentName s = first.get(); s.compareTo(last) <= 0; s = s.next(size)) {
                long covered = ix.coveredTo(s);
                if (covered > 0) {
                    if (runFirst == null) {
                        runFirst = s;
                    }
                    runLast = s;
                    count++;
                }
                if (covered < size && runFirst != null) {
                    out.add(new WalRangeRecord(source, systemId, Integer.toUnsignedLong(tli), runFirst.toString(), runLast.toString(), count));
                    runFirst = null;
                    count = 0;
                }
            }
            if (runFirst != null) {
                out.add(new WalRangeRecord(source, systemId, Integer.toUnsignedLong(tli), runFirst.toString(), runLast.toString(), count));
            }
        }
        return out;
    }
}
