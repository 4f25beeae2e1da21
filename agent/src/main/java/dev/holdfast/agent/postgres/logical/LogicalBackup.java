package dev.holdfast.agent.postgres.logical;

import dev.holdfast.agent.postgres.PgSql;
import dev.holdfast.agent.config.PostgresSourceConfig;
import dev.holdfast.agent.postgres.replication.ConnInfo;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.backup.BackupLayout;
import dev.holdfast.repository.backup.BackupType;
import dev.holdfast.repository.backup.LogicalManifest;
import dev.holdfast.repository.seal.Footer;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.StoreException;
import io.vertx.core.Vertx;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes a logical dump of a PostgreSQL source: {@code pg_dump --format=custom --compress=0} of each database,
 * each streamed straight from {@code pg_dump}'s stdout into a sealed object (never a local file),
 * then the manifest (docs/format.md section 12.1, docs/postgresql.md "Logical dumps").
 *
 * <h2>Completeness and failure</h2>
 * A dump object becomes visible only if {@code pg_dump} exited 0: its exit status is checked when
 * its output ends, before the upload completes, so a failed or killed {@code pg_dump} leaves no
 * object of its own. Any failure fails the whole backup with no manifest written; dumps of
 * databases taken earlier in the same run stay in the repository unreferenced (orphans, removed by
 * retention). The manifest is written last, create-if-absent, then {@code manifest.copy}: a logical
 * backup is complete exactly when its {@code manifest} exists.
 *
 * <h2>Consistency</h2>
 * Each database's dump is one consistent snapshot ({@code pg_dump}'s own transaction); dumps of
 * different databases are taken one after the other, not at one instant. Roles and tablespaces
 * (global objects, {@code pg_dumpall --globals-only}) are not part of a logical dump.
 *
 * <p>Blocking: call from the CLI's thread or a worker, never from an event loop.
 */
public final class LogicalBackup {
    private static final Logger LOG = LoggerFactory.getLogger(LogicalBackup.class);
    private static final String DATABASES_SQL = "SELECT datname, pg_encoding_to_char(encoding), datcollate, datctype, "
            + "datallowconn AND NOT datistemplate FROM pg_database ORDER BY datname";

    /** Told how far the dump has come; called often (every read of {@code pg_dump}'s output), so keep it cheap. */
    @FunctionalInterface
    public interface Progress {
        Progress NONE = (database, databaseBytes, totalBytes) -> { };

        /**
         * @param database      the database being dumped
         * @param databaseBytes plaintext bytes of its dump so far
         * @param totalBytes    plaintext bytes of every dump of this backup so far
         */
        void dumped(String database, long databaseBytes, long totalBytes);
    }

    private volatile dev.holdfast.repository.store.PutOptions putOptions = dev.holdfast.repository.store.PutOptions.DEFAULT;
    private final Vertx vertx;
    private final Repository repository;
    private final Clock clock;

