package dev.holdfast.agent.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.agent.daemon.TestAgent;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryLocation;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.ForwardingObjectStore;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.PutOptions;
import dev.holdfast.repository.store.StoreException;
import dev.holdfast.testkit.KeyspaceWriter;
import dev.holdfast.testkit.RedisProcess;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipper against a store that loses an acknowledgement: the object is stored, the caller is told it failed. */
class AofShipperFaultTest {
    @TempDir
    Path tmp;

    @Test
    void aLostAcknowledgementIsRecoveredFromTheRepositoryWithoutAGapOrADuplicate() throws Exception {
        RepositoryLocation loc = TestAgent.repository(tmp);
        AtomicBoolean armed = new AtomicBoolean(true);
        ForwardingObjectStore lossy = new ForwardingObjectStore(loc.openStore(Clock.systemUTC())) {
            @Override
            public CompletableFuture<Void> create(ObjectKey key, ByteBuffer data, PutOptions options) {
                CompletableFuture<Void> real = super.create(key, data, options);
                if (key.fileName().startsWith("incr-") && armed.compareAndSet(true, false)) {
                    return real.thenCompose(v -> CompletableFuture.failedFuture(new StoreException(dev.holdfast.error.ErrorCode.STORE_UNAVAILABLE, "lost acknowledgement (test)", true, null)));
                }
                return real;
            }
        };
        EventLog log = new EventLog(System.out, Clock.systemUTC(), AgentConfig.LogLevel.INFO, false);
        try (RedisProcess redis = RedisProcess.start(tmp.resolve("redis"));
             Repository repo = Repository.open(lossy, KeyFile.load(loc.keyFile()), Clock.systemUTC(), new SecureRandom())) {
            AofShipper shipper = new AofShipper(repo, "cache", redis.dir, Clock.systemUTC(), log);
            shipper.resume();
            try (KeyspaceWriter w = new KeyspaceWriter(redis, "a")) {
                RedisProcess.poll(Duration.ofSeconds(60), () -> w.ops() > 200);
            }
            assertThrows(Exception.class, shipper::tick); // stored, but reported failed
            try (KeyspaceWriter w = new KeyspaceWriter(redis, "b")) {
                RedisProcess.poll(Duration.ofSeconds(60), () -> w.ops() > 200);
            }
            AofShipper.Tick t = shipper.tick(); // re-reads the repository, goes on after the stored range
            assertTrue(t.bytes() > 0);
            String digest = redis.digest();
            shipper.tick();
            shipper.closeAll();
            new AofRestore(repo, new SecureRandom()).restore(new AofRestore.Options("cache", tmp.resolve("restore/x"),
                    List.of(tmp.resolve("restore")), false, Optional.empty()));
            Process check = new ProcessBuilder("redis-check-aof", tmp.resolve("restore/x/appendonlydir/appendonly.aof.manifest").toString())
                    .redirectErrorStream(true).start();
            String out = new String(check.getInputStream().readAllBytes());
            assertTrue(check.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, check.exitValue(), out);
            try (RedisProcess restored = RedisProcess.start(tmp.resolve("restore/x"))) {
                assertEquals(digest, restored.digest());
            }
        }
    }

    /**
     * Commands written while a rewrite runs go to the incr file the rewrite opened, which the new
     * manifest still lists: the old epoch must hold them up to the switch, or a restore to a time
     * before the new base misses them.
     */
    @Test
    void theIncrFileOpenedByARewriteIsFinishedInTheOldEpoch() throws Exception {
        RepositoryLocation loc = TestAgent.repository(tmp);
        EventLog log = new EventLog(System.out, Clock.systemUTC(), AgentConfig.LogLevel.INFO, false);
        try (RedisProcess redis = RedisProcess.start(tmp.resolve("redis"));
             Repository repo = Repository.open(loc.openStore(Clock.systemUTC()), KeyFile.load(loc.keyFile()), Clock.systemUTC(), new SecureRandom())) {
            AofShipper shipper = new AofShipper(repo, "cache", redis.dir, Clock.systemUTC(), log);
            shipper.resume();
            for (int i = 0; i < 300; i++) {
                redis.call("SET", "k" + i, "v" + i);
            }
            shipper.tick();
            String base1 = AofShippingTest.baseFile(redis);
            redis.call("CONFIG", "SET", "rdb-key-save-delay", "15000"); // microseconds per key: the rewrite takes ~4.5 s
            redis.call("BGREWRITEAOF");
            long t0 = redis.timeSeconds();
            RedisProcess.poll(Duration.ofSeconds(5), () -> {
                try {
                    return redis.timeSeconds() > t0;
                } catch (java.io.IOException e) {
                    return false;
                }
            });
            redis.call("SET", "during", "1");
            redis.call("INCR", "counter");
            long t = redis.timeSeconds();
            String atT = redis.digest();
            RedisProcess.poll(Duration.ofSeconds(5), () -> {
                try {
                    return redis.timeSeconds() > t;
                } catch (java.io.IOException e) {
                    return false;
                }
            });
            assertTrue(redis.info("persistence").contains("aof_rewrite_in_progress:1"), "the rewrite must still run");
            redis.call("SET", "later", "2");
            RedisProcess.poll(Duration.ofSeconds(60), () -> {
                try {
                    return !AofShippingTest.baseFile(redis).equals(base1) && redis.info("persistence").contains("aof_rewrite_in_progress:0");
                } catch (java.io.IOException e) {
                    return false;
                }
            });
            redis.call("CONFIG", "SET", "rdb-key-save-delay", "0");
            AofShipper.Tick switched = shipper.tick();
            assertTrue(switched.newEpoch());
            assertTrue(!switched.gap());
            shipper.tick();
            shipper.closeAll();
            AofRestore.Result r = new AofRestore(repo, new SecureRandom()).restore(new AofRestore.Options("cache", tmp.resolve("restore/t"),
                    List.of(tmp.resolve("restore")), false, Optional.of(java.time.Instant.ofEpochSecond(t))));
            assertEquals(1, r.epoch());
            assertTrue(r.cut());
            try (RedisProcess restored = RedisProcess.start(tmp.resolve("restore/t"))) {
                assertEquals(atT, restored.digest());
            }
        }
    }

