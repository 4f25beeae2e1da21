package dev.holdfast.cli.backup;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.config.PostgresSourceConfig;
import dev.holdfast.agent.config.RedisSourceConfig;
import dev.holdfast.agent.postgres.backup.BaseBackup;
import dev.holdfast.agent.postgres.logical.LogicalBackup;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.cli.Sources;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.crypto.GcmWarmUp;
import dev.holdfast.repository.backup.BackupManifest;
import dev.holdfast.repository.backup.BackupType;
import dev.holdfast.repository.backup.LogicalManifest;
import io.vertx.core.Vertx;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code holdfast backup --source NAME --type full|incr|logical [--tag TAG]}: a base backup of a
 * configured PostgreSQL source, taken from this host (it reads the data directory), or a logical
 * dump of its databases. Prints progress on
 * standard error and the backup's summary on standard output; the backup is complete only when
 * the command exits 0.
 */
@Command(name = "backup", mixinStandardHelpOptions = true, description = {
        "Take a base backup (full or incremental) of a PostgreSQL source configured on this host, or a logical dump",
        "(pg_dump --format=custom of each configured database) with --type logical.",
        "The data directory is read by parallel workers and sealed into the repository; the backup is complete",
        "(listed, restorable) once the WAL from its start to its stop is in the repository too, which the running",
        "agent ships. An interrupted backup leaves no manifest and is never used; run it again.",
        "For a redis source (--source NAME): an RDB snapshot (--type rdb, the default for it): BGSAVE, then the RDB file.",
        "For a files source (type: files), takes a snapshot of its files now (docs/files.md)."})