    /**
     * @param vertx      for the catalog queries' connection (its event loop is not blocked)
     * @param repository where the dumps go
     * @param clock      the backup's start and finish times and its id
     */
    public LogicalBackup(Vertx vertx, Repository repository, Clock clock) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.repository = Objects.requireNonNull(repository, "repository");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Dumps the source's databases ({@link PostgresSourceConfig#databases()}, or every database that
     * allows connections and is not a template) and writes the manifest.
     *
     * @param source   the source; its conninfo is used for the catalog queries and, with its dbname
     *                 replaced, for each {@code pg_dump}
     * @param tag      the operator's label, or empty
     * @param progress told the bytes dumped so far
     * @return the manifest written
     * @throws HoldfastException {@code source_error} naming the database and quoting {@code pg_dump}'s
     *         last stderr lines when it fails; {@code config_invalid} when {@code pg_dump} cannot be
     *         run; the source's and the store's own codes otherwise. No manifest exists then.
     */
    /**
     * Writes the dumps and manifests with {@code options} (the Object Lock of the backup's GFS slot,
     * docs/retention.md) instead of the store's defaults.
     */
    public LogicalBackup putOptions(dev.holdfast.repository.store.PutOptions options) {
        this.putOptions = java.util.Objects.requireNonNull(options, "options");
        return this;
    }

    public LogicalManifest run(PostgresSourceConfig source, Optional<String> tag, Progress progress) {
        Objects.requireNonNull(progress, "progress");
        ConnInfo conn = ConnInfo.parse(source.conninfo());
        Instant startedAt = clock.instant();
        String systemId;
        int serverVersionNum;
        Map<String, List<String>> catalog = new LinkedHashMap<>();
        try (PgSql sql = PgSql.connect(vertx, conn, PgProgram.APPLICATION_NAME, PgSql.DEFAULT_TIMEOUT)) {
            systemId = sql.value("SELECT system_identifier FROM pg_control_system()");
            serverVersionNum = Integer.parseInt(sql.value("SELECT current_setting('server_version_num')"));
            for (List<String> row : sql.query(DATABASES_SQL)) {
                catalog.put(row.get(0), row);
            }
        }
        List<String> names = !source.databases().isEmpty() ? source.databases()
                : catalog.values().stream().filter(r -> "t".equals(r.get(4))).map(r -> r.get(0)).toList();
        if (names.isEmpty()) {
            throw new HoldfastException(ErrorCode.SOURCE_ERROR, "source '" + source.name() + "': the server at " + conn.endpoint()
                    + " has no database to dump (none allows connections but templates)");
        }
        String pgDump = PgProgram.executable(source.pgBinDir(), serverVersionNum, "pg_dump");
        BackupId id = freeId(source.name(), systemId, BackupId.of(startedAt, BackupType.LOGICAL));
        BackupLayout layout = new BackupLayout(source.name(), systemId, id);
        LOG.info("logical backup {} of source {}: dumping {} database(s) with {}", id, source.name(), names.size(), pgDump);

        List<LogicalManifest.Database> dumps = new ArrayList<>();
        long[] total = {0};
        for (int i = 0; i < names.size(); i++) {
            String db = names.get(i);
            LogicalManifest.checkDatabaseName(id, db);
            ObjectKey key = layout.dump(i + 1);
            Footer footer = dump(pgDump, conn, db, key, (n, delta) -> {
                total[0] += delta;
                progress.dumped(db, n, total[0]);
            });
            long stored = Futures.await(repository.store().head(key)).orElseThrow(() -> StoreException.notFound(key)).size();
            // A configured database missing from the catalog made pg_dump fail above, unless it was created meanwhile.
            List<String> row = catalog.containsKey(db) ? catalog.get(db) : describe(conn, db);
            dumps.add(new LogicalManifest.Database(db, BackupLayout.dumpName(i + 1), footer.plaintextLength(), stored,
                    footer.sha256Hex().orElseThrow(), row.get(1), row.get(2), row.get(3)));
            LOG.info("logical backup {}: database {} dumped, {} bytes ({} stored)", id, db, footer.plaintextLength(), stored);
        }
        LogicalManifest manifest = new LogicalManifest(id, tag, source.name(), systemId, serverVersionNum, startedAt, clock.instant(), dumps);
        byte[] json = manifest.toJson();
        put(layout.manifest(), json);
        put(layout.manifestCopy(), json);
        LOG.info("logical backup {} of source {} complete: {} database(s), {} bytes ({} stored)", id, source.name(), dumps.size(),
                manifest.bytes(), manifest.storedBytes());
        return manifest;
    }

    /** The catalog row of one database, read again (it was created after the backup started). */
    private List<String> describe(ConnInfo conn, String db) {
        try (PgSql sql = PgSql.connect(vertx, conn, PgProgram.APPLICATION_NAME, PgSql.DEFAULT_TIMEOUT)) {
            for (List<String> row : sql.query(DATABASES_SQL)) {
                if (row.get(0).equals(db)) {
                    return row;
                }
            }
        }
        throw new HoldfastException(ErrorCode.SOURCE_ERROR, "database '" + db + "' was dropped while it was being dumped");
    }

    /** The first id from {@code id} on with nothing stored under it (another backup may have started in the same second). */
    private BackupId freeId(String source, String systemId, BackupId id) {
        while (!Futures.await(repository.store().list(new BackupLayout(source, systemId, id).prefix(), Optional.empty(), 1))
                .objects().isEmpty()) {
            id = id.next();
        }
        return id;
    }

    private void put(ObjectKey key, byte[] bytes) {
        try {
            repository.put(key, new ByteArrayInputStream(bytes), true, putOptions);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs {@code pg_dump} of {@code db} into the sealed object {@code key}; see the class comment for failure. */
    private Footer dump(String pgDump, ConnInfo conn, String db, ObjectKey key, Counter counter) {
        // --compress=0: the sealed object is compressed with zstd already; pg_dump's zlib would only cost CPU.
        ProcessBuilder pb = PgProgram.builder(List.of(pgDump, "--format=custom", "--compress=0", "--no-password",
                PgProgram.dbnameArgument(db)), conn);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p = PgProgram.start(pb, "pg_dump of database '" + db + "'");
        PgProgram.StderrTail stderr = new PgProgram.StderrTail(p.getErrorStream(), "pg_dump-stderr");
        try (InputStream out = new ExitCheckedStream(p, db, stderr, counter)) {
            return repository.put(key, out, true, putOptions);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "logical dump of database '" + db + "': " + e.getMessage(), e);
        } finally {
            if (p.isAlive()) {
                // The upload failed (store, interrupt): stop pg_dump rather than leave it writing to a closed pipe.
                p.destroyForcibly();
            }
        }
    }

    @FunctionalInterface
    private interface Counter {
        void add(long databaseBytes, long delta);
    }

    /**
     * {@code pg_dump}'s stdout, counted; at its end the exit status is checked before end of stream
     * is reported, so that {@link Repository#put} completes the object only for a successful dump
     * and aborts it (nothing visible) otherwise.
     */
    private static final class ExitCheckedStream extends InputStream {
        private final Process process;
        private final InputStream in;
        private final String db;
        private final PgProgram.StderrTail stderr;
        private final Counter counter;
        private long bytes;

        ExitCheckedStream(Process process, String db, PgProgram.StderrTail stderr, Counter counter) {
            this.process = process;
            this.in = process.getInputStream();
            this.db = db;
            this.stderr = stderr;
            this.counter = counter;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n < 0) {
                checkExit();
                return -1;
            }
            bytes += n;
            counter.add(bytes, n);
            return n;
        }

        private void checkExit() throws IOException {
            int status;
            try {
                if (!process.waitFor(5, TimeUnit.MINUTES)) {
                    process.destroyForcibly();
                    throw new HoldfastException(ErrorCode.SOURCE_ERROR, "pg_dump of database '" + db
                            + "' closed its output but did not exit; killed it");
                }
                status = process.exitValue();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for pg_dump", e);
            }
            if (status != 0) {
                throw new HoldfastException(ErrorCode.SOURCE_ERROR, "pg_dump of database '" + db + "' failed (exit status " + status
                        + "); no manifest was written:\n" + stderr.text());
            }
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
