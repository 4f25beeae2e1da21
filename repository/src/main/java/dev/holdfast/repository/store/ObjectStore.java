package dev.holdfast.repository.store;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The one interface every storage backend implements (S3, filesystem) and every decorator wraps
 * (retry, throttle, metrics, fault injection). ObjectStoreContract in the test sources is the
 * suite every implementation must pass against the real backend.
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li><b>Never overwrite.</b> {@link #create} and {@link MultipartUpload#complete} fail with
 *       {@code OBJECT_EXISTS} when the key exists; the existing object is left untouched.</li>
 *   <li><b>All or nothing.</b> An object is visible (get, head, list) only once complete, with all
 *       its bytes. A failed or abandoned write leaves nothing visible.</li>
 *   <li><b>Errors are translated.</b> Futures fail with {@link StoreException} (or another
 *       {@code HoldfastException}); vendor exceptions never escape. A missing object is
 *       {@code OBJECT_NOT_FOUND}.</li>
 *   <li><b>Non-blocking.</b> Methods return at once; work happens on the store's own threads. The
 *       returned futures may complete on those threads: callers must not block in callbacks.</li>
 *   <li><b>Buffers are borrowed.</b> Implementations read data from a duplicate of the buffer they
 *       are given and never change its position or contents, so a caller (or a retry) may send the
 *       same buffer again. The caller must not modify it until the future completes.</li>
 *   <li>{@link #delete} is idempotent: deleting an absent key succeeds.</li>
 * </ul>
 */
public interface ObjectStore extends AutoCloseable {

    /** A description for humans and logs, never containing credentials (e.g. {@code s3://bucket/prefix}). */
    String describe();

    /** What this store supports; callers use it to pick part sizes and to refuse unsupported options. */
    StoreCapabilities capabilities();

    /** Creates {@code key} holding {@code data}, unless it exists (then {@code OBJECT_EXISTS}). */
    CompletableFuture<Void> create(ObjectKey key, ByteBuffer data, PutOptions options);

    /** Starts a multipart upload of {@code key}; nothing is visible until {@link MultipartUpload#complete}. */
    CompletableFuture<MultipartUpload> startMultipart(ObjectKey key, PutOptions options);

    /** Reads a whole object into memory. For small objects (manifests, envelopes); use {@link #openStream} otherwise. */
    CompletableFuture<byte[]> get(ObjectKey key);

    /**
     * Reads {@code length} bytes from {@code offset}. Fewer bytes come back only when the object ends
     * first; an offset at or past the end gives an empty array.
     */
    CompletableFuture<byte[]> getRange(ObjectKey key, long offset, long length);

    /**
     * Opens the object for streaming. The stream is blocking: read it on a worker thread, never on
     * an event loop, and close it. Failures while reading surface as {@code IOException}s whose cause
     * is a {@link StoreException}.
     */
    CompletableFuture<InputStream> openStream(ObjectKey key);

    /** The object's metadata, or empty when it does not exist. */
    CompletableFuture<Optional<ObjectInfo>> head(ObjectKey key);

    /**
     * Lists complete objects whose key starts with {@code prefix} (a plain string prefix, which need
     * not end at a segment boundary; empty lists everything), at most {@code maxKeys} per page, in
     * ascending key order. Pass the previous page's {@link ListPage#next()} to continue.
     */
    CompletableFuture<ListPage> list(String prefix, Optional<String> continuation, int maxKeys);

    /** Deletes {@code key}; succeeds when it is absent. */
    CompletableFuture<Void> delete(ObjectKey key);

    /** Lists every page. For bounded prefixes; the result is held in memory. */
    default CompletableFuture<List<ObjectInfo>> listAll(String prefix) {
        List<ObjectInfo> all = new ArrayList<>();
        return listFrom(prefix, Optional.empty(), all).thenApply(v -> all);
    }

    private CompletableFuture<Void> listFrom(String prefix, Optional<String> token, List<ObjectInfo> into) {
        return list(prefix, token, 1000).thenCompose(page -> {
            into.addAll(page.objects());
            return page.next().isPresent() ? listFrom(prefix, page.next(), into) : CompletableFuture.completedFuture(null);
        });
    }

    /** Releases clients and threads. */
    @Override
    void close();

    /**
     * One multipart upload in progress. Parts are numbered from 1; every part but the last must be at
     * least {@link StoreCapabilities#minPartSize()} bytes. Parts may be uploaded concurrently and
     * in any order; uploading the same part number again replaces that part.
     */
    interface MultipartUpload {
        ObjectKey key();

        CompletableFuture<Void> uploadPart(int partNumber, ByteBuffer data);

        /**
         * Makes the object visible from parts 1..n (all must have been uploaded). Fails with
         * {@code OBJECT_EXISTS} if the key appeared meanwhile; on any failure the caller must {@link #abort}.
         */
        CompletableFuture<Void> complete();

        /** Discards the upload and its parts; idempotent, and safe after a failed complete. */
        CompletableFuture<Void> abort();
    }
}
