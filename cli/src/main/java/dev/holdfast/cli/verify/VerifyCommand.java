package dev.holdfast.cli.verify;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.backup.BackupLayout;
import dev.holdfast.repository.backup.BackupVerifier;
import dev.holdfast.repository.backup.WalReach;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.repository.wal.WalLayout;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
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
 * {@code holdfast verify [--source NAME] [--backup ID] [--read-data] [--json]}: runs
 * {@link BackupVerifier} over every cluster with backups (or the one holding {@code --backup}) and
 * prints its report: one line per backup, then each problem naming the backup and the object.
 *
 * <p>Exit status: 0 when there is no error (warnings, such as an interrupted backup, do not count);
 * {@code integrity_failure} (14) when any data is damaged or missing; {@code wal_gap} (33) when only
 * WAL continuity is broken; {@code object_not_found} (20) when {@code --backup} names no backup.
 * The report goes to standard output in both cases; a one-line verdict goes to standard error on
 * failure, as for every command.
 */
@Command(name = "verify", mixinStandardHelpOptions = true, description = {
        "Check that the base backups can be restored: manifests (both copies), the chain of an incremental backup,",
        "every pack it needs, and the WAL from each backup's start to its stop and on to the newest durable WAL.",
        "With --read-data, also read every pack in full and compare each file's CRC32C and SHA-256.",
        "Exit 0 when all is well, 14 (integrity_failure) for damaged or missing data, 33 (wal_gap) for WAL gaps only."})
