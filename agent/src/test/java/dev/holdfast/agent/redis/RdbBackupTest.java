package dev.holdfast.agent.redis;

import static dev.holdfast.testkit.RedisProcess.poll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.RedisSourceConfig;
import dev.holdfast.agent.daemon.TestAgent;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.testkit.KeyspaceWriter;
import dev.holdfast.testkit.RedisProcess;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryLocation;
import dev.holdfast.repository.crypto.KeyFile;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RDB snapshots: BGSAVE through Lettuce against a real redis-server, restored and checked with redis-check-rdb and DEBUG DIGEST. */
class RdbBackupTest {
    @TempDir
    Path tmp;

    @Test
    void aSnapshotTakenUnderLoadRestoresTheDigestItWasTakenAt() throws Exception {
        RepositoryLocation loc = TestAgent.repository(tmp);
        try (RedisProcess redis = RedisProcess.start(tmp.resolve("redis"));
             Repository repo = Repository.open(loc.openStore(Clock.systemUTC()), KeyFile.load(loc.keyFile()), Clock.systemUTC(), new SecureRandom())) {
            RedisSourceConfig src = new RedisSourceConfig("cache", "redis://127.0.0.1:" + redis.port, redis.dir);
            try (KeyspaceWriter w = new KeyspaceWriter(redis, "a")) {
                poll(Duration.ofSeconds(120), () -> w.ops() > 1000);
                // a snapshot while the writer runs: it must complete (the digest is checked on the next one)
                new RdbBackup(repo, Clock.systemUTC()).run(src, Duration.ofMinutes(2));
            }
            String digest = redis.digest();
            RdbBackup.Manifest m = new RdbBackup(repo, Clock.systemUTC()).run(src, Duration.ofMinutes(2));
            try (KeyspaceWriter w = new KeyspaceWriter(redis, "b")) {
                poll(Duration.ofSeconds(120), () -> w.ops() > 200);
            }
            assertNotEquals(digest, redis.digest());

            Path target = tmp.resolve("restore/rdb");
            RdbRestore.Result r = new RdbRestore(repo).restore("cache", "latest", target, List.of(tmp.resolve("restore")), false);
            assertEquals(m.id(), r.backup().id());
            Process check = new ProcessBuilder("redis-check-rdb", r.file().toString()).redirectErrorStream(true).start();
            String out = new String(check.getInputStream().readAllBytes());
            assertTrue(check.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, check.exitValue(), out);
            assertTrue(out.contains("RDB looks OK"), out);
            try (RedisProcess restored = RedisProcess.start(target, "--appendonly", "no", "--dbfilename", "dump.rdb")) {
                assertEquals(digest, restored.digest());
            }
            HoldfastException e = assertThrows(HoldfastException.class,
                    () -> new RdbRestore(repo).restore("cache", "20000101T000000Z-rdb", tmp.resolve("restore/x"), List.of(tmp.resolve("restore")), false));
            assertEquals(ErrorCode.NOT_FOUND, e.code());
        }
    }
}
