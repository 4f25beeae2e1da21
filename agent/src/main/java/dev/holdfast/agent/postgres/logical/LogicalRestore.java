package dev.holdfast.agent.postgres.logical;

import dev.holdfast.agent.postgres.PgSql;
import dev.holdfast.agent.config.PostgresSourceConfig;
import dev.holdfast.agent.postgres.replication.ConnInfo;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.backup.LogicalManifest;
import dev.holdfast.repository.store.ObjectKey;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restores one database of a logical dump with {@code pg_restore} (docs/postgresql.md "Logical
 * dumps").
 *
 * <h2>Order of work, and what a failure leaves</h2>
 * <ol>
 *   <li>Checks, touching nothing: the database is in the dump; the target is not the dumped
 *       database itself (same cluster by system identifier, same name) unless
 *       {@link Options#clean()} says to overwrite it; the target exists or {@link Options#create()}
 *       allows creating it.
 *   <li>Verifies the dump: reads the whole sealed object (every segment authenticated, its footer
 *       and checksums checked: fail closed) and compares its size and SHA-256 with the manifest.
 *       A damaged or tampered dump fails here with {@code integrity_failure}, before any database
 *       is created or written.
 *   <li>Creates the target when missing and allowed ({@code TEMPLATE template0} with the dumped
 *       database's encoding and locale).
 *   <li>Reads the object again, authenticating it again segment by segment, into
 *       {@code pg_restore --single-transaction --exit-on-error}: pg_restore commits only at its
 *       end, so a failure of pg_restore or of the read (pg_restore is then killed) rolls everything
 *       back. A database this restore created is dropped again on failure.
 * </ol>
 *
 * <p>Not restored, as with any {@code pg_dump} of one database: roles, tablespaces and the
 * database's own properties (owner, privileges on it, {@code ALTER DATABASE ... SET}).
 *
 * <p>Blocking: call from the CLI's thread or a worker, never from an event loop.
 */
public final class LogicalRestore {
    private static final Logger LOG = LoggerFactory.getLogger(LogicalRestore.class);
    private static final String MAINTENANCE_DB = "postgres";

    /**
     * Where to restore: a database on a server.
     *
     * @param server   how to reach the target's server; its dbname is the existing database the
     *                 checks (and {@code CREATE DATABASE}) connect to. Its password never shows
     *                 ({@link ConnInfo#toString()})
     * @param database the database restored into
     */
    public record Target(ConnInfo server, String database) {
        public Target {
            Objects.requireNonNull(server, "server");
            Objects.requireNonNull(database, "database");
        }

        /**
         * What {@code --target-db} says: a libpq conninfo when it contains {@code =} (the database
         * restored into is its {@code dbname}; checks connect to database {@code postgres} of that
         * server), else a database name on the source's own server (reached with the source's
         * conninfo).
         */
        public static Target parse(PostgresSourceConfig source, String spec) {
            if (spec == null || spec.isEmpty()) {
                throw new HoldfastException(ErrorCode.USAGE, "the target database is empty");
            }
            if (spec.contains("=")) {
                ConnInfo c = ConnInfo.parse(spec);
                return new Target(new ConnInfo(c.host(), c.port(), c.user(), MAINTENANCE_DB, c.password(), c.applicationName(),
                        c.hostaddr(), c.passfile(), c.connectTimeout(), c.sslmode()), c.dbname());
            }
            return new Target(ConnInfo.parse(source.conninfo()), spec);
        }

        @Override
        public String toString() {
            return "database '" + database + "' at " + server.endpoint();
        }
    }

    /**
     * How to restore.
     *
     * @param database which database of the dump; may be empty when the dump holds only one
     * @param create   create the target database when it does not exist (else that is an error)
     * @param clean    {@code pg_restore --clean --if-exists}: drop the dump's objects in the target
     *                 before recreating them. Required to restore over the dumped database itself
     * @param noOwner  {@code --no-owner --no-privileges}: objects belong to the restoring user and no
     *                 grants are restored (for a server without the source's roles)
     * @param pgBinDir where {@code pg_restore} is; empty: as for dumps ({@link PostgresSourceConfig#pgBinDir()})
     */
    public record Options(Optional<String> database, boolean create, boolean clean, boolean noOwner, Optional<Path> pgBinDir) {
        public Options {
            Objects.requireNonNull(database, "database");
            Objects.requireNonNull(pgBinDir, "pgBinDir");
        }
    }

    /**
     * What was restored.
     *
     * @param backup         the logical backup
     * @param database       the dumped database
     * @param target         where it went
     * @param bytes          the dump's plaintext size
     * @param createdTarget  whether this restore created the target database
     * @param elapsed        how long it took, checks included
     */
    public record Result(BackupId backup, String database, Target target, long bytes, boolean createdTarget, Duration elapsed) {
    }

    private final Vertx vertx;
    private final Repository repository;
    private final Clock clock;

    public LogicalRestore(Vertx vertx, Repository repository, Clock clock) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.repository = Objects.requireNonNull(repository, "repository");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Restores one database of {@code backup} into {@code target}; see the class comment.
     *
     * @throws HoldfastException {@code usage} (no such database in the dump, several and none
     *         chosen, a missing target without {@code create}); {@code target_not_empty} (the target is
     *         the dumped database and {@code clean} was not given); {@code integrity_failure} (the
     *         dump does not authenticate or does not match the manifest); {@code source_error}
     *         (pg_restore failed: its last stderr lines are quoted); the server's and store's codes
     */
    public Result run(LogicalManifest backup, Target target, Options options) {
        Instant start = clock.instant();
        LogicalManifest.Database db = choose(backup, options.database());
        if (target.database().isEmpty() || target.database().getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 63
                || target.database().chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new HoldfastException(ErrorCode.USAGE, "invalid target database name: expected 1-63 bytes without control characters");
        }
        String what = "database '" + db.name() + "' of backup " + backup.id();
        boolean exists;
        int serverVersionNum;
        try (PgSql sql = PgSql.connect(vertx, target.server(), PgProgram.APPLICATION_NAME, PgSql.DEFAULT_TIMEOUT)) {
            serverVersionNum = Integer.parseInt(sql.value("SELECT current_setting('server_version_num')"));
            Optional<String> systemId = systemId(sql);
            boolean sameCluster = systemId.isEmpty() || systemId.get().equals(backup.systemId());
            if (sameCluster && target.database().equals(db.name()) && !options.clean()) {
                throw new HoldfastException(ErrorCode.TARGET_NOT_EMPTY, "refusing to restore " + what + " over database '" + db.name()
                        + "' of the cluster it was dumped from" + (systemId.isEmpty() ? " (or one whose identity could not be read)" : "")
                        + "; restore into another database, or ask for --clean to overwrite it");
            }
            exists = !sql.query("SELECT 1 FROM pg_database WHERE datname = " + PgSql.literal(target.database())).isEmpty();
        }
        if (!exists && !options.create()) {
            throw new HoldfastException(ErrorCode.USAGE, "target " + target + " does not exist; create it, or ask for it to be created");
        }
        String pgRestore = PgProgram.executable(options.pgBinDir(), serverVersionNum, "pg_restore");
        ObjectKey key = LogicalBackups.layout(backup).object(db.object());

        verify(key, db, what);

        boolean created = false;
        if (!exists) {
            create(target, db, serverVersionNum);
            created = true;
        }
        boolean done = false;
        try {
            restore(pgRestore, key, db, target, options, what);
            done = true;
        } finally {
            if (created && !done) {
                drop(target, serverVersionNum);
            }
        }
        Result r = new Result(backup.id(), db.name(), target, db.bytes(), created, Duration.between(start, clock.instant()));
        LOG.info("restored {} into {} ({} bytes{})", what, target, db.bytes(), created ? ", database created" : "");
        return r;
    }

    private static LogicalManifest.Database choose(LogicalManifest backup, Optional<String> name) {
        if (name.isPresent()) {
            return backup.database(name.get()).orElseThrow(() -> new HoldfastException(ErrorCode.USAGE, "backup " + backup.id()
                    + " has no dump of database '" + name.get() + "'; it has " + backup.databaseNames()));
        }
        if (backup.databases().size() != 1) {
            throw new HoldfastException(ErrorCode.USAGE, "backup " + backup.id() + " holds " + backup.databases().size()
                    + " databases " + backup.databaseNames() + "; choose one");
        }
        return backup.databases().get(0);
    }

    /** The server's system identifier, or empty when this user may not read it. */
    private static Optional<String> systemId(PgSql sql) {
        try {
            return Optional.of(sql.value("SELECT system_identifier FROM pg_control_system()"));
        } catch (HoldfastException e) {
            if (e.code() != ErrorCode.SOURCE_ERROR) {
                throw e;
            }
            LOG.warn("cannot read the target server's system identifier ({}); treating it as the source's own", e.getMessage());
            return Optional.empty();
        }
    }

    /** First pass: the whole object authenticates and matches the manifest's size and SHA-256. Writes nothing. */
    private void verify(ObjectKey key, LogicalManifest.Database db, String what) {
        MessageDigest sha = sha256();
        long n = 0;
        byte[] buf = new byte[1 << 16];
        try (InputStream in = repository.open(key)) {
            int r;
            while ((r = in.read(buf)) >= 0) {
                sha.update(buf, 0, r);
                n += r;
            }
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "reading the dump of " + what + ": " + e.getMessage(), e);
        } catch (HoldfastException e) {
            throw e.code() == ErrorCode.INTEGRITY_FAILURE ? new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "the dump of " + what
                    + " is damaged or was tampered with; nothing was restored: " + e.getMessage(), e) : e;
        }
        checkMatches(n, sha, db, what);
    }

    private static void checkMatches(long n, MessageDigest sha, LogicalManifest.Database db, String what) {
        String hex = HexFormat.of().formatHex(sha.digest());
        if (n != db.bytes() || !hex.equals(db.sha256())) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "the dump of " + what + " does not match its manifest ("
                    + n + " bytes, sha256 " + hex + "; the manifest says " + db.bytes() + " bytes, sha256 " + db.sha256() + ")");
        }
    }

    private void create(Target target, LogicalManifest.Database db, int serverVersionNum) {
        try (PgSql sql = PgSql.connect(vertx, target.server(), PgProgram.APPLICATION_NAME, PgSql.DEFAULT_TIMEOUT)) {
            sql.query("CREATE DATABASE " + PgSql.identifier(target.database()) + " TEMPLATE template0 ENCODING "
                    + PgSql.literal(db.encoding()) + " LC_COLLATE " + PgSql.literal(db.collate()) + " LC_CTYPE " + PgSql.literal(db.ctype()));
        } catch (HoldfastException e) {
            throw new HoldfastException(e.code(), "cannot create target " + target + " (encoding " + db.encoding() + ", locale "
                    + db.collate() + "/" + db.ctype() + "): " + e.getMessage() + "; create it yourself and restore into it", e);
        }
        LOG.info("created target {}", target);
    }

    private void drop(Target target, int serverVersionNum) {
        try (PgSql sql = PgSql.connect(vertx, target.server(), PgProgram.APPLICATION_NAME, PgSql.DEFAULT_TIMEOUT)) {
            sql.query("DROP DATABASE IF EXISTS " + PgSql.identifier(target.database()) + (serverVersionNum >= 130000 ? " WITH (FORCE)" : ""));
            LOG.info("dropped target {} again: the restore into it failed", target);
        } catch (HoldfastException e) {
            LOG.warn("the restore failed and dropping the target {} it had created failed too: {}", target, e.getMessage());
        }
    }

    /** Second pass: the object, authenticated again, into pg_restore's stdin. */
    private void restore(String pgRestore, ObjectKey key, LogicalManifest.Database db, Target target, Options options, String what) {
        List<String> cmd = new ArrayList<>(List.of(pgRestore, "--no-password", "--single-transaction", "--exit-on-error",
                PgProgram.dbnameArgument(target.database())));
        if (options.clean()) {
            cmd.addAll(List.of("--clean", "--if-exists"));
        }
        if (options.noOwner()) {
            cmd.addAll(List.of("--no-owner", "--no-privileges"));
        }
        ConnInfo conn = target.server();
        ProcessBuilder pb = PgProgram.builder(cmd, conn).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        MessageDigest sha = sha256();
        long n = 0;
        byte[] buf = new byte[1 << 16];
        try (InputStream in = repository.open(key)) {
            Process p = PgProgram.start(pb, "pg_restore of " + what);
            PgProgram.StderrTail stderr = new PgProgram.StderrTail(p.getErrorStream(), "pg_restore-stderr");
            OutputStream stdin = p.getOutputStream();
            boolean fed = false;
            try {
                boolean reading = true;
                int r;
                while ((r = in.read(buf)) >= 0) {
                    sha.update(buf, 0, r);
                    n += r;
                    if (reading && !write(stdin, buf, r, p)) {
                        reading = false; // pg_restore stopped reading: its exit status and stderr say why
                        break;
                    }
                }
                if (reading) {
                    // Checked before pg_restore sees the end of its input.
                    checkMatches(n, sha, db, what);
                }
                fed = true;
                closeQuietly(stdin);
                int status = waitFor(p);
                if (status != 0) {
                    throw new HoldfastException(ErrorCode.SOURCE_ERROR, "pg_restore of " + what + " into " + target + " failed (exit status "
                            + status + "); its transaction was rolled back:\n" + stderr.text());
                }
            } finally {
                if (!fed) {
                    // A read that failed authentication, or anything else: kill pg_restore while its input
                    // is still open, so that it can never take an early end for the end of the dump and commit.
                    p.destroyForcibly();
                    waitQuietly(p);
                    closeQuietly(stdin);
                }
            }
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "restoring " + what + ": " + e.getMessage(), e);
        } catch (HoldfastException e) {
            throw e.code() == ErrorCode.INTEGRITY_FAILURE ? new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "the dump of " + what
                    + " failed its checks while being restored; pg_restore was killed before it could commit: " + e.getMessage(), e) : e;
        }
    }

    /** Writes to pg_restore's stdin; false when it closed it (exited or failed). */
    private static boolean write(OutputStream stdin, byte[] buf, int len, Process p) {
        try {
            stdin.write(buf, 0, len);
            return true;
        } catch (IOException e) {
            if (p.isAlive() && !isBrokenPipe(e)) {
                throw new HoldfastException(ErrorCode.IO_ERROR, "writing to pg_restore: " + e.getMessage(), e);
            }
            return false;
        }
    }

    private static void closeQuietly(OutputStream out) {
        try {
            out.close();
        } catch (IOException e) {
            // pg_restore already gone: its exit status says why
        }
    }

    private static boolean isBrokenPipe(IOException e) {
        return e.getMessage() != null && (e.getMessage().contains("Broken pipe") || e.getMessage().contains("Stream closed"));
    }

    private static int waitFor(Process p) {
        try {
            return p.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new HoldfastException(ErrorCode.INTERNAL, "interrupted while pg_restore ran; it was stopped", e);
        }
    }

    private static void waitQuietly(Process p) {
        try {
            p.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
