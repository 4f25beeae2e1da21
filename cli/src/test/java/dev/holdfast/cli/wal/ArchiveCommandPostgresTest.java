package dev.holdfast.cli.wal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.cli.Cli;
import dev.holdfast.testkit.PgCluster;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A real PostgreSQL 15 archiving through {@code archive_command = '<launcher> wal-push --config
 * <cfg> %p'} (a JVM per call, as the postgres user), then every archived segment fetched back with
 * {@code wal-fetch}, compared byte for byte with the server's pg_wal, and read by {@code pg_waldump}.
 *
 * <p>The launcher runs this test's class path from a copy readable by the postgres user (the Maven
 * repository under /root is not); bin/holdfast would need the packaged jar, which does not exist
 * yet when tests run.
 */
class ArchiveCommandPostgresTest {
    private Path base;
    private PgCluster pg;

    @AfterEach
    void tearDown() throws IOException {
        if (pg != null) {
            pg.close();
        }
        if (base != null) {
            try (Stream<Path> walk = Files.walk(base)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void postgresqlArchivesThroughWalPushAndEverySegmentComesBackIdentical() throws Exception {
        base = Files.createTempDirectory("holdfast-archive-test-");
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path launcher = launcher(base);
        Path key = base.resolve("master.key");
        assertEquals(0, Cli.run("keys", "init", "--out", key.toString()).status());
        Path repo = base.resolve("repo");
        Path cfg = base.resolve("agent.yaml");
        // The data directory is only known once the cluster exists; the source needs no data_dir
        // for segments (their page headers carry the identity).
        Files.writeString(cfg, "repository:\n  url: " + repo.toUri() + "\n  key_file: " + key + "\n"
                + "sources:\n  - name: main\n    type: postgres\n");
        Cli init = Cli.run("repo", "init", "--config", cfg.toString());
        assertEquals(0, init.status(), init::toString);
        PgCluster.chownToPostgres(base);

        pg = PgCluster.builder()
                .setting("archive_mode = on")
                .setting("archive_command = '" + launcher + " wal-push --config " + cfg + " %p'")
                .start();
        pg.psql("CREATE TABLE t (id int primary key, v text)");
        List<String> switched = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            pg.psql("INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(" + (i * 2000 + 1) + ", " + (i * 2000 + 2000) + ") g");
            switched.add(pg.psql("SELECT pg_walfile_name(pg_current_wal_lsn())"));
            pg.switchWal();
        }
        String last = switched.get(switched.size() - 1);
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        String status = "";
        while (System.nanoTime() < deadline) {
            status = pg.psql("SELECT coalesce(last_archived_wal, '') || ' ' || archived_count || ' ' || failed_count"
                    + " || ' ' || coalesce(last_failed_wal, '') FROM pg_stat_archiver");
            String lastArchived = status.split(" ")[0];
            if (!lastArchived.isEmpty() && lastArchived.compareTo(last) >= 0) {
                break;
            }
            Thread.sleep(200);
        }
        assertTrue(status.split(" ")[0].compareTo(last) >= 0, "archived up to " + last + ": " + status + "\n" + pg.logTail());

        // Everything PostgreSQL marked .done: fetch it back and compare with pg_wal.
        List<String> archived = new ArrayList<>();
        try (Stream<Path> s = Files.list(pg.walDir().resolve("archive_status"))) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".done")).map(n -> n.substring(0, n.length() - 5))
                    .filter(n -> n.length() == 24).sorted().forEach(archived::add);
        }
        assertTrue(archived.containsAll(switched), archived + " covers " + switched);
        Path fetched = Files.createDirectories(base.resolve("fetched"));
        for (String name : archived) {
            Cli fetch = Cli.run("wal-fetch", "--config", cfg.toString(), name, fetched.resolve(name).toString());
            assertEquals(0, fetch.status(), fetch::toString);
            assertArrayEquals(Files.readAllBytes(pg.walDir().resolve(name)), Files.readAllBytes(fetched.resolve(name)), name);
        }
        PgCluster.chownToPostgres(fetched);
        String dump = pg.run(Duration.ofMinutes(2), PgCluster.BIN.resolve("pg_waldump").toString(), "-p", fetched.toString(),
                archived.get(0), archived.get(archived.size() - 1));
        assertTrue(dump.contains("SWITCH"), "pg_waldump read the fetched WAL through the switches");

        // archive_command retried with the same file: fine; a different file under that name: 21, nothing changed.
        String name = switched.get(1);
        Path stored = Files.walk(repo).filter(p -> p.getFileName().toString().equals(name)).findFirst().orElseThrow();
        byte[] storedBefore = Files.readAllBytes(stored);
        Cli again = Cli.run("wal-push", "--config", cfg.toString(), pg.walDir().resolve(name).toString());
        assertEquals(0, again.status(), again::toString);
        Path other = Files.createDirectories(base.resolve("other/pg_wal")).resolve(name);
        byte[] changed = Files.readAllBytes(pg.walDir().resolve(name));
        changed[changed.length / 2] ^= 0x01;
        Files.write(other, changed);
        Cli conflict = Cli.run("wal-push", "--config", cfg.toString(), other.toString());
        assertEquals(21, conflict.status(), conflict::toString);
        assertArrayEquals(storedBefore, Files.readAllBytes(stored), "the stored object is unchanged");

        Cli list = Cli.run("list", "--config", cfg.toString(), "--json");
        assertEquals(0, list.status(), list::toString);
        assertTrue(list.out().contains(pg.systemIdentifier()), list::toString);
        assertTrue(list.out().contains("\"gaps\" : [ ]"), list::toString);
    }

    /** A launcher script running the CLI from a postgres-readable copy of this test's class path. */
    private static Path launcher(Path base) throws IOException {
        Path lib = Files.createDirectories(base.resolve("lib"));
        List<String> cp = new ArrayList<>();
        int i = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path src = Path.of(entry);
            if (!Files.exists(src)) {
                continue;
            }
            Path dst = lib.resolve((i++) + "-" + src.getFileName());
            if (Files.isDirectory(src)) {
                try (Stream<Path> walk = Files.walk(src)) {
                    for (Path p : (Iterable<Path>) walk::iterator) {
                        Path t = dst.resolve(src.relativize(p).toString());
                        if (Files.isDirectory(p)) {
                            Files.createDirectories(t);
                        } else {
                            Files.copy(p, t, StandardCopyOption.REPLACE_EXISTING);
                        }
                    }
                }
            } else {
                Files.copy(src, dst);
            }
            cp.add(dst.toString());
        }
        Path script = base.resolve("holdfast");
        Files.writeString(script, "#!/bin/sh\nexec " + Path.of(System.getProperty("java.home"), "bin", "java")
                + " -Xmx256m -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp '"
                + String.join(File.pathSeparator, cp) + "' dev.holdfast.cli.Main \"$@\"\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }
}
