package dev.holdfast.cli;

import static dev.holdfast.cli.WalFaultsProcessTest.BIN;
import static dev.holdfast.cli.WalFaultsProcessTest.read;
import static dev.holdfast.cli.WalFaultsProcessTest.run;
import static dev.holdfast.cli.WalFaultsProcessTest.tail;
import static dev.holdfast.cli.WalFaultsProcessTest.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.testkit.PgCluster;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Base backups and point-in-time restore against a real PostgreSQL 15 under pgbench load, with
 * the agent a real process shipping WAL in stream mode, and PostgreSQL's own tools as the judges:
 * {@code pg_verifybackup} on every restored directory before it starts, the restored server
 * recovering to each kind of target (time, LSN, xid, restore point) with marker rows present or
 * absent exactly as the target implies, pgbench's ledger invariant, and {@code pg_amcheck}.
 */
class BackupRestoreProcessTest {
    private static final String PASSWORD = "backup-pw-7d1";
    private static final ObjectMapper JSON = new ObjectMapper();

    Path dir;
    final List<Process> processes = new ArrayList<>();
    final List<PgCluster> restored = new ArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        // What bin/holdfast sets: the restore_command points at this checkout's hook.
        System.setProperty("holdfast.home", BIN.getParent().toString());
        dir = Files.createTempDirectory("holdfast-backup-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @AfterEach
    void tearDown() throws Exception {
        restored.forEach(PgCluster::close);
        for (Process p : processes) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private Path config(PgCluster pg) throws IOException {
        Cli key = Cli.run("keys", "init", "--out", dir.resolve("master.key").toString());
        assertEquals(0, key.status(), key::toString);
        Path restoreRoot = Files.createDirectories(dir.resolve("restore"));
        Files.setPosixFilePermissions(restoreRoot, PosixFilePermissions.fromString("rwxr-xr-x"));
        String y = "host: backups\nrepository:\n  url: " + dir.resolve("repo").toUri() + "\n  key_file: " + dir.resolve("master.key") + "\n"
                + "control_socket: " + dir.resolve("run/agent.sock") + "\ncontrol_socket_group: postgres\n"
                + "metrics:\n  listen: 127.0.0.1:" + WalFaultsProcessTest.freePort() + "\n"
                + "sources:\n  - name: main\n    type: postgres\n    data_dir: " + pg.dataDir() + "\n"
                + "    conninfo: \"" + pg.conninfo("holdfast", PASSWORD) + "\"\n"
                + "    wal:\n      mode: stream\n      partial_interval: 200ms\n"
                + "restore:\n  allowed_targets: [" + restoreRoot + "]\n";
        Path cfg = dir.resolve("agent.yaml");
        Files.writeString(cfg, y);
        Cli init = Cli.run("repo", "init", "--config", cfg.toString());
        assertEquals(0, init.status(), init::toString);
        Files.createDirectories(dir.resolve("run"));
        Files.setPosixFilePermissions(dir.resolve("run"), PosixFilePermissions.fromString("rwxr-xr-x"));
        return cfg;
    }

    private void startAgent(Path cfg) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(BIN.resolve("holdfast").toString(), "agent", "run", "--config", cfg.toString())
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("agent.log").toFile()))
                .redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve("agent.err").toFile()));
        pb.environment().put("HOLDFAST_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("HOLDFAST_JAVA_OPTS", "-Xmx256m");
        pb.environment().remove("JOURNAL_STREAM");
        Process p = pb.start();
        processes.add(p);
        Path socket = dir.resolve("run/agent.sock");
        waitFor("the agent to listen", Duration.ofSeconds(90), () -> {
            if (!p.isAlive()) {
                throw new AssertionError("the agent exited: " + read(dir.resolve("agent.err")) + read(dir.resolve("agent.log")));
            }
            return Files.exists(socket) && run(List.of("curl", "-s", "-o", "/dev/null", "--unix-socket", socket.toString(),
                    "http://localhost/v1/status")) == 0;
        });
    }

    private JsonNode backup(Path cfg, String type) throws IOException {
        Cli b = Cli.run("backup", "--config", cfg.toString(), "--source", "main", "--type", type, "--json", "--wal-timeout", "120");
        assertEquals(0, b.status(), () -> b + "\n--- agent log\n" + tail(dir.resolve("agent.log")));
        return JSON.readTree(b.out());
    }

    private Cli restore(Path cfg, Path target, String... more) {
        List<String> args = new ArrayList<>(List.of("restore", "--config", cfg.toString(), "--source", "main", "--target", target.toString()));
        args.addAll(List.of(more));
        return Cli.run(args.toArray(String[]::new));
    }

    /** The WAL is durable in the repository up to the server's current flush position. */
    private void waitDurable(PgCluster pg, Path cfg) throws Exception {
        Lsn target = Lsn.parse(pg.psql("SELECT pg_current_wal_flush_lsn()"));
        waitFor("WAL durable to " + target, Duration.ofSeconds(90), () -> {
            Cli list = Cli.run("list", "--config", cfg.toString(), "--source", "main", "--json");
            try {
                for (JsonNode s : JSON.readTree(list.out()).path("sources")) {
                    JsonNode w = s.path("wal");
                    if ("main".equals(s.path("name").asText()) && w.has("last_durable_lsn")) {
                        return Lsn.parse(w.path("last_durable_lsn").asText()).compareTo(target) >= 0;
                    }
                }
                return false;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** pg_verifybackup over a restored directory (before it is started). */
    private void verifyBackup(Path data) throws Exception {
        Path out = dir.resolve("verifybackup.out");
        int rc = run(List.of(PgCluster.BIN.resolve("pg_verifybackup").toString(), data.toString()), out);
        assertEquals(0, rc, () -> "pg_verifybackup " + data + ":\n" + read(out));
    }

    /** Starts the restored directory and waits until recovery ended and it accepts writes. */
    private PgCluster start(Path data) throws Exception {
        PgCluster pg;
        try {
            pg = PgCluster.startOn(data);
        } catch (RuntimeException e) {
            Path log = Files.list(Path.of(System.getProperty("java.io.tmpdir"))).filter(p -> p.getFileName().toString().startsWith("holdfast-pg-restored-"))
                    .map(p -> p.resolve("server.log")).filter(Files::exists).reduce((a, b) -> b).orElse(null);
            throw new AssertionError("the restored server did not start: " + e.getMessage() + (log == null ? "" : "\n" + tail(log)), e);
        }
        restored.add(pg);
        waitFor("recovery of " + data + " to end", Duration.ofSeconds(120), () -> pg.psql("SELECT pg_is_in_recovery()").equals("f"));
        return pg;
    }

    private static List<String> markers(PgCluster pg) {
        String s = pg.psql("SELECT coalesce(string_agg(note, ',' ORDER BY id), '') FROM markers");
        return s.isEmpty() ? List.of() : List.of(s.split(","));
    }

    private static void assertLedger(PgCluster pg) {
        String sums = pg.psql("SELECT (SELECT sum(abalance) FROM pgbench_accounts) || ',' || (SELECT sum(tbalance) FROM pgbench_tellers)"
                + " || ',' || (SELECT sum(bbalance) FROM pgbench_branches) || ',' || (SELECT coalesce(sum(delta), 0) FROM pgbench_history)");
        String[] v = sums.split(",");
        assertTrue(v[0].equals(v[1]) && v[1].equals(v[2]) && v[2].equals(v[3]), "pgbench's ledger invariant: " + sums);
    }

    private static void amcheck(PgCluster pg) {
        pg.run(Duration.ofMinutes(3), PgCluster.BIN.resolve("pg_amcheck").toString(), "-h", pg.socketDir().toString(), "-p",
                Integer.toString(pg.port()), "-U", PgCluster.SUPERUSER, "--install-missing", "--heapallindexed", "postgres");
    }

    private static String utcNow(PgCluster pg) {
        return pg.psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
    }

    @Test
    void pointInTimeRestoresUnderLoadRecoverExactlyToEachTarget() throws Exception {
        try (PgCluster pg = PgCluster.builder().setting("wal_keep_size = 512MB").start()) {
            pg.createRole("holdfast", PASSWORD, true, "scram-sha-256");
            pg.psql("GRANT pg_read_all_settings TO holdfast; GRANT EXECUTE ON FUNCTION pg_backup_start(text, boolean) TO holdfast;"
                    + " GRANT EXECUTE ON FUNCTION pg_backup_stop(boolean) TO holdfast");
            pg.pgbenchInit(2);
            pg.psql("CREATE TABLE markers (id serial PRIMARY KEY, note text NOT NULL, at timestamptz DEFAULT clock_timestamp())");
            Path cfg = config(pg);
            startAgent(cfg);
            Process bench = pg.pgbench("-n", "-c", "3", "-j", "2", "-T", "45");
            pg.psql("INSERT INTO markers (note) VALUES ('before-backup')");
            // Packs of 1 MiB: the relation files above that (pgbench_accounts) are packs of their
            // own, the rest packed together; the restores below read both kinds.
            Cli b = Cli.run("backup", "--config", cfg.toString(), "--source", "main", "--json", "--pack-size", "1", "--wal-timeout", "120");
            assertEquals(0, b.status(), () -> b + "\n--- agent log\n" + tail(dir.resolve("agent.log")));
            JsonNode full = JSON.readTree(b.out());
            assertEquals("full", full.path("type").asText());
            assertTrue(full.path("files").asInt() > 100, full.toString());

            pg.psql("INSERT INTO markers (note) VALUES ('m1')");
            Thread.sleep(1100);
            String t1 = utcNow(pg);
            Thread.sleep(1100);
            pg.psql("INSERT INTO markers (note) VALUES ('m2')");
            String l1 = pg.psql("SELECT pg_current_wal_insert_lsn()");
            pg.psql("INSERT INTO markers (note) VALUES ('m3')");
            String x1 = pg.psql("INSERT INTO markers (note) VALUES ('m4') RETURNING txid_current()");
            pg.psql("INSERT INTO markers (note) VALUES ('m5')");
            pg.psql("SELECT pg_create_restore_point('rp1')");
            pg.psql("INSERT INTO markers (note) VALUES ('m6')");
            assertTrue(bench.waitFor(3, TimeUnit.MINUTES), "pgbench finished");
            assertEquals(0, bench.exitValue(), () -> read(pg.baseDir().resolve("pgbench.log")));
            pg.switchWal();
            waitDurable(pg, cfg);

            // Dry run: the plan, and nothing written.
            Path dry = dir.resolve("restore/dry");
            Cli plan = restore(cfg, dry, "--to-time", t1, "--dry-run");
            assertEquals(0, plan.status(), plan::toString);
            assertTrue(plan.out().contains(full.path("id").asText()) && plan.out().contains("recovery_target_time"), plan.out());
            assertFalse(Files.exists(dry), "a dry run writes nothing");

            record Case(String name, String[] args, List<String> expected) {
            }
            List<Case> cases = List.of(
                    new Case("time", new String[] {"--to-time", t1}, List.of("before-backup", "m1")),
                    new Case("lsn", new String[] {"--to-lsn", l1}, List.of("before-backup", "m1", "m2")),
                    new Case("xid", new String[] {"--to-xid", x1}, List.of("before-backup", "m1", "m2", "m3", "m4")),
                    new Case("name", new String[] {"--to-name", "rp1"}, List.of("before-backup", "m1", "m2", "m3", "m4", "m5")),
                    new Case("latest", new String[0], List.of("before-backup", "m1", "m2", "m3", "m4", "m5", "m6")));
            for (Case c : cases) {
                Path target = dir.resolve("restore/" + c.name());
                Cli r = restore(cfg, target, c.args());
                assertEquals(0, r.status(), () -> c.name() + ": " + r);
                verifyBackup(target);
                PgCluster back = start(target);
                assertEquals(c.expected(), markers(back), "markers after a restore to " + c.name());
                assertLedger(back);
                back.psql("INSERT INTO markers (note) VALUES ('writable')");
                if (c.name().equals("latest")) {
                    amcheck(back);
                }
                back.close();
                restored.remove(back);
            }
        }
    }

    @Test
    void aDrillRestoresRecoversChecksMeasuresAndThrowsAwayTheLatestBackup() throws Exception {
        try (PgCluster pg = PgCluster.builder().setting("wal_keep_size = 512MB").start()) {
            pg.createRole("holdfast", PASSWORD, true, "scram-sha-256");
            pg.psql("GRANT pg_read_all_settings TO holdfast; GRANT EXECUTE ON FUNCTION pg_backup_start(text, boolean) TO holdfast;"
                    + " GRANT EXECUTE ON FUNCTION pg_backup_stop(boolean) TO holdfast");
            pg.pgbenchInit(1);
            pg.psql("CREATE TABLE markers (id serial PRIMARY KEY, note text NOT NULL, at timestamptz DEFAULT clock_timestamp())");
            Path cfg = config(pg);
            startAgent(cfg);
            backup(cfg, "full");
            pg.psql("INSERT INTO markers (note) VALUES ('after-backup')");
            pg.switchWal();
            waitDurable(pg, cfg);

            Path scratch = dir.resolve("restore/holdfast-drill-main");
            Cli drill = Cli.run("drill", "--config", cfg.toString(), "--source", "main", "--json");
            assertEquals(0, drill.status(), () -> drill + "\n--- agent log\n" + tail(dir.resolve("agent.log")));
            JsonNode r = JSON.readTree(drill.out());
            assertTrue(r.path("ok").asBoolean(), r.toString());
            List<String> names = new ArrayList<>();
            r.path("checks").forEach(c -> names.add(c.path("name").asText()));
            assertEquals(List.of("restore", "recovery", "databases", "amcheck"), names, r.toString());
            assertTrue(r.path("rto_seconds").asDouble() > 0, r.toString());
            // The copy recovered the marker written after the backup: its commit is the newest it replayed,
            // so the RPO is the time from that commit to the drill's start.
            Instant marker = Instant.parse(pg.psql("SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM markers"));
            Instant restoredTo = Instant.parse(r.path("restored_to").asText());
            assertFalse(restoredTo.isBefore(marker), "recovered up to the marker's commit: " + r);
            assertTrue(r.path("rpo_seconds").asDouble() >= 0, r.toString());
            assertTrue(r.path("checks").get(2).path("detail").asText().contains("accepts writes"), r.toString());
            assertFalse(Files.exists(scratch), "the scratch directory is deleted after the drill");
            assertFalse(pgProcessOn(scratch), "no server is left running on the scratch copy");

            // A directory that is not a drill's is never cleared; a scratch outside the allowlist is refused.
            Path foreign = Files.createDirectories(dir.resolve("restore/not-a-drill"));
            Files.writeString(foreign.resolve("precious.txt"), "keep me");
            Cli refused = Cli.run("drill", "--config", cfg.toString(), "--source", "main", "--scratch", foreign.toString());
            assertEquals(51, refused.status(), refused::toString);
            assertEquals("keep me", Files.readString(foreign.resolve("precious.txt")));
            Cli outside = Cli.run("drill", "--config", cfg.toString(), "--source", "main", "--scratch", dir.resolve("elsewhere").toString());
            assertEquals(50, outside.status(), outside::toString);
            assertFalse(Files.exists(dir.resolve("elsewhere")));

            // With --keep the stopped copy stays for a look, marked as a drill's, and the next drill clears it.
            Cli kept = Cli.run("drill", "--config", cfg.toString(), "--source", "main", "--keep", "--no-amcheck");
            assertEquals(0, kept.status(), kept::toString);
            assertTrue(kept.out().contains("PASSED") && kept.out().contains("RTO ") && kept.out().contains("RPO "), kept.out());
            assertTrue(Files.exists(scratch.resolve("data/PG_VERSION")) && Files.exists(scratch.resolve(".holdfast-drill")));
            assertFalse(pgProcessOn(scratch));
            Cli again = Cli.run("drill", "--config", cfg.toString(), "--source", "main", "--no-amcheck");
            assertEquals(0, again.status(), again::toString);
            assertFalse(Files.exists(scratch));
        }
    }

    /** Whether a postgres process runs with its data directory under {@code dir}. */
    private static boolean pgProcessOn(Path dir) throws IOException {
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(x -> x.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String cmd = Files.readString(p.resolve("cmdline")).replace('\0', ' ');
                    if (cmd.contains("postgres") && cmd.contains(dir.toString())) {
                        return true;
                    }
                } catch (IOException e) {
                    // the process ended while we looked
                }
            }
        }
        return false;
    }

    @Test
    void anIncrementalChainRestoresLikeAFullBackupAndRefusalsWriteNothing() throws Exception {
        try (PgCluster pg = PgCluster.builder().setting("wal_keep_size = 512MB").start()) {
            pg.createRole("holdfast", PASSWORD, true, "scram-sha-256");
            pg.psql("ALTER ROLE holdfast SUPERUSER");
            pg.pgbenchInit(2);
            Path cfg = config(pg);
            // No agent yet: the WAL never reaches the repository, so the backup stays incomplete.
            Cli early = Cli.run("backup", "--config", cfg.toString(), "--source", "main", "--wal-timeout", "2", "--json");
            assertEquals(35, early.status(), early::toString);
            assertTrue(early.err().contains("wal_timeout") && early.out().isEmpty(), early.toString());
            JsonNode earlyList = JSON.readTree(Cli.run("list", "--config", cfg.toString(), "--json").out());
            assertEquals(1, earlyList.findValues("backups").stream().mapToInt(JsonNode::size).sum(), earlyList.toString());
            assertFalse(earlyList.findValues("backups").get(0).get(0).path("complete").asBoolean(), "listed as incomplete: " + earlyList);
            startAgent(cfg);
            JsonNode full = backup(cfg, "full");
            assertEquals("full", full.path("type").asText(), "the next run starts clean under a new id");
            Process bench = pg.pgbench("-n", "-c", "2", "-j", "2", "-t", "300");
            assertTrue(bench.waitFor(3, TimeUnit.MINUTES), "pgbench finished");
            pg.psql("CREATE TABLE later AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
            Thread.sleep(1500); // unchanged files must be older than the parent's start by a second to be reused
            JsonNode incr1 = backup(cfg, "incr");
            assertEquals("incr", incr1.path("type").asText());
            assertEquals(full.path("id").asText(), incr1.path("parent").asText());
            pg.psql("UPDATE pgbench_branches SET bbalance = bbalance");
            JsonNode incr2 = backup(cfg, "incr");
            assertEquals(incr1.path("id").asText(), incr2.path("parent").asText());
            assertTrue(incr2.path("bytes_copied").asLong() < full.path("bytes").asLong() / 4,
                    "the incremental copies only what changed: " + incr2 + " vs " + full);
            JsonNode same = backup(cfg, "full");
            pg.switchWal();
            waitDurable(pg, cfg);

            // verify reads what the writer wrote: every pack, every checksum, the WAL of every backup.
            Cli verified = Cli.run("verify", "--config", cfg.toString(), "--source", "main", "--read-data", "--json");
            assertEquals(0, verified.status(), verified::toString);
            JsonNode report = JSON.readTree(verified.out());
            List<JsonNode> complete = new ArrayList<>();
            report.path("backups").forEach(one -> {
                if (one.path("complete").asBoolean()) {
                    complete.add(one);
                }
            });
            assertEquals(4, complete.size(), verified::toString);
            assertEquals(5, report.path("backups").size(), "and the incomplete one: " + verified);
            for (JsonNode one : complete) {
                assertTrue(one.path("restorable").asBoolean() && one.path("packs").asInt() == one.path("packs_read").asInt(),
                        verified::toString);
            }
            assertEquals(3, complete.get(2).path("chain").size(), "incr2 needs incr1 and the full");
            Cli listed = Cli.run("list", "--config", cfg.toString(), "--source", "main", "--json");
            JsonNode window = JSON.readTree(listed.out()).path("sources").get(0).path("pitr_window");
            assertEquals(full.path("id").asText(), window.path("from_backup").asText(), listed::toString);

            Path a = dir.resolve("restore/chain");
            Path b = dir.resolve("restore/full");
            Cli ra = restore(cfg, a, "--backup", incr2.path("id").asText(), "--immediate");
            assertEquals(0, ra.status(), ra::toString);
            assertTrue(ra.out().contains("chain"), ra.out());
            Cli rb = restore(cfg, b, "--backup", same.path("id").asText(), "--immediate", "--verify-sha256");
            assertEquals(0, rb.status(), rb::toString);
            verifyBackup(a);
            verifyBackup(b);
            assertEquals(relationFiles(a), relationFiles(b), "the same files");
            PgCluster ca = start(a);
            PgCluster cb = start(b);
            String digest = "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (SELECT * FROM pgbench_accounts) t";
            assertEquals(cb.psql(digest), ca.psql(digest));
            assertEquals(cb.psql("SELECT md5(string_agg(v, '' ORDER BY id)) FROM later"), ca.psql("SELECT md5(string_agg(v, '' ORDER BY id)) FROM later"));
            assertEquals(cb.psql("SELECT sum(bbalance) FROM pgbench_branches"), ca.psql("SELECT sum(bbalance) FROM pgbench_branches"));
            assertLedger(ca);

            // Refusals: nothing written anywhere.
            Path outside = Files.createDirectories(dir.resolve("outside"));
            Cli r1 = restore(cfg, outside.resolve("x"));
            assertEquals(50, r1.status(), r1::toString);
            Cli r2 = restore(cfg, Path.of(dir.resolve("restore") + "/../outside/y"));
            assertEquals(50, r2.status(), r2::toString);
            Files.createSymbolicLink(dir.resolve("restore/link"), outside);
            Cli r3 = restore(cfg, dir.resolve("restore/link/z"));
            assertEquals(50, r3.status(), r3::toString);
            try (Stream<Path> s = Files.list(outside)) {
                assertEquals(0, s.count(), "nothing written outside the allowlist");
            }
            Cli r4 = restore(cfg, a);
            assertEquals(51, r4.status(), r4::toString);
            assertTrue(r4.err().contains("--overwrite"), r4.err());

            // A logical dump through the CLI, restored into a new database of the same server.
            JsonNode logical = backup(cfg, "logical");
            assertEquals("logical", logical.path("type").asText());
            Cli rl = Cli.run("restore", "--config", cfg.toString(), "--source", "main", "--type", "logical", "--backup",
                    logical.path("id").asText(), "--database", "postgres", "--target-db", "copy", "--create", "--json");
            assertEquals(0, rl.status(), rl::toString);
            assertEquals(pg.psql(digest), pg.run(Duration.ofMinutes(1), PgCluster.BIN.resolve("psql").toString(), "-h",
                    pg.socketDir().toString(), "-p", Integer.toString(pg.port()), "-U", PgCluster.SUPERUSER, "-d", "copy", "-Atq", "-c", digest).trim());

            // One pack corrupted in the store: the restore fails before PostgreSQL could start.
            Path pack;
            try (Stream<Path> s = Files.walk(dir.resolve("repo"))) {
                pack = s.filter(p -> p.toString().contains("/" + same.path("id").asText() + "/") && p.getFileName().toString().startsWith("pack-"))
                        .max(java.util.Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
            }
            try (RandomAccessFile f = new RandomAccessFile(pack.toFile(), "rw")) {
                f.seek(f.length() / 2);
                int v = f.read();
                f.seek(f.length() / 2);
                f.write(v ^ 0x40);
            }
            Path c = dir.resolve("restore/corrupt");
            Cli rc = restore(cfg, c, "--backup", same.path("id").asText());
            assertEquals(14, rc.status(), rc::toString);
            assertFalse(Files.exists(c.resolve("global/pg_control")), "no pg_control: the half-written target cannot start");
            String packKey = dir.resolve("repo").relativize(pack).toString();
            Cli vc = Cli.run("verify", "--config", cfg.toString(), "--read-data", "--json");
            assertEquals(14, vc.status(), vc::toString);
            List<JsonNode> errors = new ArrayList<>();
            JSON.readTree(vc.out()).path("problems").forEach(p -> {
                if (p.path("severity").asText().equals("error")) {
                    errors.add(p);
                }
            });
            assertEquals(1, errors.size(), "only the backup that uses the pack: " + vc);
            assertEquals(same.path("id").asText(), errors.get(0).path("backup").asText());
            assertEquals(packKey, errors.get(0).path("object").asText());
        }
    }

    @Test
    void aTablespaceIsBackedUpAndRestoredInsideTheTarget() throws Exception {
        try (PgCluster pg = PgCluster.builder().start()) {
            pg.createRole("holdfast", PASSWORD, true, "scram-sha-256");
            pg.psql("ALTER ROLE holdfast SUPERUSER");
            Path location = pg.newServerDir("ts1");
            pg.psql("CREATE TABLESPACE ts1 LOCATION '" + location + "'");
            pg.psql("CREATE TABLE spaced TABLESPACE ts1 AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g");
            String digest = "SELECT count(*) || ':' || md5(string_agg(v, '' ORDER BY id)) FROM spaced";
            String expected = pg.psql(digest);
            Path cfg = config(pg);
            startAgent(cfg);
            JsonNode full = backup(cfg, "full");
            pg.switchWal();
            waitDurable(pg, cfg);
            Path target = dir.resolve("restore/ts");
            Cli r = restore(cfg, target, "--backup", full.path("id").asText(), "--immediate");
            assertEquals(0, r.status(), r::toString);
            assertTrue(Files.isDirectory(target.resolve("pg_tblspc"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
            try (Stream<Path> links = Files.list(target.resolve("pg_tblspc"))) {
                List<Path> ts = links.toList();
                assertEquals(1, ts.size(), ts.toString());
                assertFalse(Files.isSymbolicLink(ts.get(0)), "restored in place, inside the target, not linked to " + location);
            }
            assertFalse(Files.exists(target.resolve("tablespace_map")));
            verifyBackup(target);
            PgCluster back = start(target);
            assertEquals(expected, back.psql(digest));
            assertEquals("ts1", back.psql("SELECT t.spcname FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace WHERE c.relname = 'spaced'"));
        }
    }

    /** Relation and config file paths of a restored directory (what both restores must hold). */
    private static List<String> relationFiles(Path data) throws IOException {
        try (Stream<Path> s = Files.walk(data)) {
            return s.filter(Files::isRegularFile).map(p -> data.relativize(p).toString())
                    .filter(p -> !p.startsWith("pg_wal/") && !p.equals("backup_label") && !p.equals("backup_manifest")
                            && !p.equals("postgresql.auto.conf") && !p.startsWith("pg_stat/"))
                    .sorted().toList();
        }
    }
}
