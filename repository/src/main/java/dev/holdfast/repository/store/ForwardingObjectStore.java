package dev.holdfast.repository.store;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A decorator that forwards every call to another store; subclasses override what they observe or
 * change (counting, throttling, fault injection in tests). Every part of every multipart upload
 * passes through {@link #uploadPart(MultipartUpload, int, ByteBuffer)}.
 */
public class ForwardingObjectStore implements ObjectStore {
    protected final ObjectStore store;

    public ForwardingObjectStore(ObjectStore store) {
        this.store = Objects.requireNonNull(store, "store");
    }

    /** The hook for parts: forwards to {@code upload} by default. */
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
        return store.startMultipart(key, options).thenApply(Forwarded::new);
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

    private final class Forwarded implements MultipartUpload {
        private final MultipartUpload upload;

        Forwarded(MultipartUpload upload) {
            this.upload = upload;
        }

        @Override
        public ObjectKey key() {
            return upload.key();
        }

        @Override
        public CompletableFuture<Void> uploadPart(int partNumber, ByteBuffer data) {
            return ForwardingObjectStore.this.uploadPart(upload, partNumber, data);
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
