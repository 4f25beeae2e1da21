package dev.holdfast.cli.list;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.cli.wal.WalSources;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.seal.OpeningInputStream;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.wal.Lsn;
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
 * are flagged loudly because a gap ends every point-in-time recovery that needs to cross it. Base
 * backups come later; {@code backups} is empty and {@code pitr_window} null until then.
 */
@Command(name = "list", mixinStandardHelpOptions = true, description = {
        "Show what can be restored: per source, the WAL in the repository and any gaps in it.",
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

    /** One row: a source's cluster and what its WAL index says. */
    record Row(String source, String type, String systemId, WalIndex index) {
    }

    @Override
    public Integer call() {
        List<Row> rows = new ArrayList<>();
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
            Set<String> names = new LinkedHashSet<>();
            Map<String, String> types = new TreeMap<>();
            configured().forEach(s -> {
                if (source == null || s.name().equals(source)) {
                    names.add(s.name());
                    types.put(s.name(), s.type());
                }
            });
            names.addAll(found.keySet());
            for (String name : new TreeSet<>(names)) {
                Map<String, List<ObjectInfo>> clusters = found.getOrDefault(name, Map.of());
                if (clusters.isEmpty()) {
                    rows.add(new Row(name, types.getOrDefault(name, "postgres"), null, null));
                }
                for (Map.Entry<String, List<ObjectInfo>> c : clusters.entrySet()) {
                    rows.add(new Row(name, types.getOrDefault(name, "postgres"), c.getKey(), index(repo, name, c.getKey(), c.getValue())));
                }
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode root = Json.object();
            ArrayNode arr = root.putArray("sources");
            rows.forEach(r -> toJson(r, arr.addObject()));
            Json.print(out, root);
        } else {
            printTable(out, rows);
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
        WalClusterInfo info;
        try (OpeningInputStream in = repo.open(layout.descriptor())) {
            info = WalClusterInfo.fromJson(in.readAllBytes(), "'" + layout.descriptor() + "'");
        } catch (IOException e) {
            HoldfastException h = HoldfastException.find(e);
            throw h != null ? h : new HoldfastException(ErrorCode.STORE_UNAVAILABLE, "reading " + layout.descriptor() + ": " + e.getMessage(), e);
        } catch (HoldfastException e) {
            if (e.code() == ErrorCode.OBJECT_NOT_FOUND) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, layout + " holds WAL but no " + WalLayout.DESCRIPTOR
                        + " (it is written first and never deleted before the WAL)");
            }
            throw e;
        }
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
        s.putNull("pitr_window");
        s.putArray("backups");
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
        if (rows.isEmpty()) {
            out.println("(no sources: nothing in the repository under wal/ and none configured)");
        }
        out.println("backups: none yet (base backups are not implemented in this build)");
        warnings.forEach(out::println);
    }
}
