package dev.holdfast.agent.postgres.stream;

import dev.holdfast.agent.pipeline.UploadOptions;
import dev.holdfast.agent.pipeline.UploadPipeline;
import dev.holdfast.agent.wal.WalRepository;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.fs.FsObjectStore;
import dev.holdfast.repository.wal.WalIndex;
import dev.holdfast.repository.wal.WalLayout;
import dev.holdfast.testkit.PgCluster;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** A repository, a pipeline and helpers shared by the stream-mode tests. */
final class WalRig implements AutoCloseable {
    final Vertx vertx = Vertx.vertx();
    final ObjectStore store;
    final Repository repository;
    final UploadPipeline pipeline;
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    WalRig(Path dir) {
        this(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()), dir);
    }

    WalRig(ObjectStore store, Path dir) {
        this.store = store;
        SecureRandom random = new SecureRandom();
        KeyFile key = KeyFile.create(dir.resolve("master.key"), Clock.systemUTC(), random);
        this.repository = Repository.init(store, key, 1 << 20, 3, "test", Clock.systemUTC(), random);
        this.pipeline = UploadPipeline.create(vertx, store, repository.keyring(), repository.config().repositoryId(),
                new UploadOptions().setSha256(true));
    }

    WalRepository wal(String source, PgCluster pg) {
        return new WalRepository(vertx, repository, pipeline, new WalLayout(source, pg.systemIdentifier()), Clock.systemUTC());
    }

    WalIndex index(String source, PgCluster pg) throws Exception {
        return await(wal(source, pg).index());
    }

    static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(2, TimeUnit.MINUTES);
    }

    static void waitFor(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(100);
        }
    }

    @Override
    public void close() throws Exception {
        await(pipeline.close());
        await(vertx.close());
        store.close();
    }
}
