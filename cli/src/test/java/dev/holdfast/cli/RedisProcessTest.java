package dev.holdfast.cli;

import static dev.holdfast.cli.WalFaultsProcessTest.read;
import static dev.holdfast.cli.WalFaultsProcessTest.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.holdfast.testkit.KeyspaceWriter;
import dev.holdfast.testkit.RedisProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Redis source end to end with real processes: {@code holdfast agent run} ships the AOF of a
 * redis-server under load, is killed with SIGKILL mid-stream and restarted, and {@code holdfast
 * restore} (latest, and to a time) and {@code holdfast backup}/{@code restore --type rdb} give
 * servers whose DEBUG DIGEST equals the source's at that point.
 */
class RedisProcessTest {
    static final ObjectMapper JSON = new ObjectMapper();
    Path dir;
    final List<Process> processes = new ArrayList<>();
    final List<AutoCloseable> servers = new ArrayList<>();
    int metricsPort;

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createTempDirectory("holdfast-redis-");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Process p : processes) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
        for (AutoCloseable s : servers) {
            s.close();
        }
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private Path config(RedisProcess redis) throws IOException {
        Cli key = Cli.run("keys", "init", "--out", dir.resolve("master.key").toString());
        assertEquals(0, key.status(), key::toString);
        String y = "host: redis1\nrepository:\n  url: " + dir.resolve("repo").toUri() + "\n  key_file: " + dir.resolve("master.key") + "\n"
                + "control_socket: " + dir.resolve("run/agent.sock") + "\n"
                + "metrics:\n  listen: 127.0.0.1:" + (metricsPort = WalFaultsProcessTest.freePort()) + "\n"
                + "sources:\n  - name: cache\n    type: redis\n    uri: redis://127.0.0.1:" + redis.port + "\n    dir: " + redis.dir + "\n"
                + "restore:\n  allowed_targets: [" + dir.resolve("restore") + "]\n";
        Path cfg = dir.resolve("agent.yaml");
        Files.writeString(cfg, y);
        Cli init = Cli.run("repo", "init", "--config", cfg.toString());
        assertEquals(0, init.status(), init::toString);
        Files.createDirectories(dir.resolve("run"));
        Files.setPosixFilePermissions(dir.resolve("run"), PosixFilePermissions.fromString("rwxr-xr-x"));
        return cfg;
    }

    private Process startAgent(Path cfg) throws Exception {
        Files.deleteIfExists(dir.resolve("run/agent.sock"));
        Process p = WalFaultsProcessTest.launcher(dir.resolve("agent"), "256m", "agent", "run", "--config", cfg.toString()).start();
        processes.add(p);
        waitFor("the agent to ship", Duration.ofSeconds(90), () -> {
            if (!p.isAlive()) {
                throw new AssertionError("the agent exited: " + read(dir.resolve("agent.err")) + read(dir.resolve("agent.log")));
            }
            JsonNode s = status();
            return s != null && "streaming".equals(s.path("state").asText()) && !s.path("last_durable_at").isNull();
        });
        return p;
    }

    /** The redis source's status from the agent's control socket, or null. */
    private JsonNode status() {
        Path out = dir.resolve("status.json");
        int rc = WalFaultsProcessTest.run(List.of("curl", "-s", "--unix-socket", dir.resolve("run/agent.sock").toString(),
                "http://localhost/v1/status"), out);
        if (rc != 0) {
            return null;
        }
        try {
            for (JsonNode s : JSON.readTree(read(out)).path("sources")) {
                if (s.path("name").asText().equals("cache")) {
                    return s.path("status");
                }
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    private void waitShipped() throws InterruptedException {
        Instant written = Instant.now();
        waitFor("the AOF to be stored", Duration.ofSeconds(60), () -> {
            JsonNode s = status();
            return s != null && !s.path("last_durable_at").isNull() && Instant.parse(s.path("last_durable_at").asText()).isAfter(written);
        });
    }

    private String digestOf(Path restored, String... args) throws Exception {
        RedisProcess r = RedisProcess.start(restored, args);
        try {
            return r.digest();
        } finally {
            r.close();
        }
    }

    private static void check(String tool, Path file, String ok) throws Exception {
        Process p = new ProcessBuilder(tool, file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains(ok), out);
    }

    @Test
    void aofShippedAcrossAKillAndARewriteRestoresLatestAndToATimeAndRdbSnapshotsRestore() throws Exception {
        RedisProcess redis = RedisProcess.start(dir.resolve("redis"));
        servers.add(redis);
        Path cfg = config(redis);
        Process agent = startAgent(cfg);

        try (KeyspaceWriter w = new KeyspaceWriter(redis, "a")) {
            waitFor("batch a", Duration.ofSeconds(120), () -> w.ops() > 1500);
        }
        long t1 = redis.timeSeconds();
        String d1 = redis.digest();
        RedisProcess.poll(Duration.ofSeconds(5), () -> {
            try {
                return redis.timeSeconds() > t1;
            } catch (IOException e) {
                return false;
            }
        });

        try (KeyspaceWriter w = new KeyspaceWriter(redis, "b")) {
            waitFor("batch b", Duration.ofSeconds(120), () -> w.ops() > 800);
            agent.destroyForcibly(); // SIGKILL mid-stream
            agent.waitFor(30, TimeUnit.SECONDS);
            long killedAt = w.ops();
            waitFor("writes while the agent is down", Duration.ofSeconds(120), () -> w.ops() > killedAt + 500);
            agent = startAgent(cfg);
            long restarted = w.ops();
            waitFor("writes after the restart", Duration.ofSeconds(120), () -> w.ops() > restarted + 500);
            redis.call("BGREWRITEAOF");
            RedisProcess.poll(Duration.ofSeconds(60), () -> {
                try {
                    return redis.info("persistence").contains("aof_rewrite_in_progress:0")
                            && redis.info("persistence").contains("aof_rewrite_scheduled:0");
                } catch (IOException e) {
                    return false;
                }
            });
            long rewritten = w.ops();
            waitFor("writes after the rewrite", Duration.ofSeconds(120), () -> w.ops() > rewritten + 500);
        }
        String latest = redis.digest();
        waitShipped();
        JsonNode st = status();
        assertEquals(0, st.path("gaps").asInt(), st::toString);
        String metrics = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        assertTrue(metrics.contains("holdfast_aof_lag_seconds{source=\"cache\"}"), metrics);
        assertTrue(metrics.contains("holdfast_aof_shipped_bytes_total{source=\"cache\"}"), metrics);
        assertTrue(metrics.contains("holdfast_aof_gaps_total{source=\"cache\"} 0.0"), metrics);

        Cli r1 = Cli.run("restore", "--config", cfg.toString(), "--source", "cache", "--target", dir.resolve("restore/latest").toString(), "--json");
        assertEquals(0, r1.status(), r1::toString);
        check("redis-check-aof", dir.resolve("restore/latest/appendonlydir/appendonly.aof.manifest"), "is valid");
        assertEquals(latest, digestOf(dir.resolve("restore/latest")));

        Cli r2 = Cli.run("restore", "--config", cfg.toString(), "--source", "cache", "--target", dir.resolve("restore/t1").toString(),
                "--to-time", Instant.ofEpochSecond(t1).toString(), "--json");
        assertEquals(0, r2.status(), r2::toString);
        assertTrue(JSON.readTree(r2.out()).path("cut").asBoolean(), r2::toString);
        assertTrue(JSON.readTree(r2.out()).path("complete").asBoolean(), r2::toString);
        assertTrue(JSON.readTree(r1.out()).path("complete").asBoolean(), r1::toString);
        // a time the stored AOF does not reach: restored, but said so
        Cli late = Cli.run("restore", "--config", cfg.toString(), "--source", "cache", "--target", dir.resolve("restore/late").toString(),
                "--to-time", Instant.now().plusSeconds(3600).toString(), "--json");
        assertEquals(0, late.status(), late::toString);
        assertTrue(!JSON.readTree(late.out()).path("complete").asBoolean(true), late::toString);
        assertTrue(JSON.readTree(late.out()).path("warning").asText().contains("does not reach"), late::toString);
        check("redis-check-aof", dir.resolve("restore/t1/appendonlydir/appendonly.aof.manifest"), "is valid");
        assertEquals(d1, digestOf(dir.resolve("restore/t1")));

        Cli outside = Cli.run("restore", "--config", cfg.toString(), "--source", "cache", "--target", dir.resolve("elsewhere").toString());
        assertEquals(50, outside.status(), outside::toString); // target_not_allowed
        assertTrue(!Files.exists(dir.resolve("elsewhere")));

        Cli again = Cli.run("restore", "--config", cfg.toString(), "--source", "cache", "--target", dir.resolve("restore/latest").toString());
        assertEquals(51, again.status(), again::toString); // target_not_empty: nothing replaced without --overwrite
        Cli dry = Cli.run("restore", "--config", cfg.toString(), "--source", "cache", "--target", dir.resolve("restore/dry").toString(), "--dry-run");
        assertEquals(2, dry.status(), dry::toString);
        Cli badTime = Cli.run("restore", "--config", cfg.toString(), "--source", "cache", "--target", dir.resolve("restore/bad").toString(),
                "--to-time", "yesterday");
        assertEquals(2, badTime.status(), badTime::toString);

        Cli b = Cli.run("backup", "--config", cfg.toString(), "--source", "cache", "--json");
        assertEquals(0, b.status(), b::toString);
        String id = JSON.readTree(b.out()).path("id").asText();
        Cli r3 = Cli.run("restore", "--config", cfg.toString(), "--source", "cache", "--type", "rdb", "--backup", id,
                "--target", dir.resolve("restore/rdb").toString(), "--json");
        assertEquals(0, r3.status(), r3::toString);
        check("redis-check-rdb", dir.resolve("restore/rdb/dump.rdb"), "RDB looks OK");
        Cli list = Cli.run("list", "--config", cfg.toString(), "--json");
        assertEquals(0, list.status(), list::toString);
        JsonNode cache = null;
        for (JsonNode s : JSON.readTree(list.out()).path("sources")) {
            if (s.path("name").asText().equals("cache")) {
                cache = s;
            }
        }
        assertEquals("redis", cache.path("type").asText(), list::out);
        assertTrue(cache.path("aof").path("epochs").asInt() >= 2, list::out);
        assertEquals(0, cache.path("aof").path("gap_before_epochs").size(), list::out);
        assertEquals(id, cache.path("rdb_backups").get(0).path("id").asText(), list::out);
        Cli table = Cli.run("list", "--config", cfg.toString());
        assertTrue(table.out().contains("AOF of cache:"), table::toString);
        assertEquals(latest, digestOf(dir.resolve("restore/rdb"), "--appendonly", "no", "--dbfilename", "dump.rdb"));
    }
}
