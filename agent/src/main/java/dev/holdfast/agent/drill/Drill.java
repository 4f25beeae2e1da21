package dev.holdfast.agent.drill;

import dev.holdfast.agent.config.PostgresSourceConfig;
import dev.holdfast.agent.postgres.replication.ConnInfo;
import dev.holdfast.agent.postgres.restore.BaseRestore;
import dev.holdfast.agent.postgres.restore.RecoveryTarget;
import dev.holdfast.agent.postgres.restore.RestoreTarget;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupManifest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * One restore drill of a PostgreSQL source (docs/drill.md): restore a backup (the latest by
 * default) into {@code <scratch>/data}, start it as a {@link ScratchCluster}, let it recover to the
 * end of the repository's WAL and promote, check it, measure it, stop it and delete the scratch
 * directory. Nothing outside the scratch directory is written; it must lie inside
 * {@code restore.allowed_targets}, and holds a marker file so that a drill only ever clears a
 * directory an earlier drill created.
 *
 * <p>What is measured: <b>RTO</b>, from the drill's start to the copy accepting writes with every
 * database answering (what "back" means for an application); <b>RPO</b>, how long before the
 * drill's start the newest transaction the copy recovered was committed. The RPO is an upper bound:
 * a source that was idle has nothing newer to lose. {@code pg_amcheck} (when installed with the
 * server binaries) runs after the RTO is taken, as validation.
 *
 * <p>Blocking: call from a worker thread. A drill never throws for what it finds: a failed step is
 * a failed {@link Check} in the {@link Report}; it throws only for a refusal before anything was
 * written (a scratch directory outside the allowlist or not a drill's).
 */
public final class Drill {
    /** The file that marks a directory as a drill's scratch directory. */
    public static final String MARKER = ".holdfast-drill";

    private final Repository repository;
    private final Clock clock;

    /** What a drill needs from its caller: the WAL of the backup's cluster, and PostgreSQL's restore_command for the copy. */
    public interface Environment {
        /** The {@code restore_command} the copy fetches the rest of its WAL with (through the agent's socket). */
        String restoreCommand(String source, String systemId);

        /** The WAL files between the backup's start and stop, copied into {@code pg_wal}. */
        BaseRestore.WalFiles walFiles(String source, String systemId);
    }

    /** Told what happens, from the drill's thread. */
    public interface Listener {
        void phase(String phase, long done, long total);
    }

    /**
     * @param backup   a backup id or {@code latest}
     * @param systemId the cluster whose backups to use, when the repository holds the source's backups of several
     *                 (a re-created cluster, or hosts sharing a source name); empty: the only one
     * @param scratch  the scratch directory (created; inside {@code allowed})
     * @param keep     leave the stopped copy in place (for a look) instead of deleting it
     * @param amcheck  run {@code pg_amcheck --all} on the copy when the binaries have it
     * @param timeout  for each of: starting, and recovering to the end of the WAL
     */
    public record Options(String backup, Optional<String> systemId, Path scratch, List<Path> allowed, boolean keep, boolean amcheck,
                          Duration timeout) {
        public Options {
            Objects.requireNonNull(backup, "backup");
            Objects.requireNonNull(systemId, "systemId");
            Objects.requireNonNull(scratch, "scratch");
            allowed = List.copyOf(allowed);
            Objects.requireNonNull(timeout, "timeout");
        }
    }

    /** One step's outcome. @param code the stable error code of a failure, empty when ok */
    public record Check(String name, boolean ok, String detail, Duration took, String code) {
    }

    /**
     * @param restoredTo the commit time of the newest transaction the copy recovered, when it replayed any
     * @param rpo        {@code startedAt - restoredTo}, when known
     * @param rto        from the start to the copy accepting writes, when it got there
     */
    public record Report(String source, String backupId, String systemId, Path scratch, Instant startedAt, Instant finishedAt,
                         Optional<Duration> rto, Optional<Instant> restoredTo, Optional<Duration> rpo, long bytes, List<Check> checks,
                         boolean kept) {
        public boolean ok() {
            return !checks.isEmpty() && checks.stream().allMatch(Check::ok);
        }

        /** The first failed check, if any. */
        public Optional<Check> failure() {
            return checks.stream().filter(c -> !c.ok()).findFirst();
        }
    }

    public Drill(Repository repository, Clock clock) {
        this.repository = Objects.requireNonNull(repository, "repository");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** The default scratch directory of a source: {@code <first allowed target>/holdfast-drill-<source>}. */
    public static Path defaultScratch(List<Path> allowed, String source) {
        if (allowed.isEmpty()) {
            throw new HoldfastException(ErrorCode.TARGET_NOT_ALLOWED, "a drill restores into a scratch directory inside"
                    + " restore.allowed_targets, and the configuration allows none; nothing was written");
        }
        return allowed.get(0).resolve("holdfast-drill-" + source);
    }

    /**
     * Runs the drill.
     *
     * @throws HoldfastException {@code TARGET_NOT_ALLOWED} for a scratch directory outside the allowlist,
     *                           {@code TARGET_NOT_EMPTY} for an existing directory that is not a drill's; nothing written
     */
    public Report run(PostgresSourceConfig src, Options o, Environment env, Listener listener) {
        Instant started = clock.instant();
        Path scratch = prepare(o);
        List<Check> checks = new ArrayList<>();
        Path data = scratch.resolve("data");
        Optional<Duration> rto = Optional.empty();
        Optional<Instant> restoredTo = Optional.empty();
        String backupId = "";
        String sysid = "";
        long bytes = 0;
        ScratchCluster cluster = null;
        try {
            // 1. restore
            Instant t = clock.instant();
            listener.phase("restore", 0, 0);
            BaseRestore restore = new BaseRestore(repository, clock);
            BaseRestore.Plan plan;
            try {
                plan = restore.plan(options(src, o, data, o.systemId(), "%f %p"));
                backupId = plan.backup().id().toString();
                sysid = plan.backup().systemId();
                bytes = plan.bytes();
                String command = env.restoreCommand(src.name(), sysid);
                BaseRestore.Options opts = options(src, o, data, Optional.of(sysid), command);
                plan = plan.withRestoreCommand(command);
                long total = plan.bytes();
                restore.restore(plan, opts, env.walFiles(src.name(), sysid), new BaseRestore.Listener() {
                    @Override
                    public void message(String text) {
                    }

                    @Override
                    public void progress(long done, long all) {
                        listener.phase("restore", done, all > 0 ? all : total);
                    }
                });
                checks.add(ok("restore", "backup " + backupId + ": " + plan.files() + " files, " + plan.bytes() + " bytes", t));
            } catch (RuntimeException e) {
                checks.add(failed("restore", e, t));
                return report(src, backupId, sysid, scratch, started, rto, restoredTo, bytes, checks, o.keep());
            }
            // 2. start, recover to the end of the WAL, promote
            t = clock.instant();
            listener.phase("recover", 0, 0);
            try {
                cluster = ScratchCluster.start(binDir(src, plan.backup()), data, scratch.resolve("server.log"), o.timeout());
                cluster.awaitPromoted(candidates(src), o.timeout());
                checks.add(ok("recovery", "recovered to the end of the repository's WAL and promoted", t));
            } catch (RuntimeException e) {
                checks.add(failed("recovery", e, t));
                return report(src, backupId, sysid, scratch, started, rto, restoredTo, bytes, checks, o.keep());
            }
            // 3. every database answers: the copy is back
            t = clock.instant();
            listener.phase("check", 0, 0);
            try {
                // Names as hex, one per line: a (quoted) database name may hold a comma or even a newline.
                List<String> dbs = java.util.Arrays.stream(cluster.psql("postgres", "SELECT encode(convert_to(datname, 'UTF8'), 'hex')"
                        + " FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname").split("\n"))
                        .filter(x -> !x.isBlank())
                        .map(x -> new String(java.util.HexFormat.of().parseHex(x.strip()), java.nio.charset.StandardCharsets.UTF_8)).toList();
                long relations = 0;
                for (String db : dbs) {
                    relations += Long.parseLong(cluster.psql(db, "SELECT count(*) FROM pg_class"));
                }
                cluster.psql("postgres", "CREATE TEMP TABLE holdfast_drill_write_check AS SELECT 1 AS ok");
                rto = Optional.of(Duration.between(started, clock.instant()));
                checks.add(ok("databases", dbs.size() + " databases answer (" + String.join(", ", dbs) + "), " + relations
                        + " relations; the copy accepts writes", t));
                // Microseconds since the epoch: no time zone or date style of the copy's settings to parse.
                String replay = cluster.psql("postgres",
                        "SELECT coalesce((extract(epoch FROM pg_last_xact_replay_timestamp()) * 1000000)::bigint::text, '')");
                restoredTo = replay.isEmpty() ? Optional.empty() : Optional.of(Instant.EPOCH.plusNanos(Long.parseLong(replay) * 1000));
            } catch (RuntimeException e) {
                checks.add(failed("databases", e, t));
                return report(src, backupId, sysid, scratch, started, rto, restoredTo, bytes, checks, o.keep());
            }
            // 4. PostgreSQL's own corruption checker
            if (o.amcheck() && cluster.hasTool("pg_amcheck")) {
                t = clock.instant();
                listener.phase("amcheck", 0, 0);
                try {
                    cluster.tool(o.timeout(), "pg_amcheck", "--all", "--install-missing", "--heapallindexed");
                    checks.add(ok("amcheck", "pg_amcheck --all --heapallindexed found no corruption", t));
                } catch (RuntimeException e) {
                    checks.add(failed("amcheck", e, t));
                }
            }
            return report(src, backupId, sysid, scratch, started, rto, restoredTo, bytes, checks, o.keep());
        } finally {
            if (cluster != null) {
                cluster.close();
            }
            if (!o.keep()) {
                try {
                    RestoreTarget.deleteTree(scratch, false);
                } catch (IOException e) {
                    checks.add(new Check("cleanup", false, "could not delete " + scratch + ": " + e.getMessage(), Duration.ZERO,
                            ErrorCode.IO_ERROR.code()));
                }
            }
        }
    }

    /** Checks and creates the scratch directory; clears one an earlier drill left. */
    private static Path prepare(Options o) {
        Path scratch = o.scratch().toAbsolutePath().normalize();
        // The allowlist check of restores (canonical paths, no escape through links); a drill's own
        // directory is cleared only when it carries the marker.
        RestoreTarget target = RestoreTarget.check(scratch, o.allowed(), true);
        try {
            if (target.nonEmpty()) {
                if (!Files.isRegularFile(target.path().resolve(MARKER), LinkOption.NOFOLLOW_LINKS)) {
                    throw new HoldfastException(ErrorCode.TARGET_NOT_EMPTY, "drill scratch directory " + target.path()
                            + " exists and is not a drill's (no " + MARKER + " file); choose another or empty it; nothing was written");
                }
                RestoreTarget.deleteTree(target.path(), true);
            }
            Files.createDirectories(target.path());
            Files.writeString(target.path().resolve(MARKER), "a Holdfast restore drill's scratch directory; deleted after the drill\n",
                    StandardCharsets.UTF_8);
            return target.path();
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot prepare drill scratch directory " + target.path() + ": " + e.getMessage(), e);
        }
    }

    private static BaseRestore.Options options(PostgresSourceConfig src, Options o, Path data, Optional<String> sysid, String command) {
        return new BaseRestore.Options(src.name(), sysid, o.backup(), data, o.allowed(), RecoveryTarget.latest(), true,
                Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())), command, false, false);
    }

    /** The binaries of the backup's major version: the source's pg_bin_dir, else Debian's layout. */
    static Path binDir(PostgresSourceConfig src, BackupManifest m) {
        return src.pgBinDir().orElse(Path.of("/usr/lib/postgresql", Integer.toString(m.serverVersionNum() / 10000), "bin"));
    }

    /** Roles to try on the copy: the source's connection user, postgres, and this process's user. */
    private static List<String> candidates(PostgresSourceConfig src) {
        Set<String> c = new LinkedHashSet<>();
        try {
            c.add(ConnInfo.parse(src.conninfo()).user());
        } catch (RuntimeException e) {
            // an unparsable conninfo is the source's problem, not the drill's
        }
        c.add("postgres");
        c.add(System.getProperty("user.name"));
        c.remove("root");
        c.remove("");
        return List.copyOf(c);
    }

    private Check ok(String name, String detail, Instant since) {
        return new Check(name, true, detail, Duration.between(since, clock.instant()), "");
    }

    private Check failed(String name, RuntimeException e, Instant since) {
        HoldfastException h = HoldfastException.find(e);
        String code = h != null ? h.code().code() : ErrorCode.INTERNAL.code();
        return new Check(name, false, String.valueOf(e.getMessage()), Duration.between(since, clock.instant()), code);
    }

    private Report report(PostgresSourceConfig src, String backupId, String sysid, Path scratch, Instant started, Optional<Duration> rto,
                          Optional<Instant> restoredTo, long bytes, List<Check> checks, boolean kept) {
        Optional<Duration> rpo = restoredTo.map(r -> r.isAfter(started) ? Duration.ZERO : Duration.between(r, started));
        return new Report(src.name(), backupId, sysid, scratch, started, clock.instant(), rto, restoredTo, rpo, bytes, checks, kept);
    }
}
