package dev.holdfast.cli.drill;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.config.PostgresSourceConfig;
import dev.holdfast.agent.drill.Drill;
import dev.holdfast.agent.postgres.PgControl;
import dev.holdfast.agent.postgres.restore.BaseRestore;
import dev.holdfast.agent.postgres.restore.WalFetchHook;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.cli.Sources;
import dev.holdfast.cli.wal.WalSession;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.wal.WalLayout;
import io.vertx.core.buffer.Buffer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code holdfast drill --source NAME}: restore, start, recover, check, measure, throw away (docs/drill.md). */
@Command(name = "drill", mixinStandardHelpOptions = true, description = {
        "Restore drill of a PostgreSQL source: restore a backup (the latest by default) into a scratch directory inside",
        "restore.allowed_targets, start it as a throwaway server reachable only through a private socket, let it recover",
        "to the end of the repository's WAL, check that every database answers and that pg_amcheck finds no corruption,",
        "report the measured RTO and RPO, then stop it and delete it. Needs the agent running (the copy fetches its WAL",
        "through the agent's socket). Exit 0 when every check passed, else the failed check's error code."})
public final class DrillCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repository;

    @Option(names = "--source", paramLabel = "NAME", description = "The postgres source (default: the configuration's only one).")
    String source;

    @Option(names = "--backup", paramLabel = "ID", defaultValue = "latest", description = "The backup to restore (default: ${DEFAULT-VALUE}).")
    String backup;

    @Option(names = "--system-id", paramLabel = "ID", description = "The cluster whose backups to drill, when the repository holds"
            + " the source's backups of several (default: the cluster in the source's data_dir, when readable).")
    String systemId;

    @Option(names = "--scratch", paramLabel = "DIR", description = "Scratch directory inside restore.allowed_targets"
            + " (default: <first allowed target>/holdfast-drill-<source>); created, and deleted after the drill.")
    Path scratch;

    @Option(names = "--keep", description = "Leave the stopped copy in the scratch directory for a look.")
    boolean keep;

    @Option(names = "--no-amcheck", description = "Skip pg_amcheck (it reads every table and index: the longest step on a large cluster).")
    boolean noAmcheck;

    @Option(names = "--timeout", paramLabel = "MINUTES", defaultValue = "30",
            description = "Minutes allowed for starting the copy, and again for its recovery (default: ${DEFAULT-VALUE}).")
    int timeoutMinutes;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (timeoutMinutes < 1) {
            throw new HoldfastException(ErrorCode.USAGE, "--timeout must be at least 1 minute");
        }
        Path configFile = repository.configFileInUse().orElseThrow(() -> new HoldfastException(ErrorCode.USAGE,
                "drill needs the agent's configuration (--config FILE): it holds the source and restore.allowed_targets"));
        AgentConfig config = AgentConfig.load(configFile);
        PostgresSourceConfig src = Sources.postgres(config, source);
        Path dir = scratch != null ? scratch : Drill.defaultScratch(config.restore().allowedTargets(), src.name());
        PrintWriter err = spec.commandLine().getErr();
        try (Repository repo = repository.open(Ambient.clock(), Ambient.random()); WalSession wal = new WalSession(repo)) {
            Drill.Environment env = new Drill.Environment() {
                @Override
                public String restoreCommand(String s, String systemId) {
                    return WalFetchHook.command(config.controlSocket(), configFile, s, systemId);
                }

                @Override
                public BaseRestore.WalFiles walFiles(String s, String systemId) {
                    WalLayout layout = new WalLayout(s, systemId);
                    return name -> WalSession.await(wal.walRepository(layout).fetch(name)).map(Buffer::getBytes);
                }
            };
            String[] lastPhase = {""};
            Drill.Report r = new Drill(repo, Ambient.clock()).run(src,
                    new Drill.Options(backup, systemId != null ? Optional.of(systemId) : PgControl.systemIdentifier(src.dataDir()), dir,
                            config.restore().allowedTargets(), keep, !noAmcheck, Duration.ofMinutes(timeoutMinutes)),
                    env, (phase, done, total) -> {
                        if (!phase.equals(lastPhase[0])) {
                            lastPhase[0] = phase;
                            err.println("holdfast: drill: " + phase);
                            err.flush();
                        }
                    });
            print(r);
            return r.failure().map(c -> code(c.code()).exitStatus()).orElse(0);
        }
    }

    private static ErrorCode code(String code) {
        try {
            return ErrorCode.valueOf(code.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return ErrorCode.INTERNAL;
        }
    }

    private void print(Drill.Report r) {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode n = Json.object();
            n.put("source", r.source()).put("backup", r.backupId()).put("system_id", r.systemId()).put("ok", r.ok())
                    .put("started_at", r.startedAt().toString()).put("finished_at", r.finishedAt().toString());
            n.put("rto_seconds", r.rto().map(d -> d.toMillis() / 1000.0).orElse(null));
            n.put("rpo_seconds", r.rpo().map(d -> d.toMillis() / 1000.0).orElse(null));
            n.put("restored_to", r.restoredTo().map(Object::toString).orElse(null));
            n.put("bytes", r.bytes()).put("scratch", r.scratch().toString()).put("kept", r.kept());
            ArrayNode checks = n.putArray("checks");
            for (Drill.Check c : r.checks()) {
                ObjectNode cn = checks.addObject().put("name", c.name()).put("ok", c.ok()).put("detail", c.detail())
                        .put("seconds", c.took().toMillis() / 1000.0);
                if (!c.ok()) {
                    cn.put("code", c.code());
                }
            }
            out.println(n);
        } else {
            out.println("drill of " + r.source() + (r.backupId().isEmpty() ? "" : " from backup " + r.backupId()) + ": "
                    + (r.ok() ? "PASSED" : "FAILED"));
            for (Drill.Check c : r.checks()) {
                out.printf(Locale.ROOT, "  %-9s %-4s %7.1f s  %s%n", c.name(), c.ok() ? "ok" : "FAIL", c.took().toMillis() / 1000.0,
                        c.ok() ? c.detail() : c.code() + ": " + c.detail());
            }
            out.println("  RTO " + r.rto().map(d -> String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1000.0)).orElse("not reached")
                    + " (from the drill's start until the copy accepted writes)");
            out.println("  RPO " + r.rpo().map(d -> String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1000.0)
                    + " (the newest recovered transaction was committed at " + r.restoredTo().orElseThrow() + ")")
                    .orElse("unknown (no transaction was replayed)"));
            out.println(r.kept() ? "  the stopped copy is in " + r.scratch().resolve("data") : "  the scratch directory was deleted");
        }
        out.flush();
    }
}