public final class VerifyCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repository;

    @Option(names = "--source", paramLabel = "NAME", description = "Only this source (default: every source with backups).")
    String source;

    @Option(names = "--backup", paramLabel = "ID", description = "Only this backup (and the backups it needs), e.g. 20261123T090000Z-full.")
    String backup;

    @Option(names = "--read-data", description = "Read every pack (and the WAL each backup needs) in full: decrypt and compare checksums.")
    boolean readData;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Optional<BackupId> only = backup == null ? Optional.empty() : Optional.of(BackupId.parse(backup));
        if (source != null) {
            WalLayout.checkSource(source);
        }
        List<BackupVerifier.Report> reports = new ArrayList<>();
        try (Repository repo = repository.open(Ambient.clock(), Ambient.random())) {
            BackupVerifier verifier = new BackupVerifier(repo);
            for (Map.Entry<String, Set<String>> c : clusters(repo).entrySet()) {
                for (String systemId : c.getValue()) {
                    reports.add(verifier.verify(c.getKey(), systemId, only, readData));
                }
            }
        }
        BackupVerifier.Report report = BackupVerifier.Report.merge(reports);
        if (only.isPresent() && report.backups().isEmpty()) {
            throw new HoldfastException(ErrorCode.OBJECT_NOT_FOUND, "no backup " + only.get() + " in the repository"
                    + (source == null ? "" : " under source " + source));
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Json.print(out, toJson(report));
        } else {
            print(out, report);
        }
        Optional<ErrorCode> failure = report.failure();
        if (failure.isPresent()) {
            spec.commandLine().getErr().println("holdfast: " + failure.get().code() + ": verify found " + report.errors().size()
                    + " problem(s) in " + affected(report).size() + " backup(s): " + String.join(", ", affected(report)));
            return failure.get().exitStatus();
        }
        return 0;
    }

    /** Source to system identifiers with anything under {@code backups/}, from one listing. */
    private Map<String, Set<String>> clusters(Repository repo) {
        Map<String, Set<String>> out = new TreeMap<>();
        String prefix = BackupLayout.ROOT + "/" + (source == null ? "" : source + "/");
        for (ObjectInfo o : Futures.await(repo.store().listAll(prefix))) {
            String[] parts = o.key().value().split("/");
            if (parts.length >= 4) {
                out.computeIfAbsent(parts[1], k -> new TreeSet<>()).add(parts[2]);
            }
        }
        return out;
    }

    private static Set<String> affected(BackupVerifier.Report report) {
        Set<String> ids = new TreeSet<>();
        report.errors().forEach(p -> ids.add(p.backup() == null ? "(WAL of " + p.source() + ")" : p.backup()));
        return ids;
    }

    private static String status(BackupVerifier.Result b, BackupVerifier.Report report) {
        boolean error = report.errors().stream().anyMatch(p -> b.id().toString().equals(p.backup()) && b.source().equals(p.source())
                && b.systemId().equals(p.systemId()));
        if (!b.complete()) {
            boolean pruning = report.problems().stream().anyMatch(p -> p.kind() == BackupVerifier.Kind.PRUNING
                    && b.id().toString().equals(p.backup()) && b.source().equals(p.source()) && b.systemId().equals(p.systemId()));
            return pruning ? "BEING REMOVED by retention (warning)" : "INCOMPLETE (warning)";
        }
        if (!b.restorable()) {
            return error ? "FAILED: not restorable" : "skipped";
        }
        WalReach r = b.wal().orElseThrow();
        String to = r.toLatest() ? "restorable to the newest WAL" + r.newest().map(n -> " (" + n + ")").orElse("")
                : "restorable to at most " + r.reached() + " (WAL gap)";
        return (error ? "FAILED: " : "OK: ") + to;
    }

    private void print(PrintWriter out, BackupVerifier.Report report) {
        String cluster = null;
        for (BackupVerifier.Result b : report.backups()) {
            String c = b.source() + " (system id " + b.systemId() + ")";
            if (!c.equals(cluster)) {
                cluster = c;
                out.println("backups of " + c + ":");
            }
            out.println("  " + b.id() + "  " + b.type() + "  " + status(b, report)
                    + (b.packs() > 0 ? "  [" + b.packs() + " pack(s)" + (readData ? ", " + b.packsRead() + " read in full" : "") + "]" : ""));
        }
        if (report.backups().isEmpty()) {
            out.println("no backups to verify" + (source == null ? "" : " under source " + source));
        }
        for (BackupVerifier.Problem p : report.problems()) {
            out.println((p.severity() == BackupVerifier.Severity.ERROR ? "ERROR " : "WARNING ") + p.kind().token()
                    + (p.backup() == null ? "" : " backup " + p.backup()) + (p.object() == null ? "" : " object " + p.object()) + ": " + p.message());
        }
        List<BackupVerifier.Problem> errors = report.errors();
        out.println("summary: " + report.backups().size() + " backup(s) checked" + (readData ? " with their data read" : " (structure and WAL;"
                + " --read-data also reads every pack)") + ", " + errors.size() + " error(s), " + report.warnings().size() + " warning(s)"
                + report.failure().map(f -> ": " + f.code() + " (exit " + f.exitStatus() + ")").orElse(": all is well"));
    }

    /** The stable JSON form: see docs/verify.md. */
    private ObjectNode toJson(BackupVerifier.Report report) {
        ObjectNode root = Json.object();
        Optional<ErrorCode> failure = report.failure();
        root.put("ok", failure.isEmpty());
        root.put("read_data", readData);
        root.put("failure", failure.map(ErrorCode::code).orElse(null));
        root.put("exit_status", failure.map(ErrorCode::exitStatus).orElse(0));
        ArrayNode backups = root.putArray("backups");
        for (BackupVerifier.Result b : report.backups()) {
            ObjectNode o = backups.addObject();
            o.put("source", b.source()).put("system_identifier", b.systemId()).put("id", b.id().toString()).put("type", b.type());
            o.put("complete", b.complete()).put("restorable", b.restorable()).put("restorable_to_latest", b.restorableToLatest());
            Optional<WalReach> r = b.wal();
            o.put("restorable_to_lsn", r.filter(x -> b.restorable()).map(x -> x.reached().toString()).orElse(null));
            o.put("wal_stored_until", r.filter(x -> b.restorable()).flatMap(WalReach::reachedAt).map(Instant::toString).orElse(null));
            o.put("wal_gap", r.flatMap(WalReach::gap).map(Object::toString).orElse(null));
            o.put("newest_wal_lsn", r.flatMap(WalReach::newest).map(Lsn::toString).orElse(null));
            ArrayNode chain = o.putArray("chain");
            b.chain().forEach(id -> chain.add(id.toString()));
            o.put("packs", b.packs()).put("packs_read", b.packsRead());
        }
        ArrayNode problems = root.putArray("problems");
        for (BackupVerifier.Problem p : report.problems()) {
            problems.addObject().put("severity", p.severity().name().toLowerCase(java.util.Locale.ROOT)).put("kind", p.kind().token())
                    .put("code", p.kind().code().map(ErrorCode::code).orElse(null)).put("source", p.source())
                    .put("system_identifier", p.systemId()).put("backup", p.backup()).put("object", p.object()).put("message", p.message());
        }
        ObjectNode summary = root.putObject("summary");
        summary.put("backups", report.backups().size()).put("errors", report.errors().size()).put("warnings", report.warnings().size());
        return root;
    }
}
