package dev.holdfast.agent.pipeline;

import dev.holdfast.repository.store.ForwardingObjectStore;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.PutOptions;
import java.nio.ByteBuffer;
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
final class AckCountingStore extends ForwardingObjectStore {
    private final LongConsumer acked;

    AckCountingStore(ObjectStore store, LongConsumer acked) {
        super(store);
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
    public CompletableFuture<Void> create(ObjectKey key, ByteBuffer data, PutOptions options) {
        return counted(store.create(key, data, options), data.remaining());
    }

    @Override
    protected CompletableFuture<Void> uploadPart(MultipartUpload upload, int partNumber, ByteBuffer data) {
        return counted(upload.uploadPart(partNumber, data), data.remaining());
    }

    /** Does nothing: the wrapped store belongs to the pipeline's owner. */
    @Override
    public void close() {
    }

    @Override
    public String toString() {
        return "AckCountingStore[" + store.describe() + "]";
    }
}
