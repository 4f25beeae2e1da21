package dev.holdfast.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.repository.wal.WalSegmentName;
import dev.holdfast.testkit.PgCluster;
import dev.holdfast.testkit.S3TestServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The WAL faults of the issue, with the agent as a real process ({@code bin/holdfast agent run})
 * against a real PostgreSQL 15 under pgbench load:
 *
 * <ul>
 *   <li>kill -9 of the agent at random moments, restarted each time: every segment from the first
 *       to the last is in the repository, contiguous and byte-identical to the server's copy
 *       (fetched back through {@code holdfast-wal-fetch} and the agent's socket), and
 *       {@code pg_waldump} reads the whole range;</li>
 *   <li>the S3 server down for 30 s: the flush position PostgreSQL holds from the agent and the
 *       archiver's count stand still (nothing acknowledged that is not durable), the slot keeps the
 *       WAL, {@code archive_command} fails and PostgreSQL retries; afterwards both catch up without
 *       a gap.</li>
 * </ul>
 *
 * Throughout, the flush position the server was told is checked against the repository: it is
 * never ahead.
 */
class WalFaultsProcessTest {
    static final Path BIN = Path.of("..", "bin").toAbsolutePath().normalize();
    static final String PASSWORD = "faults-pw-51c";
    static final ObjectMapper JSON = new ObjectMapper();
    /**
     * The agent's heap in these tests (two sources, look-ahead uploads, catch-up after an outage and
     * prefetch at once; live heap measured at about 40 MB with 1 MiB segments): small on purpose, so
     * that memory held longer than it should be shows up as a failure.
     */
    static final String AGENT_HEAP = "256m";

    /** A directory the postgres user can traverse (JUnit's @TempDir is 0700 root). */
    Path dir;
    final List<Process> processes = new ArrayList<>();
    int metricsPort;

    static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** A sample of the agent's Prometheus endpoint, e.g. {@code holdfast_wal_rpo_seconds{source="main"}}. */
    double metric(String series) throws Exception {
        java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        for (String line : r.body().split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        throw new AssertionError(series + " is not in the metrics:\n" + r.body());
    }

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createTempDirectory("holdfast-faults-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Process p : processes) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private PgCluster cluster(String... settings) {
        PgCluster.Builder b = PgCluster.builder().setting("wal_keep_size = 1GB").setting("max_wal_size = 1GB");
        for (String s : settings) {
            b.setting(s);
        }
        PgCluster pg = b.start();
        pg.createRole("holdfast", PASSWORD, true, "scram-sha-256");
        pg.pgbenchInit(1);
        return pg;
    }

    private Path config(PgCluster pg, String repository, String archiveSource) throws IOException {
        Cli key = Cli.run("keys", "init", "--out", dir.resolve("master.key").toString());
        assertEquals(0, key.status(), key::toString);
        StringBuilder y = new StringBuilder();
        y.append("host: faults\nrepository:\n").append(repository).append("  key_file: ").append(dir.resolve("master.key")).append('\n');
        y.append("control_socket: ").append(dir.resolve("run/agent.sock")).append('\n');
        y.append("control_socket_group: postgres\n");
        metricsPort = freePort();
        y.append("metrics:\n  listen: 127.0.0.1:").append(metricsPort).append('\n');
        y.append("sources:\n  - name: main\n    type: postgres\n    data_dir: ").append(pg.dataDir()).append('\n');
        y.append("    conninfo: \"").append(pg.conninfo("holdfast", PASSWORD)).append("\"\n");
        y.append("    wal:\n      mode: stream\n      partial_interval: 200ms\n");
        if (archiveSource != null) {
            y.append("  - name: ").append(archiveSource).append("\n    type: postgres\n    data_dir: ").append(pg.dataDir()).append('\n');
            y.append("    conninfo: \"").append(pg.conninfo("holdfast", PASSWORD)).append("\"\n");
            y.append("    wal:\n      mode: archive\n");
        }
        Path cfg = dir.resolve("agent.yaml");
        Files.writeString(cfg, y.toString());
        Cli init = Cli.run("repo", "init", "--config", cfg.toString());
        assertEquals(0, init.status(), init::toString);
        Files.createDirectories(dir.resolve("run"));
        Files.setPosixFilePermissions(dir.resolve("run"), PosixFilePermissions.fromString("rwxr-xr-x"));
        return cfg;
    }

    private Process startAgent(Path cfg, int n) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(BIN.resolve("holdfast").toString(), "agent", "run", "--config", cfg.toString())
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("agent.log").toFile()))
                .redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve("agent.err").toFile()));
        pb.environment().put("HOLDFAST_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("HOLDFAST_JAVA_OPTS", "-Xmx" + AGENT_HEAP);
        pb.environment().remove("JOURNAL_STREAM");
        Process p = pb.start();
        processes.add(p);
        Path socket = dir.resolve("run/agent.sock");
        waitFor("agent " + n + " to listen", Duration.ofSeconds(90), () -> {
            if (!p.isAlive()) {
                throw new AssertionError("the agent exited: " + read(dir.resolve("agent.err")) + read(dir.resolve("agent.log")));
            }
            return Files.exists(socket) && run(List.of("curl", "-s", "-o", "/dev/null", "--unix-socket", socket.toString(),
                    "http://localhost/v1/status")) == 0;
        });
        return p;
    }

    /** The source's WAL entry of {@code holdfast list --json}. */
    private static JsonNode wal(Path cfg, String source) {
        Cli list = Cli.run("list", "--config", cfg.toString(), "--source", source, "--json");
        assertEquals(0, list.status(), list::toString);
        try {
            JsonNode sources = JSON.readTree(list.out()).path("sources");
            for (JsonNode s : sources) {
                if (source.equals(s.path("name").asText()) && !s.path("wal").isNull() && !s.path("wal").isMissingNode()) {
                    return s.path("wal");
                }
            }
            return null;
        } catch (IOException e) {
            throw new IllegalStateException(list.out(), e);
        }
    }

    private static Lsn durable(Path cfg, String source) {
        JsonNode w = wal(cfg, source);
        return w == null ? Lsn.INVALID : Lsn.parse(w.path("last_durable_lsn").asText());
    }

    private static Lsn told(PgCluster pg) {
        String s = pg.psql("SELECT flush_lsn FROM pg_stat_replication WHERE application_name = 'holdfast_main'");
        return s.isEmpty() ? Lsn.INVALID : Lsn.parse(s);
    }

    /** The server was told no more than the repository holds (read the server first: the repository only grows). */
    private static void assertNeverAhead(PgCluster pg, Path cfg) {
        Lsn t = told(pg);
        Lsn d = durable(cfg, "main");
        assertTrue(t.compareTo(d) <= 0, "PostgreSQL was told " + t + " is flushed but the repository holds WAL to " + d);
    }

    /**
     * Fetches every segment of timeline 1 from the first stored one through the one holding
     * {@code end} with the real hook, compares each with the server's file, and runs pg_waldump
     * over the range.
     */
    private void verifyAgainstServer(PgCluster pg, Path cfg, String source, Lsn end, boolean partialLast) throws Exception {
        JsonNode w = wal(cfg, source);
        assertEquals(0, w.path("gaps").size(), "no gap: " + w);
        WalSegmentName first = WalSegmentName.parse(w.path("first_segment").asText());
        long segSize = 1 << 20;
        Path fetched = Files.createDirectories(dir.resolve("fetched-" + source));
        int count = 0;
        WalSegmentName last = WalSegmentName.of(1, partialLast ? end : end.plus(-1), segSize);
        for (WalSegmentName s = first; s.compareTo(last) <= 0; s = s.next(segSize)) {
            Path dest = fetched.resolve(s.toString());
            Path out = dir.resolve("fetch.out");
            WalSegmentName segment = s;
            int rc = run(List.of(BIN.resolve("holdfast-wal-fetch").toString(), "--socket", dir.resolve("run/agent.sock").toString(),
                    "--source", source, s.toString(), dest.toString()), out);
            assertEquals(0, rc, () -> "holdfast-wal-fetch " + segment + ": " + read(out) + "\n--- agent log tail\n" + tail(dir.resolve("agent.log"))
                    + read(dir.resolve("agent.err")));
            byte[] server = Files.readAllBytes(pg.walDir().resolve(s.toString()));
            byte[] got = Files.readAllBytes(dest);
            assertEquals(segSize, got.length, s.toString());
            int valid = (int) Math.min(segSize, end.minus(s.startLsn(segSize)));
            assertArrayEquals(Arrays.copyOf(server, valid), Arrays.copyOf(got, valid), s + " is byte-identical up to " + valid);
            count++;
        }
        assertTrue(count >= 3, "several segments compared: " + count);
        ProcessBuilder dump = new ProcessBuilder(PgCluster.BIN.resolve("pg_waldump").toString(), "-p", fetched.toString(), "-t", "1",
                "-s", first.startLsn(segSize).toString(), "-e", end.toString(), "--stats")
                .redirectErrorStream(true).redirectOutput(dir.resolve("waldump-" + source + ".txt").toFile());
        Process p = dump.start();
        assertTrue(p.waitFor(2, TimeUnit.MINUTES));
        assertEquals(0, p.exitValue(), () -> "pg_waldump over " + first + ".." + end + ": " + read(dir.resolve("waldump-" + source + ".txt")));
    }

    @Test
    void killNineUnderLoadLosesNothingAndLeavesNoGap() throws Exception {
        try (PgCluster pg = cluster()) {
            Path cfg = config(pg, "  url: " + dir.resolve("repo").toUri() + "\n", null);
            Process agent = startAgent(cfg, 0);
            Process bench = pg.pgbench("-n", "-c", "4", "-j", "2", "-T", "30");
            long seed = Long.getLong("holdfast.test.seed", System.nanoTime());
            Random random = new Random(seed);
            for (int kill = 1; kill <= 3; kill++) {
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2000 + random.nextInt(4000));
                while (System.nanoTime() < until) {
                    assertNeverAhead(pg, cfg);
                    Thread.sleep(200);
                }
                agent.destroyForcibly(); // SIGKILL
                assertTrue(agent.waitFor(30, TimeUnit.SECONDS));
                agent = startAgent(cfg, kill);
            }
            assertTrue(bench.waitFor(2, TimeUnit.MINUTES), "pgbench finished");
            assertEquals(0, bench.exitValue(), () -> read(pg.baseDir().resolve("pgbench.log")));
            Lsn target = Lsn.parse(pg.psql("SELECT pg_current_wal_flush_lsn()"));
            waitFor("WAL durable to " + target + " (seed " + seed + ")", Duration.ofSeconds(120),
                    () -> durable(cfg, "main").compareTo(target) >= 0);
            assertNeverAhead(pg, cfg);
            verifyAgainstServer(pg, cfg, "main", target, true);
            String log = read(dir.resolve("agent.log"));
            assertTrue(log.contains("event=stream_started"), log);
        }
    }

    @Test
    void anS3OutageUnderLoadAcknowledgesNothingAndCatchesUpWithoutAGap() throws Exception {
        Path s3root = Files.createDirectories(dir.resolve("s3"));
        try (S3TestServer s3 = S3TestServer.startProcess(s3root)) {
            String hook = BIN.resolve("holdfast-wal-push") + " --socket " + dir.resolve("run/agent.sock") + " --source arch %p";
            try (PgCluster pg = cluster("archive_mode = on", "archive_command = '" + hook + "'", "archive_timeout = 0")) {
                Path cfg = config(pg, "  url: s3://" + s3.bucket() + "/faults\n  endpoint: " + s3.endpoint() + "\n  region: us-east-1\n"
                        + "  path_style: true\n  access_key_id: " + s3.accessKey() + "\n  secret_access_key: " + s3.secretKey() + "\n", "arch");
                startAgent(cfg, 0);
                Process bench = pg.pgbench("-n", "-c", "4", "-j", "2", "-T", "50");
                Thread.sleep(5000);
                assertNeverAhead(pg, cfg);

                s3.kill();
                Thread.sleep(5000); // let what was in flight settle: it cannot become durable now
                Lsn toldAtStart = told(pg);
                Lsn serverAtStart = Lsn.parse(pg.psql("SELECT pg_current_wal_flush_lsn()"));
                Thread.sleep(25_000);
                // The live RPO shows the outage: WAL received (stream) or finished (archive) and not durable for seconds.
                double rpoStream = metric("holdfast_wal_rpo_seconds{source=\"main\"}");
                double rpoArchive = metric("holdfast_wal_rpo_seconds{source=\"arch\"}");
                assertTrue(rpoStream > 10, "stream-mode RPO during the outage: " + rpoStream);
                assertTrue(rpoArchive > 10, "archive-mode RPO during the outage: " + rpoArchive);
                Lsn toldAtEnd = told(pg);
                Lsn serverAtEnd = Lsn.parse(pg.psql("SELECT pg_current_wal_flush_lsn()"));
                assertTrue(serverAtEnd.compareTo(serverAtStart) > 0, "the load went on");
                assertTrue(!toldAtEnd.isValid() || toldAtEnd.compareTo(toldAtStart) <= 0 || !toldAtStart.isValid(),
                        "no flush acknowledged while the store was down: " + toldAtStart + " -> " + toldAtEnd);
                assertArchivedIsStored(pg, s3root); // what PostgreSQL counts as archived was durable before the outage
                // The hook waits while the agent retries the store, then fails; PostgreSQL retries it.
                waitFor("archive_command to fail while the store is down", Duration.ofSeconds(120),
                        () -> Integer.parseInt(pg.psql("SELECT failed_count FROM pg_stat_archiver")) > 0);
                assertArchivedIsStored(pg, s3root);
                Lsn slot = Lsn.parse(pg.psql("SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = 'holdfast'"));
                assertTrue(slot.compareTo(serverAtStart) <= 0, "the slot keeps the WAL not yet in the repository");

                s3.restart();
                assertTrue(bench.waitFor(2, TimeUnit.MINUTES), "pgbench finished");
                // The segment the switch completed is the last one archive mode can have: the server
                // may write more WAL after the switch (a checkpoint, a running-transactions record)
                // into a segment nobody finishes here (archive_timeout is off).
                WalSegmentName switched = WalSegmentName.of(1, Lsn.parse(pg.switchWal()).plus(-1), 1 << 20);
                Lsn archivedEnd = switched.next(1 << 20).startLsn(1 << 20);
                Lsn target = Lsn.parse(pg.psql("SELECT pg_current_wal_flush_lsn()"));
                waitFor("stream mode to catch up to " + target, Duration.ofSeconds(150), () -> durable(cfg, "main").compareTo(target) >= 0);
                String lastSegment = switched.toString();
                try {
                    waitFor("archive mode to catch up to " + lastSegment, Duration.ofSeconds(150), () ->
                            pg.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver").compareTo(lastSegment) >= 0);
                } catch (AssertionError e) {
                    throw new AssertionError(e.getMessage() + "; pg_stat_archiver: "
                            + pg.psql("SELECT archived_count, last_archived_wal, failed_count, last_failed_wal, last_failed_time FROM pg_stat_archiver")
                            + "; .ready files: " + readyCount(pg) + "\n--- agent log tail\n" + tail(dir.resolve("agent.log")), e);
                }
                assertNeverAhead(pg, cfg);
                waitFor("the RPO to fall back to 0", Duration.ofSeconds(30), () -> {
                    try {
                        return metric("holdfast_wal_rpo_seconds{source=\"main\"}") == 0 && metric("holdfast_wal_rpo_seconds{source=\"arch\"}") == 0;
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                verifyAgainstServer(pg, cfg, "main", target, false);
                verifyAgainstServer(pg, cfg, "arch", archivedEnd, false);
            }
        }
    }

    private static long readyCount(PgCluster pg) {
        try (var files = Files.list(pg.walDir().resolve("archive_status"))) {
            return files.filter(f -> f.toString().endsWith(".ready")).count();
        } catch (IOException e) {
            return -1;
        }
    }

    /**
     * The last file PostgreSQL counts as archived is an object in the S3 server's own directory
     * (read directly: the server is down). Segments can be archived during the outage only when
     * the agent's look-ahead made them durable before it.
     */
    private static void assertArchivedIsStored(PgCluster pg, Path s3root) throws IOException {
        String last = pg.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
        if (last.isEmpty()) {
            return;
        }
        try (var walk = Files.walk(s3root)) {
            assertTrue(walk.anyMatch(p -> p.getFileName().toString().equals(last) && p.toString().contains("/wal/arch/")),
                    "PostgreSQL counts " + last + " as archived, and it is in the store");
        }
    }

    /**
     * {@code bin/holdfast ARGS} as the process tests start it: this build's classes
     * ({@code HOLDFAST_CLASSPATH}), a heap of {@code heap}, output appended to {@code <logs>.log} and
     * {@code <logs>.err}, and none of the caller's journal or configuration variables. Not started.
     */
    static ProcessBuilder launcher(Path logs, String heap, String... args) {
        List<String> cmd = new ArrayList<>(List.of(BIN.resolve("holdfast").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logs.resolveSibling(logs.getFileName() + ".log").toFile()))
                .redirectError(ProcessBuilder.Redirect.appendTo(logs.resolveSibling(logs.getFileName() + ".err").toFile()));
        pb.environment().put("HOLDFAST_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("HOLDFAST_JAVA_OPTS", "-Xmx" + heap);
        pb.environment().remove("JOURNAL_STREAM");
        pb.environment().remove("HOLDFAST_CONFIG");
        return pb;
    }

    static int run(List<String> command) {
        return run(command, null);
    }

    static int run(List<String> command, Path output) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(output == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.to(output.toFile())).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            return p.exitValue();
        } catch (IOException e) {
            return -2;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -3;
        }
    }

    static void waitFor(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(250);
        }
    }

    static String tail(Path p) {
        List<String> lines = read(p).lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }
}