    /**
     * After a crash Redis may rewrite an incr file's tail (aof-load-truncated, then new commands) to
     * a size past the stored end: the bytes before the stored end differ, so appending would mix two
     * histories. The shipper starts a new epoch with gap_before instead, also after a restart (it
     * reads the stored tail back from the repository).
     */
    @Test
    void anIncrFileThatNoLongerHoldsTheStoredBytesStartsANewEpoch() throws Exception {
        diverges(false);
        diverges(true);
    }

    private void diverges(boolean restart) throws Exception {
        Path root = tmp.resolve("case-" + restart);
        RepositoryLocation loc = TestAgent.repository(root);
        EventLog log = new EventLog(System.out, Clock.systemUTC(), AgentConfig.LogLevel.INFO, false);
        Path aof = root.resolve("redis/appendonlydir");
        java.nio.file.Files.createDirectories(aof);
        java.nio.file.Files.writeString(aof.resolve("appendonly.aof.1.base.rdb"), "REDIS0011 base");
        java.nio.file.Files.writeString(aof.resolve("appendonly.aof.manifest"), AofManifest.render(
                new AofManifest.Entry("appendonly.aof.1.base.rdb", 1, 'b'), List.of(new AofManifest.Entry("appendonly.aof.1.incr.aof", 1, 'i'))));
        Path incr = aof.resolve("appendonly.aof.1.incr.aof");
        String a = AofScannerTest.cmd("SET", "a", "1");
        String b = AofScannerTest.cmd("SET", "b", "2");
        String x = AofScannerTest.cmd("SET", "b", "X");
        java.nio.file.Files.writeString(incr, a);
        try (Repository repo = Repository.open(loc.openStore(Clock.systemUTC()), KeyFile.load(loc.keyFile()), Clock.systemUTC(), new SecureRandom())) {
            AofShipper shipper = new AofShipper(repo, "cache", root.resolve("redis"), Clock.systemUTC(), log);
            shipper.resume();
            assertTrue(shipper.tick().newEpoch());
            assertEquals(1, shipper.epoch().orElseThrow().epoch());
            java.nio.file.Files.writeString(incr, b, java.nio.file.StandardOpenOption.APPEND); // appended: same epoch
            assertTrue(!shipper.tick().newEpoch());
            if (restart) {
                shipper.closeAll();
                shipper = new AofShipper(repo, "cache", root.resolve("redis"), Clock.systemUTC(), log);
                shipper.resume();
            }
            // the same length as stored but other bytes, then more: diverged
            java.nio.file.Files.writeString(incr, a + x + b);
            shipper.tick();
            AofShipper.Tick t = shipper.tick();
            assertTrue(t.newEpoch());
            assertTrue(t.gap());
            assertEquals(2, shipper.epoch().orElseThrow().epoch());
            assertTrue(shipper.epoch().orElseThrow().gapBefore());
            shipper.closeAll();
            AofRestore.Result r = new AofRestore(repo, new SecureRandom()).restore(new AofRestore.Options("cache",
                    root.resolve("restore/x"), List.of(root.resolve("restore")), false, Optional.empty()));
            assertEquals(2, r.epoch());
            assertEquals(a + x + b, java.nio.file.Files.readString(root.resolve("restore/x/appendonlydir/appendonly.aof.1.incr.aof")));
        }
    }
}
