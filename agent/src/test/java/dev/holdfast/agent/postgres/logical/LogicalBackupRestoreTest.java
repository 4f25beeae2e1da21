package dev.holdfast.agent.postgres.logical;

import dev.holdfast.agent.postgres.PgSql;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.PostgresSourceConfig;
import dev.holdfast.agent.config.WalConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.backup.BackupLayout;
import dev.holdfast.repository.backup.BackupManifests;
import dev.holdfast.repository.backup.BackupType;
import dev.holdfast.repository.backup.LogicalManifest;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.fs.FsObjectStore;
import dev.holdfast.testkit.PgCluster;
import io.vertx.core.Vertx;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Logical dumps against a real PostgreSQL 15: every database dumped into sealed objects, each
 * restored into a fresh database with the same contents; failures of pg_dump, pg_restore and of
 * the dump's integrity leave no manifest, respectively nothing restored.
 */
class LogicalBackupRestoreTest {
    static final String MARKER = "HOLDFAST-PLAINTEXT-MARKER";
    static final String PASSWORD = "dump-secret-7f3a";
    static PgCluster pg;
    static Vertx vertx;

    @TempDir
    Path dir;

    @BeforeAll
    static void startCluster() {
        pg = PgCluster.builder().start();
        vertx = Vertx.vertx();
        pg.createRole("dumper", PASSWORD, false, "scram-sha-256");
        pg.psql("ALTER ROLE dumper SUPERUSER");
        pg.psql("CREATE DATABASE app");
        pg.psql("CREATE DATABASE \"billing db\"");
        pg.psql("CREATE DATABASE closed ALLOW_CONNECTIONS false");
        pg.psql("CREATE DATABASE tmpl IS_TEMPLATE true");
        psql("app", "CREATE SEQUENCE invoice_no START 1000;"
                + "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, photo bytea, price numeric(10,2), added timestamptz);"
                + "INSERT INTO items (name, photo, price, added) SELECT '" + MARKER + "-' || i, decode(md5(i::text), 'hex'), i * 1.25,"
                + " timestamptz '2026-11-23 09:00:00+00' + i * interval '1 minute' FROM generate_series(1, 5000) i;"
                + "SELECT nextval('invoice_no') FROM generate_series(1, 42);"
                + "CREATE TABLE docs (id int PRIMARY KEY, body oid);"
                + "INSERT INTO docs VALUES (1, lo_from_bytea(0, convert_to(repeat('" + MARKER + " large object ', 200), 'UTF8')));"
                + "CREATE VIEW cheap AS SELECT name FROM items WHERE price < 10;");
        psql("billing db", "CREATE TABLE ledger (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, entry jsonb, amount numeric);"
                + "INSERT INTO ledger (entry, amount) SELECT jsonb_build_object('k', i, 'note', 'line ' || i), i FROM generate_series(1, 300) i;");
    }

    @AfterAll
    static void stopCluster() {
        if (vertx != null) {
            PgSql.await(vertx.close(), PgSql.DEFAULT_TIMEOUT);
        }
        if (pg != null) {
            pg.close();
        }
    }

    static String psql(String db, String sql) {
        return pg.run(Duration.ofMinutes(2), PgCluster.BIN.resolve("psql").toString(), "-X", "-v", "ON_ERROR_STOP=1", "-h",
                pg.socketDir().toString(), "-p", Integer.toString(pg.port()), "-U", PgCluster.SUPERUSER, "-d", db, "-A", "-t", "-q",
                "-c", sql).strip();
    }

    /** A digest of everything the test put in {@code app}: rows, the sequence, the large object, the view. */
    static String appFingerprint(String db) {
        return psql(db, "SELECT md5(string_agg(id || '|' || name || '|' || encode(photo, 'hex') || '|' || price || '|' || added, ',' ORDER BY id))"
                + " FROM items") + "/" + psql(db, "SELECT last_value FROM invoice_no") + "/"
                + psql(db, "SELECT md5(lo_get(body)) FROM docs WHERE id = 1") + "/" + psql(db, "SELECT count(*) FROM cheap");
    }

