package dev.holdfast.cli.restore;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.config.PostgresSourceConfig;
import dev.holdfast.agent.config.RedisSourceConfig;
import dev.holdfast.agent.postgres.logical.LogicalBackups;
import dev.holdfast.agent.postgres.logical.LogicalRestore;
import dev.holdfast.agent.postgres.restore.BaseRestore;
import dev.holdfast.agent.postgres.restore.RecoveryTarget;
import dev.holdfast.agent.postgres.restore.WalFetchHook;
import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.cli.Sources;
import dev.holdfast.cli.backup.BackupCommand;
import dev.holdfast.cli.wal.WalSession;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.crypto.GcmWarmUp;
import dev.holdfast.repository.backup.BackupManifest;
import dev.holdfast.repository.backup.LogicalManifest;
import dev.holdfast.repository.wal.WalLayout;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code holdfast restore --source NAME --backup ID|latest --target DIR [target options]}: restores
 * a base backup into a directory under {@code restore.allowed_targets}, set up so that starting
 * PostgreSQL on it recovers to the target and (by default) opens read-write.
 */
@Command(name = "restore", mixinStandardHelpOptions = true, sortOptions = false, description = {
        "Restore a base backup into an empty directory under restore.allowed_targets, with the recovery settings",
        "for the chosen target: start PostgreSQL on it and it replays the WAL from the repository up to the target.",
        "Without a target option, recovery runs to the end of the WAL in the repository. Every file's checksum is",
        "verified; global/pg_control is written last, so a restore that fails half way cannot be started.",
        "The files belong to the user running the command: run it as the PostgreSQL user (or chown afterwards).",
        "For a redis source: rebuilds DIR/appendonlydir from the AOF (latest, or --to-time T), or with --type rdb writes DIR/dump.rdb.",
        "For a files source (type: files): restores a snapshot (--backup ID or latest), or one --path of it, into --target",
        "(docs/files.md)."})
