package dev.holdfast.cli.list;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.cli.wal.WalSources;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupCatalog;
import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.backup.BackupLayout;
import dev.holdfast.repository.backup.BackupManifest;
import dev.holdfast.repository.backup.BackupSummary;
import dev.holdfast.repository.backup.WalReach;
import dev.holdfast.repository.seal.OpeningInputStream;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.repository.wal.WalArea;
import dev.holdfast.repository.wal.WalClusterInfo;
import dev.holdfast.repository.wal.WalIndex;
import dev.holdfast.repository.wal.WalLayout;
import dev.holdfast.repository.wal.WalObject;
import dev.holdfast.repository.wal.WalSegmentName;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code holdfast list [--source NAME] [--json]}: per source and cluster (system identifier), the
 * WAL in the repository (timelines, first segment, last durable LSN and time) and its gaps, which
 * are flagged loudly because a gap ends every point-in-time recovery that needs to cross it; the
 * base backups (complete or not, with what their manifests say and whether the WAL carries each
 * to the newest durable WAL); and the point-in-time recovery window: from the stop time of the
 * oldest complete backup the WAL carries without a hole to the newest durable WAL, to the time
 * that WAL was stored. A manifest that cannot be read is shown with its error, never fails the
 * listing ({@code holdfast verify} is the check).
 */
@Command(name = "list", mixinStandardHelpOptions = true, description = {
        "Show what can be restored: per source, the base backups, the WAL in the repository, any gaps in it,",
        "and the point-in-time recovery window.",
        "JSON keys (--json) are stable: see INTERFACE.md, \"Machine-readable output\"."})
