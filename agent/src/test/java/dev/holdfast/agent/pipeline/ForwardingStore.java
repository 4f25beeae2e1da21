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

/**
 * A store decorator for fault injection and observation in tests: forwards everything; subclasses
 * override {@link #uploadPart} (and anything else) to delay, count or fail.
 */
class ForwardingStore implements ObjectStore {
    protected final ObjectStore store;

    ForwardingStore(ObjectStore store) {
        this.store = store;
    }

    /** Every part of every multipart upload goes through here. */
    protected CompletableFuture<Void> uploadPart(MultipartUpload upload, int partNumber, ByteBuffer data) {
        return upload.uploadPart(partNumber, data);
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
        return store.create(key, data, options);
    }

    @Override
    public CompletableFuture<MultipartUpload> startMultipart(ObjectKey key, PutOptions options) {
        return store.startMultipart(key, options).thenApply(u -> new MultipartUpload() {
            @Override
            public ObjectKey key() {
                return u.key();
            }

            @Override
            public CompletableFuture<Void> uploadPart(int partNumber, ByteBuffer data) {
                return ForwardingStore.this.uploadPart(u, partNumber, data);
            }

            @Override
            public CompletableFuture<Void> complete() {
                return u.complete();
            }

            @Override
            public CompletableFuture<Void> abort() {
                return u.abort();
            }
        });
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

    @Override
    public void close() {
        store.close();
    }
}