public final class BackupCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repository;

    @Option(names = "--source", paramLabel = "NAME", description = "The PostgreSQL source (default: the configuration's only one).")
    String source;

    @Option(names = "--type", paramLabel = "TYPE", defaultValue = "full",
            description = "full (default), incr (only files changed since the newest backup) or logical (pg_dump of each configured database).")
    String type;

    @Option(names = "--tag", paramLabel = "TAG", description = "A label kept with the backup (e.g. daily, weekly), used by retention.")
    String tag;

    @Option(names = "--parallel", paramLabel = "N", description = "Workers reading and sealing at once (default: the number of cores).")
    Integer parallel;

    @Option(names = "--wal-timeout", paramLabel = "SECONDS", defaultValue = "300",
            description = "How long to wait for the backup's WAL to reach the repository (default: ${DEFAULT-VALUE}).")
    long walTimeout;

    @Option(names = "--pack-size", paramLabel = "MiB", defaultValue = "64",
            description = "Small files are packed together into objects of about this size; a larger file is an object of its own (default: ${DEFAULT-VALUE}).")
    int packSizeMiB;

    @Option(names = "--spread-checkpoint", description = "Let the starting checkpoint spread out as the server's settings say, instead of an immediate one.")
    boolean spread;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        GcmWarmUp.startInBackground(); // bulk sealing follows; start compiling the cipher now
        if (source != null && repository.configFileInUse().isPresent()) {
            AgentConfig cfg = AgentConfig.load(repository.configFileInUse().get());
            for (var s : cfg.sources()) {
                if (s.name().equals(source) && s instanceof RedisSourceConfig redis) {
                    return RedisBackupCommand.run(repository, redis, type, json, spec.commandLine().getOut());
                }
            }
        }
        Optional<dev.holdfast.agent.config.FilesSourceConfig> files = dev.holdfast.cli.files.FilesCli.source(repository, source);
        if (files.isPresent()) { // a files source: a snapshot (docs/files.md)
            return dev.holdfast.cli.files.FilesCli.backup(repository, files.get(), json, spec.commandLine().getOut(), spec.commandLine().getErr());
        }
        BackupType t = switch (type) {
            case "full" -> BackupType.FULL;
            case "incr" -> BackupType.INCR;
            case "logical" -> BackupType.LOGICAL;
            default -> throw new HoldfastException(ErrorCode.USAGE, "--type must be full, incr or logical, not '" + type + "'");
        };
        if (tag != null && !tag.matches("[A-Za-z0-9_.-]{1,64}")) {
            throw new HoldfastException(ErrorCode.USAGE, "--tag must be 1-64 letters, digits, '.', '_' or '-'");
        }
        if (packSizeMiB < 1 || packSizeMiB > 4096) {
            throw new HoldfastException(ErrorCode.USAGE, "--pack-size must be 1 to 4096 MiB");
        }
        if (walTimeout < 1) {
            throw new HoldfastException(ErrorCode.USAGE, "--wal-timeout must be at least 1 second");
        }
        AgentConfig config = AgentConfig.load(repository.configFileInUse().orElseThrow(() ->
                new HoldfastException(ErrorCode.USAGE, "backup needs the agent's configuration (--config FILE): it names the source")));
        PostgresSourceConfig src = Sources.postgres(config, source);
        if (t == BackupType.LOGICAL) {
            return logical(src);
        }
        BaseBackup.Options defaults = BaseBackup.Options.defaults(t);
        BaseBackup.Options options = new BaseBackup.Options(t, Optional.ofNullable(tag), parallel != null ? parallel : defaults.parallel(),
                !spread, Duration.ofSeconds(walTimeout), packSizeMiB * 1024L * 1024L);
        PrintWriter err = spec.commandLine().getErr();
        Vertx vertx = Vertx.vertx();
        try (Repository repo = repository.open(Ambient.clock(), Ambient.random())) {
            Progress progress = new Progress(err);
            BaseBackup.Result r = new BaseBackup(vertx, repo, src, Ambient.clock()).run(options, progress);
            print(r);
            return 0;
        } finally {
            vertx.close();
        }
    }

    /** {@code --type logical}: pg_dump of each configured database, sealed into the repository. */
    private int logical(PostgresSourceConfig src) {
        PrintWriter err = spec.commandLine().getErr();
        Vertx vertx = Vertx.vertx();
        try (Repository repo = repository.open(Ambient.clock(), Ambient.random())) {
            long[] last = {0};
            LogicalManifest m = new LogicalBackup(vertx, repo, Ambient.clock()).run(src, Optional.ofNullable(tag), (db, dbBytes, total) -> {
                long now = System.nanoTime();
                if (now - last[0] > 2_000_000_000L) {
                    last[0] = now;
                    err.println("holdfast: dumping " + db + ": " + Progress.size(dbBytes) + " (" + Progress.size(total) + " in all)");
                    err.flush();
                }
            });
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                ObjectNode n = Json.MAPPER.createObjectNode();
                n.put("id", m.id().toString()).put("type", "logical").put("source", m.source()).put("system_identifier", m.systemId());
                n.put("tag", m.tag().orElse(null)).put("started_at", m.startedAt().toString()).put("finished_at", m.finishedAt().toString());
                n.put("bytes", m.bytes()).put("stored_bytes", m.storedBytes()).put("complete", true);
                var dbs = n.putArray("databases");
                m.databaseNames().forEach(dbs::add);
                out.println(n);
            } else {
                out.printf("logical backup %s complete: %s (%s), %s (stored %s)%n", m.id(), String.join(", ", m.databaseNames()),
                        m.databaseNames().size() == 1 ? "1 database" : m.databaseNames().size() + " databases", Progress.size(m.bytes()),
                        Progress.size(m.storedBytes()));
            }
            out.flush();
            return 0;
        } finally {
            vertx.close();
        }
    }

    private void print(BaseBackup.Result r) {
        BackupManifest m = r.manifest();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode n = Json.MAPPER.createObjectNode();
            n.put("id", m.id().toString()).put("type", m.id().type().token()).put("source", m.source()).put("system_identifier", m.systemId());
            n.put("tag", m.tag().orElse(null)).put("parent", m.parent().map(Object::toString).orElse(null));
            n.put("start_lsn", m.startLsn().toString()).put("stop_lsn", m.stopLsn().toString()).put("timeline", m.timeline());
            n.put("started_at", m.startedAt().toString()).put("finished_at", m.finishedAt().toString());
            n.put("files", m.files().size()).put("bytes", m.bytes()).put("stored_bytes", m.storedBytes()).put("complete", true);
            n.put("files_copied", m.files().stream().filter(f -> f.from().isEmpty()).count());
            n.put("bytes_copied", m.files().stream().filter(f -> f.from().isEmpty()).mapToLong(BackupManifest.FileEntry::size).sum());
            n.put("fell_back_to_full", r.fellBackToFull());
            out.println(n);
        } else {
            Duration took = Duration.between(m.startedAt(), m.finishedAt());
            out.printf("backup %s complete: %d files, %s (stored %s), WAL %s - %s on timeline %d, %.1f s%n", m.id(), m.files().size(),
                    Progress.size(m.bytes()), Progress.size(m.storedBytes()), m.startLsn(), m.stopLsn(), m.timeline(), took.toMillis() / 1000.0);
        }
        out.flush();
    }

    /** Progress lines on standard error, at most one every two seconds. */
    public static final class Progress implements BaseBackup.Listener {
        private final PrintWriter err;
        private long last;

        public Progress(PrintWriter err) {
            this.err = err;
        }

        @Override
        public void message(String text) {
            err.println("holdfast: " + text);
            err.flush();
        }

        @Override
        public void progress(long done, long total) {
            long now = System.nanoTime();
            if (now - last < 2_000_000_000L && done < total) {
                return;
            }
            last = now;
            err.printf("holdfast: progress %d%% (%s of %s)%n", total == 0 ? 100 : done * 100 / total, size(done), size(total));
            err.flush();
        }

        public static String size(long bytes) {
            if (bytes < 1024) {
                return bytes + " B";
            }
            String[] units = {"KiB", "MiB", "GiB", "TiB"};
            double v = bytes;
            int i = -1;
            while (v >= 1024 && i < units.length - 1) {
                v /= 1024;
                i++;
            }
            return String.format("%.1f %s", v, units[i]);
        }
    }
}