public final class ListCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repository;

    @Option(names = "--source", paramLabel = "NAME", description = "Only this source (default: every source in the repository and configuration).")
    String source;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /**
     * One row: a source's cluster, what its WAL index says (null without WAL), its backups oldest
     * first, and how far the WAL carries each base backup (by id; absent for others).
     */
    record Row(String source, String type, String systemId, WalIndex index, List<BackupSummary> backups, Map<BackupId, WalReach> reach) {
        Row(String source, String type, String systemId, WalIndex index) {
            this(source, type, systemId, index, List.of(), Map.of());
        }

        /** The oldest complete base backup the WAL carries without a hole to the newest durable WAL. */
        Optional<BackupManifest> pitrBase() {
            for (BackupSummary b : backups) {
                WalReach r = reach.get(b.id());
                if (b.manifest().isPresent() && r != null && r.toLatest()) {
                    return b.manifest();
                }
            }
            return Optional.empty();
        }
    }

    private Map<String, RedisListing> redis = Map.of();

    @Override
    public Integer call() {
        List<Row> rows = new ArrayList<>();
        Map<String, ObjectNode> filesInfo = new TreeMap<>();
        try (Repository repo = repository.open(Ambient.clock(), Ambient.random())) {
            // source -> system id -> objects, from one listing of wal/ (or wal/<source>/)
            Map<String, Map<String, List<ObjectInfo>>> found = new TreeMap<>();
            String prefix = source == null ? WalLayout.ROOT + "/" : WalLayout.sourcePrefix(source);
            for (ObjectInfo o : Futures.await(repo.store().listAll(prefix))) {
                String[] parts = o.key().value().split("/");
                if (parts.length == 4) {
                    found.computeIfAbsent(parts[1], k -> new TreeMap<>()).computeIfAbsent(parts[2], k -> new ArrayList<>()).add(o);
                }
            }
            // source -> system id -> objects, from one listing of backups/ (or backups/<source>/)
            Map<String, Set<String>> backupClusters = new TreeMap<>();
            String backupPrefix = BackupLayout.ROOT + "/" + (source == null ? "" : WalLayout.checkSource(source) + "/");
            for (ObjectInfo o : Futures.await(repo.store().listAll(backupPrefix))) {
                String[] parts = o.key().value().split("/");
                if (parts.length >= 4) {
                    backupClusters.computeIfAbsent(parts[1], k -> new TreeSet<>()).add(parts[2]);
                }
            }
            BackupCatalog catalog = new BackupCatalog(repo);
            Set<String> names = new LinkedHashSet<>();
            Map<String, String> types = new TreeMap<>();
            configured().forEach(s -> {
                if (source == null || s.name().equals(source)) {
                    names.add(s.name());
                    types.put(s.name(), s.type());
                }
            });
            names.addAll(found.keySet());
            names.addAll(backupClusters.keySet());
            redis = RedisListing.collect(repo, source, types); // type redis: its AOF and RDB snapshots (docs/redis.md)
            redis.keySet().forEach(n -> {
                names.add(n);
                types.putIfAbsent(n, "redis");
            });
            for (String name : new TreeSet<>(names)) {
                Map<String, List<ObjectInfo>> clusters = found.getOrDefault(name, Map.of());
                Set<String> systemIds = new TreeSet<>(clusters.keySet());
                systemIds.addAll(backupClusters.getOrDefault(name, Set.of()));
                if (systemIds.isEmpty()) {
                    rows.add(new Row(name, types.getOrDefault(name, "postgres"), null, null));
                }
                for (String systemId : systemIds) {
                    List<ObjectInfo> wal = clusters.get(systemId);
                    WalIndex ix = wal == null ? null : index(repo, name, systemId, wal);
                    List<BackupSummary> backups = backupClusters.getOrDefault(name, Set.of()).contains(systemId)
                            ? BackupSummary.list(catalog, name, systemId) : List.of();
                    Map<BackupId, WalReach> reach = new TreeMap<>();
                    for (BackupSummary b : backups) {
                        b.manifest().ifPresent(m -> reach.put(b.id(), WalReach.of(ix, m.timeline(), m.startLsn(), m.stopLsn())));
                    }
                    rows.add(new Row(name, types.getOrDefault(name, "postgres"), systemId, ix, backups, reach));
                }
            }
            for (Row r : rows) { // files sources: snapshots and tailed files (docs/files.md)
                if ("files".equals(r.type())) {
                    filesInfo.put(r.source(), dev.holdfast.cli.files.FilesCli.listJson(repo, r.source()));
                }
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode root = Json.object();
            ArrayNode arr = root.putArray("sources");
            rows.forEach(r -> {
                ObjectNode n = arr.addObject();
                toJson(r, n);
                if (redis.containsKey(r.source())) {
                    redis.get(r.source()).toJson(n);
                }
                if (filesInfo.containsKey(r.source())) {
                    n.setAll(filesInfo.get(r.source()));
                }
            });
            Json.print(out, root);
        } else {
            printTable(out, rows);
            redis.values().forEach(l -> l.print(out));
            filesInfo.forEach((name, n) -> {
                out.println();
                JsonNode latest = n.get("latest");
                out.println("files snapshots of " + name + ": " + n.get("snapshots").size() + (latest.isNull() ? ""
                        : ", latest " + latest.get("id").asText() + " (" + latest.get("entries").asLong() + " entries, "
                        + latest.get("files").asLong() + " files, " + latest.get("bytes").asLong() + " bytes, "
                        + latest.get("excluded").asLong() + " left out)"));
                n.get("tailed").forEach(t -> out.println("tailed " + t.get("path").asText() + ": " + t.get("generations").asLong()
                        + " generation(s), " + t.get("bytes").asLong() + " bytes"));
            });
        }
        return 0;
    }

    private List<WalSources.Source> configured() {
        try {
            return repository.configFileInUse().map(WalSources::read).orElse(List.of());
        } catch (HoldfastException e) {
            return List.of();
        }
    }

    private static WalIndex index(Repository repo, String source, String systemId, List<ObjectInfo> objects) {
        WalLayout layout = new WalLayout(source, systemId);
        WalClusterInfo info = WalArea.descriptor(repo, layout);
        List<WalObject> classified = new ArrayList<>();
        for (ObjectInfo o : objects) {
            WalObject w = layout.classify(o.key(), o.size(), o.lastModified());
            if (w != null) {
                classified.add(w);
            }
        }
        return new WalIndex(info.walSegmentSize(), classified);
    }

    /** Timelines with any segment or part, ascending. */
    static List<Integer> timelines(WalIndex index) {
        TreeSet<Integer> t = new TreeSet<>(Integer::compareUnsigned);
        Optional<Integer> latest = index.latestTimeline();
        if (latest.isEmpty()) {
            return List.of();
        }
        for (int tli = 1; Integer.compareUnsigned(tli, latest.get()) <= 0 && tli > 0; tli++) {
            if (index.firstSegment(tli).isPresent()) {
                t.add(tli);
            }
        }
        return new ArrayList<>(t);
    }

    private static void toJson(Row r, ObjectNode s) {
        s.put("name", r.source()).put("type", r.type());
        s.put("system_identifier", r.systemId());
        Optional<Integer> tli = r.index() == null ? Optional.empty() : r.index().latestTimeline();
        if (tli.isEmpty()) {
            s.putNull("wal");
        } else {
            WalIndex ix = r.index();
            ObjectNode w = s.putObject("wal");
            w.put("timeline", tli.get());
            ArrayNode tls = w.putArray("timelines");
            timelines(ix).forEach(tls::add);
            w.put("first_segment", ix.firstSegment(tli.get()).map(WalSegmentName::toString).orElse(null));
            w.put("last_durable_lsn", ix.durableEnd(tli.get()).map(Lsn::toString).orElse(null));
            w.put("last_durable_at", ix.newestAt().map(Instant::toString).orElse(null));
            ArrayNode gaps = w.putArray("gaps");
            ix.gaps(tli.get()).forEach(g -> gaps.add(g.toString()));
        }
        Optional<BackupManifest> base = r.pitrBase();
        if (base.isEmpty() || r.index() == null) {
            s.putNull("pitr_window");
        } else {
            ObjectNode p = s.putObject("pitr_window");
            p.put("from", base.get().finishedAt().toString());
            p.put("to", r.index().newestAt().map(Instant::toString).orElse(null));
            p.put("from_backup", base.get().id().toString());
            p.put("to_lsn", r.reach().get(base.get().id()).newest().map(Lsn::toString).orElse(null));
        }
        ArrayNode backups = s.putArray("backups");
        for (BackupSummary b : r.backups()) {
            backupJson(b, r.reach().get(b.id()), backups.addObject());
        }
    }

    /**
     * One backup: the stable keys of INTERFACE.md (null where unknown: an incomplete backup has only
     * its id, type and stored bytes), then {@code parent}, {@code restorable_to_latest},
     * {@code restorable_to_lsn} and, when the manifest cannot be read, {@code error}.
     */
    private static void backupJson(BackupSummary b, WalReach reach, ObjectNode o) {
        o.put("id", b.id().toString()).put("type", b.type());
        o.putNull("tag");
        o.put("complete", b.complete());
        for (String k : List.of("started_at", "finished_at", "start_lsn", "stop_lsn", "timeline", "bytes")) {
            o.putNull(k);
        }
        o.put("stored_bytes", b.storedBytes());
        o.putNull("parent");
        if (b.manifest().isPresent()) {
            BackupManifest m = b.manifest().get();
            o.put("tag", m.tag().orElse(null));
            o.put("started_at", m.startedAt().toString()).put("finished_at", m.finishedAt().toString());
            o.put("start_lsn", m.startLsn().toString()).put("stop_lsn", m.stopLsn().toString());
            o.put("timeline", m.timeline()).put("bytes", m.bytes()).put("stored_bytes", m.storedBytes());
            o.put("parent", m.parent().map(BackupId::toString).orElse(null));
        } else if (b.json().isPresent()) {
            // Another kind of backup (a logical dump): its own manifest's values where it has these keys.
            JsonNode j = b.json().get();
            for (String k : List.of("tag", "started_at", "finished_at", "start_lsn", "stop_lsn", "timeline", "bytes", "stored_bytes", "parent")) {
                if (j.has(k)) {
                    o.set(k, j.get(k));
                }
            }
        }
        if (reach != null) {
            o.put("restorable_to_latest", reach.toLatest());
            o.put("restorable_to_lsn", reach.consistent() ? reach.reached().toString() : null);
        } else {
            o.putNull("restorable_to_latest");
            o.putNull("restorable_to_lsn");
        }
        b.error().ifPresent(e -> o.put("error", e));
    }

    private static void printTable(PrintWriter out, List<Row> rows) {
        List<String[]> table = new ArrayList<>();
        table.add(new String[] {"SOURCE", "TYPE", "SYSTEM ID", "TIMELINE", "FIRST SEGMENT", "LAST DURABLE LSN", "LAST DURABLE AT", "GAPS"});
        List<String> warnings = new ArrayList<>();
        for (Row r : rows) {
            Optional<Integer> tli = r.index() == null ? Optional.empty() : r.index().latestTimeline();
            if (tli.isEmpty()) {
                table.add(new String[] {r.source(), r.type(), r.systemId() == null ? "-" : r.systemId(), "-", "-", "-", "-", "-"});
                continue;
            }
            WalIndex ix = r.index();
            List<WalSegmentName> gaps = ix.gaps(tli.get());
            table.add(new String[] {r.source(), r.type(), r.systemId(), Integer.toString(tli.get()),
                    ix.firstSegment(tli.get()).map(WalSegmentName::toString).orElse("-"),
                    ix.durableEnd(tli.get()).map(Lsn::toString).orElse("-"), ix.newestAt().map(Instant::toString).orElse("-"),
                    gaps.isEmpty() ? "none" : gaps.size() + " MISSING"});
            if (!gaps.isEmpty()) {
                warnings.add("WARNING: source " + r.source() + " (system id " + r.systemId() + "), timeline " + tli.get() + ": "
                        + gaps.size() + " segment(s) missing or incomplete, point-in-time recovery cannot cross them: "
                        + (gaps.size() <= 10 ? gaps.toString() : gaps.subList(0, 10) + " ..."));
            }
        }
        printAligned(out, table);
        if (rows.isEmpty()) {
            out.println("(no sources: nothing in the repository under wal/ or backups/ and none configured)");
        }
        for (Row r : rows) {
            printBackups(out, r, warnings);
        }
        warnings.forEach(out::println);
    }

    /** A cluster's backups as a table, then its point-in-time recovery window. */
    private static void printBackups(PrintWriter out, Row r, List<String> warnings) {
        if (r.backups().isEmpty() && !"postgres".equals(r.type())) {
            return;
        }
        String cluster = r.source() + (r.systemId() == null ? "" : " (system id " + r.systemId() + ")");
        out.println();
        if (r.backups().isEmpty()) {
            out.println("backups of " + cluster + ": none");
        } else {
            out.println("backups of " + cluster + ":");
            List<String[]> table = new ArrayList<>();
            table.add(new String[] {"ID", "TYPE", "TAG", "COMPLETE", "FINISHED AT", "START LSN", "STOP LSN", "BYTES", "STORED", "PARENT", "RESTORABLE TO"});
            for (BackupSummary b : r.backups()) {
                Optional<BackupManifest> m = b.manifest();
                WalReach reach = r.reach().get(b.id());
                String to = reach == null ? "-" : !reach.consistent() ? "NOT RESTORABLE (WAL missing)"
                        : reach.toLatest() ? "latest" : reach.reached() + " (WAL gap)";
                table.add(new String[] {b.id().toString(), b.type(), m.flatMap(BackupManifest::tag).orElse("-"), b.complete() ? "yes" : "NO",
                        m.map(x -> x.finishedAt().toString()).orElse("-"), m.map(x -> x.startLsn().toString()).orElse("-"),
                        m.map(x -> x.stopLsn().toString()).orElse("-"), m.map(x -> Long.toString(x.bytes())).orElse("-"),
                        Long.toString(m.map(BackupManifest::storedBytes).orElse(b.storedBytes())),
                        m.flatMap(BackupManifest::parent).map(BackupId::toString).orElse("-"), b.complete() ? to : "-"});
                if (!b.complete()) {
                    warnings.add("note: backup " + b.id() + " of " + cluster + " is incomplete (no manifest: an interrupted backup,"
                            + " never restored, removed by retention)");
                }
                b.error().ifPresent(e -> warnings.add("WARNING: backup " + b.id() + " of " + cluster + ": " + e));
            }
            printAligned(out, table);
        }
        Optional<BackupManifest> base = r.pitrBase();
        if (base.isPresent() && r.index() != null) {
            out.println("point-in-time recovery of " + cluster + ": from " + base.get().finishedAt() + " (backup " + base.get().id() + ") to "
                    + r.index().newestAt().map(Instant::toString).orElse("-"));
        } else {
            out.println("point-in-time recovery of " + cluster + ": none (no complete backup that the WAL carries to the newest durable WAL)");
        }
    }

    private static void printAligned(PrintWriter out, List<String[]> table) {
        int[] width = new int[table.get(0).length];
        for (String[] row : table) {
            for (int i = 0; i < row.length; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        for (String[] row : table) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                b.append(i == row.length - 1 ? row[i] : String.format("%-" + width[i] + "s  ", row[i]));
            }
            out.println(b.toString().stripTrailing());
        }
    }
}
