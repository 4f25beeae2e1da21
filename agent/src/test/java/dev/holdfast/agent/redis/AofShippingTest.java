package dev.holdfast.agent.redis;

import static dev.holdfast.agent.daemon.TestAgent.await;
import static dev.holdfast.testkit.RedisProcess.poll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.config.RedisSourceConfig;
import dev.holdfast.agent.daemon.AgentDaemon;
import dev.holdfast.agent.daemon.SourceFactory;
import dev.holdfast.agent.daemon.TestAgent;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.testkit.KeyspaceWriter;
import dev.holdfast.testkit.RedisProcess;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryLocation;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.fs.FsObjectStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Continuous AOF shipping against real redis-server processes, checked with DEBUG DIGEST on a fresh
 * server started on each restored appendonlydir, and with redis-check-aof.
 */
class AofShippingTest {
    @TempDir
    Path tmp;

    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private final AtomicReference<RedisSource> source = new AtomicReference<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            try {
                cleanup.get(i).close();
            } catch (Exception ignored) {
                // best effort
            }
        }
    }

    private <T extends AutoCloseable> T closeLater(T t) {
        cleanup.add(t);
        return t;
    }

    private AgentDaemon daemon(AgentConfig config) throws Exception {
        SourceFactory f = (c, ctx) -> {
            RedisSource s = new RedisSource(c, ctx, Duration.ofMillis(200));
            source.set(s);
            return s;
        };
        AgentDaemon d = TestAgent.daemon(config, Map.of(RedisSourceConfig.TYPE, f), new dev.holdfast.agent.daemon.EventLog(System.out, Clock.systemUTC(), AgentConfig.LogLevel.INFO, false));
        closeLater(() -> await(d.stop()));
        await(d.start());
        return d;
    }

    /** Waits until the source has stored everything written before now. */
    private void waitShipped() throws Exception {
        Instant written = Instant.now();
        poll(Duration.ofSeconds(60), () -> {
            String at = source.get().status().getString("last_durable_at");
            return at != null && Instant.parse(at).isAfter(written);
        });
    }

    private Repository open(RepositoryLocation loc) {
        return Repository.open(loc.openStore(Clock.systemUTC()), KeyFile.load(loc.keyFile()), Clock.systemUTC(),
                new SecureRandom());
    }

    private AofRestore.Result restore(RepositoryLocation loc, String name, Optional<Instant> to) throws IOException {
        try (Repository repo = open(loc)) {
            return new AofRestore(repo, new SecureRandom()).restore(new AofRestore.Options("cache", tmp.resolve("restore").resolve(name),
                    List.of(tmp.resolve("restore")), false, to));
        }
    }

    /** Starts a fresh server on a restored directory and returns its digest; redis-check-aof must pass first. */
    private String digestOfRestored(String name) throws Exception {
        Path dir = tmp.resolve("restore").resolve(name);
        Process check = new ProcessBuilder("redis-check-aof", dir.resolve("appendonlydir/appendonly.aof.manifest").toString())
                .redirectErrorStream(true).start();
        String out = new String(check.getInputStream().readAllBytes());
        assertTrue(check.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, check.exitValue(), out);
        assertTrue(out.contains("is valid"), out);
        try (RedisProcess r = RedisProcess.start(dir)) {
            return r.digest();
        }
    }

    private void waitNextSecond(RedisProcess redis, long t) throws Exception {
        poll(Duration.ofSeconds(5), () -> {
            try {
                return redis.timeSeconds() > t;
            } catch (IOException e) {
                return false;
            }
        });
    }

    @Test
    void aofStreamedUnderLoadAcrossARewriteAndARestartRestoresLatestAndToTimes() throws Exception {
        RedisProcess redis = closeLater(RedisProcess.start(tmp.resolve("redis")));
        RepositoryLocation loc = TestAgent.repository(tmp);
        AgentConfig config = TestAgent.config(tmp, loc, List.of(new RedisSourceConfig("cache", "redis://127.0.0.1:" + redis.port, redis.dir)));
        AgentDaemon agent = daemon(config);

        // batch A, streamed while written
        try (KeyspaceWriter w = new KeyspaceWriter(redis, "a")) {
            poll(Duration.ofSeconds(120), () -> w.ops() > 1500);
        }
        long t1 = redis.timeSeconds();
        String d1 = redis.digest();
        waitNextSecond(redis, t1);

        // batch B with a rewrite in the middle
        String base1 = baseFile(redis);
        try (KeyspaceWriter w = new KeyspaceWriter(redis, "b")) {
            poll(Duration.ofSeconds(120), () -> w.ops() > 800);
            redis.call("BGREWRITEAOF");
            poll(Duration.ofSeconds(120), () -> {
                try {
                    return !baseFile(redis).equals(base1) && redis.info("persistence").contains("aof_rewrite_in_progress:0");
                } catch (IOException e) {
                    return false;
                }
            });
            long after = w.ops();
            poll(Duration.ofSeconds(120), () -> w.ops() > after + 800);
        }
        long t2 = redis.timeSeconds();
        String d2 = redis.digest();
        waitNextSecond(redis, t2);

        // batch C with an agent restart in the middle (the new agent resumes from the repository)
        try (KeyspaceWriter w = new KeyspaceWriter(redis, "c")) {
            poll(Duration.ofSeconds(120), () -> w.ops() > 500);
            await(agent.stop());
            long stoppedAt = w.ops();
            poll(Duration.ofSeconds(120), () -> w.ops() > stoppedAt + 300);
            agent = daemon(config);
            long resumedAt = w.ops();
            poll(Duration.ofSeconds(120), () -> w.ops() > resumedAt + 500);
        }
        String d3 = redis.digest();
        waitShipped();
        assertEquals(0L, source.get().status().getLong("gaps"));
        assertEquals("00000002", source.get().status().getString("epoch"));
        await(agent.stop());

        AofRestore.Result latest = restore(loc, "latest", Optional.empty());
        assertEquals(2, latest.epoch());
        assertFalse(latest.cut());
        assertEquals(d3, digestOfRestored("latest"));

        AofRestore.Result atT1 = restore(loc, "t1", Optional.of(Instant.ofEpochSecond(t1)));
        assertEquals(1, atT1.epoch());
        assertTrue(atT1.cut());
        assertEquals(d1, digestOfRestored("t1"));

        AofRestore.Result atT2 = restore(loc, "t2", Optional.of(Instant.ofEpochSecond(t2)));
        assertTrue(atT2.cut());
        assertEquals(d2, digestOfRestored("t2"));
    }

    @Test
    void agentDownAcrossARewriteReportsTheGapAndShipsTheNewBaseAtOnce() throws Exception {
        RedisProcess redis = closeLater(RedisProcess.start(tmp.resolve("redis")));
        RepositoryLocation loc = TestAgent.repository(tmp);
        AgentConfig config = TestAgent.config(tmp, loc, List.of(new RedisSourceConfig("cache", "redis://127.0.0.1:" + redis.port, redis.dir)));
        AgentDaemon agent = daemon(config);
        try (KeyspaceWriter w = new KeyspaceWriter(redis, "a")) {
            poll(Duration.ofSeconds(120), () -> w.ops() > 300);
        }
        waitShipped();
        await(agent.stop());

        String base1 = baseFile(redis);
        try (KeyspaceWriter w = new KeyspaceWriter(redis, "b")) {
            poll(Duration.ofSeconds(120), () -> w.ops() > 300);
            redis.call("BGREWRITEAOF");
            poll(Duration.ofSeconds(120), () -> {
                try {
                    return !baseFile(redis).equals(base1) && redis.info("persistence").contains("aof_rewrite_in_progress:0");
                } catch (IOException e) {
                    return false;
                }
            });
        }
        String digest = redis.digest();
        agent = daemon(config);
        waitShipped();
        assertEquals(1L, source.get().status().getLong("gaps"));
        assertEquals(1.0, agent.meters().get("holdfast.aof.gaps").counter().count());
        assertTrue(agent.meters().get("holdfast.aof.shipped").counter().count() > 0);
        await(agent.stop());
        try (Repository repo = open(loc)) {
            assertTrue(AofShipper.readEpoch(repo, new AofLayout("cache"), 2).gapBefore());
            assertFalse(AofShipper.readEpoch(repo, new AofLayout("cache"), 1).gapBefore());
        }
        restore(loc, "latest", Optional.empty());
        assertEquals(digest, digestOfRestored("latest"));
    }

    @Test
    void toTimeIsRefusedWhenTimestampAnnotationsAreOff() throws Exception {
        RedisProcess redis = closeLater(RedisProcess.start(tmp.resolve("redis"), "--aof-timestamp-enabled", "no"));
        RepositoryLocation loc = TestAgent.repository(tmp);
        AgentConfig config = TestAgent.config(tmp, loc, List.of(new RedisSourceConfig("cache", "redis://127.0.0.1:" + redis.port, redis.dir)));
        AgentDaemon agent = daemon(config);
        try (KeyspaceWriter w = new KeyspaceWriter(redis, "a")) {
            poll(Duration.ofSeconds(120), () -> w.ops() > 200);
        }
        String digest = redis.digest();
        waitShipped();
        await(agent.stop());
        HoldfastException e = assertThrows(HoldfastException.class, () -> restore(loc, "t", Optional.of(Instant.now())));
        assertEquals(ErrorCode.USAGE, e.code());
        assertTrue(e.getMessage().contains("aof-timestamp-enabled"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("restore/t/appendonlydir")));
        restore(loc, "latest", Optional.empty());
        assertEquals(digest, digestOfRestored("latest"));
    }

    @Test
    void aDataSetResetUnderTheSameFileNamesStartsANewEpochInsteadOfAppending() throws Exception {
        RedisProcess first = RedisProcess.start(tmp.resolve("redis"));
        RepositoryLocation loc = TestAgent.repository(tmp);
        AgentConfig config = TestAgent.config(tmp, loc, List.of(new RedisSourceConfig("cache", "redis://127.0.0.1:" + first.port, first.dir)));
        AgentDaemon agent = daemon(config);
        try (KeyspaceWriter w = new KeyspaceWriter(first, "a")) {
            poll(Duration.ofSeconds(120), () -> w.ops() > 300);
        }
        waitShipped();
        await(agent.stop());
        first.close();
        AofRestore.deleteTree(first.dir.resolve("appendonlydir"));

        // a new, smaller data set whose files have the same names (appendonly.aof.1.*)
        RedisProcess second = closeLater(RedisProcess.start(tmp.resolve("redis")));
        try (KeyspaceWriter w = new KeyspaceWriter(second, "z")) {
            poll(Duration.ofSeconds(120), () -> w.ops() > 50);
        }
        assertEquals("appendonly.aof.1.base.rdb", baseFile(second));
        String digest = second.digest();
        agent = daemon(config);
        waitShipped();
        assertEquals("00000002", source.get().status().getString("epoch"));
        await(agent.stop());
        restore(loc, "latest", Optional.empty());
        assertEquals(digest, digestOfRestored("latest"));
    }

    static String baseFile(RedisProcess redis) throws IOException {
        return AofManifest.parse(Files.readString(redis.dir.resolve("appendonlydir/appendonly.aof.manifest")), "manifest").base().orElseThrow().file();
    }
}