    static String billingFingerprint(String db) {
        return psql(db, "SELECT md5(string_agg(id || '|' || entry::text || '|' || amount, ',' ORDER BY id)) FROM ledger");
    }

    static boolean databaseExists(String name) {
        return pg.psql("SELECT count(*) FROM pg_database WHERE datname = '" + name + "'").equals("1");
    }

    Repository repository() throws Exception {
        Clock clock = Clock.systemUTC();
        SecureRandom random = new SecureRandom();
        KeyFile key = KeyFile.create(dir.resolve("master.key"), clock, random);
        return Repository.init(FsObjectStore.open(dir.resolve("repo"), clock), key, 64 * 1024, 3, "test", clock, random);
    }

    /** The source over TCP with a SCRAM password, so that pg_dump gets it through PGPASSWORD. */
    static PostgresSourceConfig source(List<String> databases, Optional<Path> binDir) {
        return new PostgresSourceConfig("main", pg.dataDir(), pg.conninfo("dumper", PASSWORD), WalConfig.defaults("main"), databases, binDir);
    }

    static Clock at(String instant) {
        return Clock.fixed(Instant.parse(instant), ZoneOffset.UTC);
    }

    static LogicalRestore.Options restoreOptions(String database, boolean create, boolean clean) {
        return new LogicalRestore.Options(Optional.of(database), create, clean, false, Optional.empty());
    }

    /** The restore's target: a database on the source's server, reached over its Unix socket (trust). */
    static LogicalRestore.Target onServer(String database) {
        PostgresSourceConfig local = new PostgresSourceConfig("main", pg.dataDir(), "host=" + pg.socketDir() + " port=" + pg.port()
                + " user=postgres dbname=postgres", WalConfig.defaults("main"));
        return LogicalRestore.Target.parse(local, database);
    }

    List<String> keys(Repository repo, String prefix) {
        return Futures.await(repo.store().listAll(prefix)).stream().map(o -> o.key().value()).toList();
    }

