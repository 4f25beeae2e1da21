package dev.holdfast.agent.pipeline;

import dev.holdfast.repository.store.ListPage;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.PutOptions;
import dev.holdfast.repository.store.StoreCapabilities;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongConsumer;

/**
 * Reports the bytes of every successful {@code create} and {@code uploadPart} to {@code acked}
 * (on the store's thread), so that progress counts what the store has acknowledged rather than
 * what is buffered. One per upload; everything else is passed through.
 *
 * <p>The returned futures complete only after {@code acked} has run, so a caller that waits for
 * them sees the acknowledgement reported first.
 */
final class AckCountingStore implements ObjectStore {
    private final ObjectStore store;
    private final LongConsumer acked;

    AckCountingStore(ObjectStore store, LongConsumer acked) {
        this.store = store;
        this.acked = acked;
    }

    private CompletableFuture<Void> counted(CompletableFuture<Void> f, int bytes) {
        return f.whenComplete((v, t) -> {
            if (t == null) {
                acked.accept(bytes);
            }
        });
    }

    @Override
    public String describe() {
        return store.describe();
    }

    @Override
    public StoreCapabilities capabilities() {
        return store.capabilities();
    }

    @Override
    public CompletableFuture<Void> create(ObjectKey key, ByteBuffer data, PutOptions options) {
        return counted(store.create(key, data, options), data.remaining());
    }

    @Override
    public CompletableFuture<MultipartUpload> startMultipart(ObjectKey key, PutOptions options) {
        return store.startMultipart(key, options).thenApply(Counted::new);
    }

    @Override
    public CompletableFuture<byte[]> get(ObjectKey key) {
        return store.get(key);
    }

    @Override
    public CompletableFuture<byte[]> getRange(ObjectKey key, long offset, long length) {
        return store.getRange(key, offset, length);
    }

    @Override
    public CompletableFuture<InputStream> openStream(ObjectKey key) {
        return store.openStream(key);
    }

    @Override
    public CompletableFuture<Optional<ObjectInfo>> head(ObjectKey key) {
        return store.head(key);
    }

    @Override
    public CompletableFuture<ListPage> list(String prefix, Optional<String> continuation, int maxKeys) {
        return store.list(prefix, continuation, maxKeys);
    }

    @Override
    public CompletableFuture<Void> delete(ObjectKey key) {
        return store.delete(key);
    }

    /** Does nothing: the wrapped store belongs to the pipeline's owner. */
    @Override
    public void close() {
    }

    @Override
    public String toString() {
        return "AckCountingStore[" + store.describe() + "]";
    }

    private final class Counted implements MultipartUpload {
        private final MultipartUpload upload;

        Counted(MultipartUpload upload) {
            this.upload = upload;
        }

        @Override
        public ObjectKey key() {
            return upload.key();
        }

        @Override
        public CompletableFuture<Void> uploadPart(int partNumber, ByteBuffer data) {
            return counted(upload.uploadPart(partNumber, data), data.remaining());
        }

        @Override
        public CompletableFuture<Void> complete() {
            return upload.complete();
        }

        @Override
        public CompletableFuture<Void> abort() {
            return upload.abort();
        }
    }
}
