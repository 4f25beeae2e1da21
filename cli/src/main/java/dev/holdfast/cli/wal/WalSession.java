package dev.holdfast.cli.wal;

import dev.holdfast.agent.pipeline.UploadOptions;
import dev.holdfast.agent.pipeline.UploadPipeline;
import dev.holdfast.agent.wal.WalRepository;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.wal.WalLayout;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;

/** A short-lived Vert.x, repository and upload pipeline for one CLI command that touches WAL (or a backup). */
public final class WalSession implements AutoCloseable {
    public final Vertx vertx;
    public final Repository repository;
    final UploadPipeline pipeline;

    private final boolean ownsRepository;

    public WalSession(RepositoryOptions options) {
        this(options.open(Ambient.clock(), Ambient.random()), true);
    }

    /** Over a repository the caller opened and closes. */
    public WalSession(Repository repository) {
        this(repository, false);
    }

    private WalSession(Repository repository, boolean ownsRepository) {
        this.repository = repository;
        this.ownsRepository = ownsRepository;
        this.vertx = Vertx.vertx();
        UploadOptions uo = new UploadOptions().setSha256(true).setSegmentSize(repository.config().segmentSize())
                .setZstdLevel(repository.config().compressionLevel()).setWorkerPoolName("holdfast-cli-seal");
        this.pipeline = UploadPipeline.create(vertx, repository.store(), repository.keyring(), repository.config().repositoryId(), uo,
                Ambient.clock(), Ambient.random());
    }

    public WalRepository walRepository(WalLayout layout) {
        return new WalRepository(vertx, repository, pipeline, layout, Ambient.clock());
    }

    /** Waits for {@code f} from this (non-Vert.x) thread; rethrows its HoldfastException. */
    public static <T> T await(Future<T> f) {
        return Futures.await(f.toCompletionStage(), Duration.ofHours(1), ErrorCode.STORE_UNAVAILABLE, "the repository");
    }

    @Override
    public void close() {
        try {
            await(pipeline.close());
            await(vertx.close());
        } finally {
            if (ownsRepository) {
                repository.close();
            }
        }
    }
}