    @Test
    void everyDatabaseIsDumpedSealedAndRestoresIntoAFreshDatabase() throws Exception {
        try (Repository repo = repository()) {
            AtomicLong progress = new AtomicLong();
            List<String> seen = new ArrayList<>();
            LogicalManifest m = new LogicalBackup(vertx, repo, at("2026-11-24T01:00:00Z")).run(source(List.of(), Optional.empty()),
                    Optional.of("nightly"), (db, dbBytes, total) -> {
                        progress.set(total);
                        if (!seen.contains(db)) {
                            seen.add(db);
                        }
                    });
            assertEquals(BackupId.parse("20261124T010000Z-logical"), m.id());
            // Every database that allows connections and is not a template (other tests may have added some).
            assertEquals(List.of(pg.psql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database"
                    + " WHERE datallowconn AND NOT datistemplate").split(",")), m.databaseNames());
            assertTrue(m.databaseNames().containsAll(List.of("app", "billing db", "postgres")), m.databaseNames()::toString);
            assertFalse(m.databaseNames().contains("closed") || m.databaseNames().contains("tmpl")
                    || m.databaseNames().contains("template1"), m.databaseNames()::toString);
            assertEquals(seen, m.databaseNames());
            assertEquals(m.bytes(), progress.get());
            assertEquals(pg.systemIdentifier(), m.systemId());
            assertEquals(Optional.of("nightly"), m.tag());
            assertTrue(m.serverVersionNum() >= 150000);
            assertEquals("UTF8", m.database("app").orElseThrow().encoding());

            BackupLayout layout = new BackupLayout("main", m.systemId(), m.id());
            List<String> expected = new ArrayList<>();
            for (int i = 1; i <= m.databases().size(); i++) {
                expected.add(layout.dump(i).value());
            }
            expected.addAll(List.of(layout.manifest().value(), layout.manifestCopy().value()));
            assertEquals(expected, keys(repo, layout.prefix()));
            byte[] manifest;
            try (InputStream in = repo.open(layout.manifest())) {
                manifest = in.readAllBytes();
            }
            assertEquals(BackupType.LOGICAL, BackupManifests.typeOf(manifest));
            assertEquals(m, LogicalManifest.fromJson(manifest, "manifest"));
            assertEquals(m, LogicalBackups.find(repo, "main", "latest"));
            assertEquals(m, LogicalBackups.find(repo, "main", m.id().toString()));
            assertEquals(List.of(m), LogicalBackups.list(repo, "main"));

            // Sealed: neither the data nor pg_dump's magic nor the manifest's JSON is in any stored byte.
            try (Stream<Path> files = Files.walk(dir.resolve("repo"))) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    String raw = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
                    assertFalse(raw.contains(MARKER) || raw.contains("PGDMP") || raw.contains("billing db"), f + " holds plaintext");
                }
            }

            // pg_restore can read the decrypted dump.
            Path plain = pg.newServerDir("check").resolve("app.dump");
            try (InputStream in = repo.open(layout.dump(1))) {
                Files.copy(in, plain);
            }
            Files.setPosixFilePermissions(plain, PosixFilePermissions.fromString("rw-r--r--"));
            String list = pg.run(Duration.ofMinutes(1), PgCluster.BIN.resolve("pg_restore").toString(), "-l", plain.toString());
            assertTrue(list.contains("TABLE public items") && list.contains("SEQUENCE public invoice_no") && list.contains("BLOB"), list);

            LogicalRestore restore = new LogicalRestore(vertx, repo, Clock.systemUTC());
            LogicalRestore.Result app = restore.run(m, onServer("app_restored"), restoreOptions("app", true, false));
            assertTrue(app.createdTarget());
            assertEquals(m.database("app").orElseThrow().bytes(), app.bytes());
            assertEquals(appFingerprint("app"), appFingerprint("app_restored"));
            LogicalRestore.Result billing = restore.run(m, onServer("billing copy"), restoreOptions("billing db", true, false));
            assertEquals("billing db", billing.database());
            assertEquals(billingFingerprint("billing db"), billingFingerprint("billing copy"));

            // A target given as a conninfo (TCP, password) into an existing empty database.
            pg.psql("CREATE DATABASE app_by_conninfo");
            LogicalRestore.Target byConninfo = LogicalRestore.Target.parse(source(List.of(), Optional.empty()),
                    "host=127.0.0.1 port=" + pg.port() + " user=dumper password=" + PASSWORD + " dbname=app_by_conninfo");
            assertEquals("app_by_conninfo", byConninfo.database());
            assertFalse(byConninfo.toString().contains(PASSWORD) || byConninfo.server().toString().contains(PASSWORD));
            assertFalse(restore.run(m, byConninfo, restoreOptions("app", false, false)).createdTarget());
            assertEquals(appFingerprint("app"), appFingerprint("app_by_conninfo"));

            // Restoring again over the restored copy without --clean: pg_restore fails, and its transaction rolled back.
            psql("app_restored", "INSERT INTO items (name) VALUES ('added after the restore')");
            String before = appFingerprint("app_restored");
            HoldfastException again = assertThrows(HoldfastException.class,
                    () -> restore.run(m, onServer("app_restored"), restoreOptions("app", false, false)));
            assertEquals(ErrorCode.SOURCE_ERROR, again.code());
            assertTrue(again.getMessage().contains("pg_restore") && again.getMessage().contains("already exists"), again.getMessage());
            assertEquals(before, appFingerprint("app_restored"));
            assertTrue(databaseExists("app_restored"), "an existing target is never dropped");
            // ... and with --clean it is replaced by the dump's contents.
            restore.run(m, onServer("app_restored"), restoreOptions("app", false, true));
            assertEquals(appFingerprint("app"), appFingerprint("app_restored"));
        }
    }

    @Test
    void theDumpedDatabaseItselfIsOverwrittenOnlyWithClean() throws Exception {
        try (Repository repo = repository()) {
            pg.psql("CREATE DATABASE scratch");
            psql("scratch", "CREATE TABLE t (v text); INSERT INTO t VALUES ('original')");
            LogicalManifest m = new LogicalBackup(vertx, repo, at("2026-11-24T02:00:00Z")).run(source(List.of("scratch"), Optional.empty()),
                    Optional.empty(), LogicalBackup.Progress.NONE);
            psql("scratch", "UPDATE t SET v = 'changed'");
            LogicalRestore restore = new LogicalRestore(vertx, repo, Clock.systemUTC());
            LogicalRestore.Options noClean = new LogicalRestore.Options(Optional.empty(), false, false, false, Optional.empty());
            HoldfastException e = assertThrows(HoldfastException.class, () -> restore.run(m, onServer("scratch"), noClean));
            assertEquals(ErrorCode.TARGET_NOT_EMPTY, e.code());
            assertTrue(e.getMessage().contains("--clean"), e.getMessage());
            assertEquals("changed", psql("scratch", "SELECT v FROM t"));

            restore.run(m, onServer("scratch"), new LogicalRestore.Options(Optional.empty(), false, true, false, Optional.empty()));
            assertEquals("original", psql("scratch", "SELECT v FROM t"));

            HoldfastException missing = assertThrows(HoldfastException.class, () -> restore.run(m, onServer("nowhere"), noClean));
            assertEquals(ErrorCode.USAGE, missing.code());
            assertFalse(databaseExists("nowhere"));
            HoldfastException noSuchDb = assertThrows(HoldfastException.class,
                    () -> restore.run(m, onServer("x"), restoreOptions("app", true, false)));
            assertEquals(ErrorCode.USAGE, noSuchDb.code());
            assertTrue(noSuchDb.getMessage().contains("[scratch]"), noSuchDb.getMessage());
        }
    }

    @Test
    void aFailingPgDumpLeavesNoManifest() throws Exception {
        try (Repository repo = repository()) {
            LogicalBackup backup = new LogicalBackup(vertx, repo, at("2026-11-24T03:00:00Z"));
            HoldfastException e = assertThrows(HoldfastException.class, () -> backup.run(source(List.of("app", "no_such_db"),
                    Optional.empty()), Optional.empty(), LogicalBackup.Progress.NONE));
            assertEquals(ErrorCode.SOURCE_ERROR, e.code());
            assertTrue(e.getMessage().contains("'no_such_db'") && e.getMessage().contains("does not exist"), e.getMessage());
            assertFalse(e.getMessage().contains(PASSWORD), e.getMessage());
            BackupLayout layout = new BackupLayout("main", pg.systemIdentifier(), BackupId.parse("20261124T030000Z-logical"));
            // The dump taken before the failure stays, unreferenced, for retention; the failed one was never completed.
            assertEquals(List.of(layout.dump(1).value()), keys(repo, layout.prefix()));
            assertEquals(List.of(), LogicalBackups.list(repo, "main"));
            assertEquals(ErrorCode.OBJECT_NOT_FOUND, assertThrows(HoldfastException.class,
                    () -> LogicalBackups.find(repo, "main", "latest")).code());

            // The next backup in the same second steps past the orphan's id.
            LogicalManifest next = backup.run(source(List.of("app"), Optional.empty()), Optional.empty(), LogicalBackup.Progress.NONE);
            assertEquals(BackupId.parse("20261124T030000Z-logical-2"), next.id());
        }
    }

    @Test
    void aPgDumpThatDiesMidStreamStoresNothing() throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path fake = bin.resolve("pg_dump");
        Files.writeString(fake, "#!/bin/sh\nprintf 'PGDMP partial output'\necho 'pg_dump: error: simulated failure' >&2\nexit 3\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (Repository repo = repository()) {
            HoldfastException e = assertThrows(HoldfastException.class, () -> new LogicalBackup(vertx, repo, at("2026-11-24T04:00:00Z"))
                    .run(source(List.of("app"), Optional.of(bin)), Optional.empty(), LogicalBackup.Progress.NONE));
            assertEquals(ErrorCode.SOURCE_ERROR, e.code());
            assertTrue(e.getMessage().contains("exit status 3") && e.getMessage().contains("simulated failure"), e.getMessage());
            assertEquals(List.of(), keys(repo, BackupLayout.ROOT + "/"));

            HoldfastException noBinary = assertThrows(HoldfastException.class, () -> new LogicalBackup(vertx, repo, Clock.systemUTC())
                    .run(source(List.of("app"), Optional.of(dir)), Optional.empty(), LogicalBackup.Progress.NONE));
            assertEquals(ErrorCode.CONFIG_INVALID, noBinary.code());
        }
    }

    @Test
    void aTamperedDumpIsRefusedBeforeAnythingIsRestored() throws Exception {
        try (Repository repo = repository()) {
            LogicalManifest m = new LogicalBackup(vertx, repo, at("2026-11-24T05:00:00Z")).run(source(List.of("app"), Optional.empty()),
                    Optional.empty(), LogicalBackup.Progress.NONE);
            ObjectKey dump = new BackupLayout("main", m.systemId(), m.id()).dump(1);
            Path file = dir.resolve("repo").resolve(dump.value());
            byte[] bytes = Files.readAllBytes(file);
            bytes[bytes.length * 3 / 4] ^= 0x01; // a late segment: an unverified restore would have committed the early ones
            Files.write(file, bytes);

            LogicalRestore restore = new LogicalRestore(vertx, repo, Clock.systemUTC());
            HoldfastException fresh = assertThrows(HoldfastException.class,
                    () -> restore.run(m, onServer("tampered_new"), restoreOptions("app", true, false)));
            assertEquals(ErrorCode.INTEGRITY_FAILURE, fresh.code());
            assertTrue(fresh.getMessage().contains("nothing was restored"), fresh.getMessage());
            assertFalse(databaseExists("tampered_new"), "the target is created only after the dump verified");

            pg.psql("CREATE DATABASE tampered_existing");
            HoldfastException existing = assertThrows(HoldfastException.class,
                    () -> restore.run(m, onServer("tampered_existing"), restoreOptions("app", false, false)));
            assertEquals(ErrorCode.INTEGRITY_FAILURE, existing.code());
            assertEquals("0", psql("tampered_existing", "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"));
        }
    }

    @Test
    void aDumpThatDoesNotMatchItsManifestIsRefused() throws Exception {
        try (Repository repo = repository()) {
            LogicalManifest m = new LogicalBackup(vertx, repo, at("2026-11-24T06:00:00Z")).run(source(List.of("app"), Optional.empty()),
                    Optional.empty(), LogicalBackup.Progress.NONE);
            LogicalManifest.Database d = m.databases().get(0);
            // A manifest whose checksum is not the object's (as if the object had been swapped for another valid dump).
            LogicalManifest other = new LogicalManifest(m.id(), m.tag(), m.source(), m.systemId(), m.serverVersionNum(), m.startedAt(),
                    m.finishedAt(), List.of(new LogicalManifest.Database(d.name(), d.object(), d.bytes(), d.storedBytes(), "0".repeat(64),
                    d.encoding(), d.collate(), d.ctype())));
            HoldfastException e = assertThrows(HoldfastException.class, () -> new LogicalRestore(vertx, repo, Clock.systemUTC())
                    .run(other, onServer("mismatch"), restoreOptions("app", true, false)));
            assertEquals(ErrorCode.INTEGRITY_FAILURE, e.code());
            assertTrue(e.getMessage().contains("does not match its manifest"), e.getMessage());
            assertFalse(databaseExists("mismatch"));
        }
    }
}