public final class RestoreCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repository;

    @Option(names = "--source", paramLabel = "NAME", description = "The source whose backup to restore (default: the configuration's only postgres source).")
    String source;

    @Option(names = "--system-id", paramLabel = "ID", description = "The cluster's system identifier (when the source has backups of several).")
    String systemId;

    @Option(names = "--backup", paramLabel = "ID", defaultValue = "latest",
            description = "A backup id (holdfast list), or latest: the newest that ends before the target (default).")
    String backup;

    @Option(names = "--target", paramLabel = "DIR", description = "The directory to restore a base backup into.")
    Path target;

    @Option(names = "--type", paramLabel = "TYPE", defaultValue = "base",
            description = "base (a full or incremental backup; default) or logical (a pg_dump, restored with pg_restore into --target-db).")
    String type;

    @Option(names = "--target-db", paramLabel = "DB", description = "With --type logical: a database name on the source's server, or a conninfo.")
    String targetDb;

    @Option(names = "--database", paramLabel = "NAME", description = "With --type logical: which database of the dump (needed when it holds several).")
    String database;

    @Option(names = "--create", description = "With --type logical: create the target database when it does not exist.")
    boolean create;

    @Option(names = "--clean", description = "With --type logical: drop and recreate the dump's objects in the target (needed to restore over the dumped database).")
    boolean clean;

    @Option(names = "--no-owner", description = "With --type logical: do not restore ownership (for a server without the source's roles).")
    boolean noOwner;

    @Option(names = "--to-time", paramLabel = "TIME", description = "Recover to this time (RFC 3339 UTC, e.g. 2026-11-24T06:00:00Z).")
    String toTime;

    @Option(names = "--to-lsn", paramLabel = "LSN", description = "Recover to this WAL position (e.g. 0/3000028).")
    String toLsn;

    @Option(names = "--to-xid", paramLabel = "XID", description = "Recover to (including) this transaction.")
    String toXid;

    @Option(names = "--to-name", paramLabel = "NAME", description = "Recover to this restore point (pg_create_restore_point).")
    String toName;

    @Option(names = "--immediate", description = "Recover only until the backup is consistent.")
    boolean immediate;

    @Option(names = "--target-action", paramLabel = "ACTION", defaultValue = "promote",
            description = "On reaching the target: promote (open read-write; default), pause or shutdown.")
    String targetAction;

    @Option(names = "--dry-run", description = "Print the plan (backup, files, bytes, WAL, target, settings) and write nothing.")
    boolean dryRun;

    @Option(names = "--overwrite", description = "Replace the contents of a non-empty target directory.")
    boolean overwrite;

    @Option(names = "--parallel", paramLabel = "N", description = "Packs downloaded and restored at once (default: the number of cores).")
    Integer parallel;

    @Option(names = "--restore-command", paramLabel = "CMD",
            description = "PostgreSQL's restore_command to write (default: holdfast-wal-fetch for this source, through the agent's socket or this configuration).")
    String restoreCommand;

    @Option(names = "--keep-archive-mode", description = "Keep the backup's archive_mode (default: off, so a restored copy never archives into the source's WAL).")
    boolean keepArchiveMode;

    @Option(names = "--verify-sha256", description = "Also compare every file's SHA-256 (CRC32C and the repository's authentication are always checked).")
    boolean verifySha256;

    @Option(names = "--path", paramLabel = "PATH",
            description = "For a files source: restore only this absolute path of the snapshot (a file, or a directory and everything below it).")
    String path;

    @Option(names = "--json", description = "Print the plan or result as JSON.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        GcmWarmUp.startInBackground(); // bulk decryption follows; start compiling the cipher now
        if (source != null && repository.configFileInUse().isPresent()) {
            AgentConfig cfg = AgentConfig.load(repository.configFileInUse().get());
            if (cfg.sources().stream().anyMatch(s -> s.name().equals(source) && s instanceof RedisSourceConfig)) {
                if (dryRun || toLsn != null || toXid != null || toName != null || immediate || targetDb != null || database != null
                        || create || clean || noOwner || systemId != null || restoreCommand != null) {
                    throw new HoldfastException(ErrorCode.USAGE, "source " + source + " is a redis source: it takes --target, --to-time, --type aof|rdb, "
                            + "--backup (rdb), --overwrite and --json only");
                }
                return RedisRestoreCommand.run(repository, cfg, source, type, backup, target, toTime, overwrite, json, spec.commandLine().getOut());
            }
        }
        if (dev.holdfast.cli.files.FilesCli.isFilesSourceForRestore(repository, source)) { // a snapshot, or one path of it (docs/files.md)
            if (target == null) {
                throw new HoldfastException(ErrorCode.USAGE, "--target DIR is required (the directory to restore into)");
            }
            if (dryRun || toTime != null || toLsn != null || toXid != null || toName != null || immediate || !type.equals("base")) {
                throw new HoldfastException(ErrorCode.USAGE, "a files source is restored with --target, --backup, --path, --overwrite and --json;"
                        + " --dry-run, --type and the --to-* options are not supported for it");
            }
            return dev.holdfast.cli.files.FilesCli.restore(repository, source, backup, Optional.ofNullable(path), target, overwrite, json,
                    spec.commandLine().getOut(), spec.commandLine().getErr());
        }
        if (path != null) {
            throw new HoldfastException(ErrorCode.USAGE, "--path goes with a files source (type: files)");
        }
        if (type.equals("logical")) {
            return logical();
        }
        if (!type.equals("base")) {
            throw new HoldfastException(ErrorCode.USAGE, "--type must be base or logical, not '" + type + "'");
        }
        if (target == null) {
            throw new HoldfastException(ErrorCode.USAGE, "--target DIR is required (the directory to restore into)");
        }
        if (targetDb != null || database != null || create || clean || noOwner) {
            throw new HoldfastException(ErrorCode.USAGE, "--target-db, --database, --create, --clean and --no-owner go with --type logical");
        }
        Path configFile = repository.configFileInUse().orElseThrow(() ->
                new HoldfastException(ErrorCode.USAGE, "restore needs the agent's configuration (--config FILE): it holds restore.allowed_targets"));
        AgentConfig config = AgentConfig.load(configFile);
        if (source == null) {
            source = Sources.postgres(config, null).name(); // else any source in the repository: a restore host may restore another host's
        }
        RecoveryTarget recovery = RecoveryTarget.of(toTime, toLsn, toXid, toName, immediate, RecoveryTarget.Action.parse(targetAction));
        if (backup.isBlank()) {
            throw new HoldfastException(ErrorCode.USAGE, "--backup must be a backup id or latest");
        }
        int workers = parallel != null ? parallel : Runtime.getRuntime().availableProcessors();
        PrintWriter err = spec.commandLine().getErr();
        try (Repository repo = repository.open(dev.holdfast.cli.Ambient.clock(), dev.holdfast.cli.Ambient.random())) {
            BaseRestore restore = new BaseRestore(repo, dev.holdfast.cli.Ambient.clock());
            BaseRestore.Plan plan = restore.plan(options(config, recovery, workers, "%f %p"));
            String sysid = plan.backup().systemId();
            // The restore command names the system id, known once the backup is chosen.
            String command = restoreCommand != null ? restoreCommand
                    : WalFetchHook.command(config.controlSocket(), configFile, source, sysid);
            BaseRestore.Options opts = options(config, recovery, workers, command);
            plan = plan.withRestoreCommand(command);
            if (dryRun) {
                printPlan(plan, recovery, true);
                return 0;
            }
            printPlan(plan, recovery, false);
            BackupCommand.Progress progress = new BackupCommand.Progress(err);
            WalLayout layout = new WalLayout(source, sysid);
            // Vert.x and the WAL reader start while the files are restored; they are needed only after.
            CompletableFuture<WalSession> wal = CompletableFuture.supplyAsync(() -> new WalSession(repo));
            try {
                restore.restore(plan, opts, name -> WalSession.await(wal.join().walRepository(layout).fetch(name)).map(Buffer::getBytes),
                        new BaseRestore.Listener() {
                            @Override
                            public void message(String text) {
                                progress.message(text);
                            }

                            @Override
                            public void progress(long done, long total) {
                                progress.progress(done, total);
                            }
                        });
            } finally {
                WalSession session = null;
                try {
                    session = wal.join();
                } catch (java.util.concurrent.CompletionException e) {
                    // it never started: nothing to close (a restore that needed it failed with the cause)
                }
                if (session != null) {
                    session.close();
                }
            }
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                ObjectNode n = Json.object();
                n.put("restored", plan.backup().id().toString()).put("target", plan.target().path().toString())
                        .put("recovery_target", recovery.describe());
                out.println(n);
            } else {
                out.println("restored backup " + plan.backup().id() + " into " + plan.target().path() + "; start PostgreSQL on it to recover to "
                        + recovery.describe());
            }
            out.flush();
            return 0;
        }
    }

    /** {@code --type logical}: a dump into a database through pg_restore. */
    private int logical() {
        if (targetDb == null) {
            throw new HoldfastException(ErrorCode.USAGE, "--type logical needs --target-db DB (a database name or a conninfo)");
        }
        if (target != null || dryRun || overwrite || toTime != null || toLsn != null || toXid != null || toName != null || immediate) {
            throw new HoldfastException(ErrorCode.USAGE, "--target, --dry-run, --overwrite and the --to-* options go with base backups, not --type logical");
        }
        AgentConfig config = AgentConfig.load(repository.configFileInUse().orElseThrow(() ->
                new HoldfastException(ErrorCode.USAGE, "restore needs the agent's configuration (--config FILE)")));
        PostgresSourceConfig src = Sources.postgres(config, source);
        Vertx vertx = Vertx.vertx();
        try (Repository repo = repository.open(dev.holdfast.cli.Ambient.clock(), dev.holdfast.cli.Ambient.random())) {
            LogicalManifest m = LogicalBackups.find(repo, src.name(), backup);
            LogicalRestore.Result r = new LogicalRestore(vertx, repo, dev.holdfast.cli.Ambient.clock()).run(m,
                    LogicalRestore.Target.parse(src, targetDb),
                    new LogicalRestore.Options(Optional.ofNullable(database), create, clean, noOwner, src.pgBinDir()));
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                ObjectNode n = Json.object();
                n.put("restored", r.backup().toString()).put("database", r.database()).put("target", r.target().toString())
                        .put("bytes", r.bytes()).put("created_target", r.createdTarget());
                out.println(n);
            } else {
                out.println("restored database " + r.database() + " of logical backup " + r.backup() + " into " + r.target()
                        + (r.createdTarget() ? " (created)" : "") + " in " + r.elapsed().toMillis() / 1000.0 + " s");
            }
            out.flush();
            return 0;
        } finally {
            vertx.close();
        }
    }

    private BaseRestore.Options options(AgentConfig config, RecoveryTarget recovery, int workers, String command) {
        return new BaseRestore.Options(source, Optional.ofNullable(systemId), backup, target, config.restore().allowedTargets(), recovery,
                overwrite, workers, command, keepArchiveMode, verifySha256);
    }

    private void printPlan(BaseRestore.Plan plan, RecoveryTarget recovery, boolean dry) {
        PrintWriter out = spec.commandLine().getOut();
        BackupManifest m = plan.backup();
        long packs = m.files().stream().map(f -> f.from().map(Object::toString).orElse(m.id().toString()) + "/" + f.pack()).distinct().count();
        if (json && dry) {
            ObjectNode n = Json.object();
            n.put("dry_run", true).put("backup", m.id().toString());
            ArrayNode chain = n.putArray("chain");
            plan.chain().forEach(c -> chain.add(c.id().toString()));
            n.put("files", plan.files()).put("bytes", plan.bytes()).put("packs", packs);
            n.put("start_lsn", m.startLsn().toString()).put("stop_lsn", m.stopLsn().toString()).put("timeline", m.timeline());
            ArrayNode wal = n.putArray("wal_copied");
            plan.walToCopy().forEach(wal::add);
            n.put("recovery_target", recovery.describe());
            n.put("target", plan.target().path().toString()).put("target_exists", plan.target().exists())
                    .put("target_non_empty", plan.target().nonEmpty());
            ObjectNode settings = n.putObject("settings");
            plan.settings().forEach(settings::put);
            out.println(n);
            out.flush();
            return;
        }
        if (json) {
            return;
        }
        out.println(dry ? "restore plan (dry run: nothing is written)" : "restore plan");
        out.println("  backup:    " + m.id() + (plan.chain().size() > 1 ? " (chain: " + plan.chain().stream().map(c -> c.id().toString())
                .collect(Collectors.joining(" <- ")) + ")" : ""));
        out.println("  files:     " + plan.files() + " (" + BackupCommand.Progress.size(plan.bytes()) + ") from " + packs + " packs");
        out.println("  WAL:       " + String.join(", ", List.of(plan.walToCopy().get(0), plan.walToCopy().get(plan.walToCopy().size() - 1)))
                .replace(", ", " .. ") + " copied into pg_wal (the backup's " + m.startLsn() + " - " + m.stopLsn() + "), then replayed from the repository to "
                + recovery.describe());
        out.println("  target:    " + plan.target().path() + (plan.target().nonEmpty() ? " (not empty: its contents are replaced)"
                : plan.target().exists() ? " (empty)" : " (created)"));
        plan.settings().forEach((k, v) -> out.println("  setting:   " + k + " = '" + v + "'"));
        out.flush();
    }
}
