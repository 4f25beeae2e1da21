package dev.holdfast.agent.wal;

import dev.holdfast.agent.pipeline.UploadOptions;
import dev.holdfast.agent.pipeline.UploadPipeline;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.fs.FsObjectStore;
import dev.holdfast.repository.store.RetryPolicy;
import dev.holdfast.repository.store.RetryingObjectStore;
import dev.holdfast.repository.store.s3.S3ObjectStore;
import dev.holdfast.repository.wal.WalSegmentName;
import dev.holdfast.testkit.S3TestServer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** Shared test helpers: repositories on both stores, synthetic WAL segments, awaiting futures. */
final class TestWal {
    static final long SEG = 1 << 20;
    static final String SYSID = "7311111111111111111";

    enum Store { FILE, S3 }

    private TestWal() {
    }

    /** A fresh repository on the given store (S3: a fresh prefix in the test server's bucket). */
    static Repository repository(Store kind, Path dir, S3TestServer s3, String name) throws Exception {
        Clock clock = Clock.systemUTC();
        SecureRandom random = new SecureRandom();
        ObjectStore store = kind == Store.FILE ? FsObjectStore.open(dir.resolve(name + "-repo"), clock)
                : RetryingObjectStore.wrap(S3ObjectStore.open(s3.storeConfig().prefix(name + "/").build()).get(60, TimeUnit.SECONDS),
                        RetryPolicy.DEFAULT); // as StoreFactory opens it: S3Proxy now and then drops a keep-alive connection
        KeyFile key = KeyFile.create(dir.resolve(name + ".key"), clock, random);
        return Repository.init(store, key, 64 * 1024, 3, "test", clock, random);
    }

    static UploadPipeline pipeline(Vertx vertx, Repository repo) {
        return UploadPipeline.create(vertx, repo.store(), repo.keyring(), repo.config().repositoryId(),
                new UploadOptions().setThreads(2).setSegmentSize(64 * 1024).setSha256(true));
    }

    /** A segment-sized file with PostgreSQL 15's long page header for {@code name}, then pseudo-random bytes. */
    static byte[] segment(String sysid, String name, long seed) {
        byte[] b = new byte[(int) SEG];
        new Random(seed).nextBytes(b);
        header(b, Long.parseUnsignedLong(sysid), WalSegmentName.parse(name).startLsn(SEG).value(), SEG);
        return b;
    }

    static void header(byte[] b, long sysid, long pageAddr, long segSize) {
        ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        h.putShort(0, (short) 0xD110).putShort(2, (short) 0x0007).putInt(4, 1).putLong(8, pageAddr).putInt(16, 0).putInt(20, 0)
                .putLong(24, sysid).putInt(32, (int) segSize).putInt(36, 8192);
    }

    static <T> T await(Future<T> f) {
        try {
            return f.toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            HoldfastException h = HoldfastException.find(e);
            if (h != null) {
                throw h;
            }
            throw new IllegalStateException(e.getCause());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] raw(Repository repo, String key) {
        return Futures.await(repo.store().get(dev.holdfast.repository.store.ObjectKey.of(key)));
    }
}
