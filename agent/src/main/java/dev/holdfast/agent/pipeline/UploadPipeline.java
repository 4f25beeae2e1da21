package dev.holdfast.agent.pipeline;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.crypto.DataKey;
import dev.holdfast.repository.crypto.GcmWarmUp;
import dev.holdfast.repository.crypto.Keyring;
import dev.holdfast.repository.seal.ObjectHeader;
import dev.holdfast.repository.seal.SegmentCodec;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.PutOptions;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.streams.ReadStream;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Objects;

/**
 * Seals byte streams into repository objects (docs/format.md section 6) and uploads them, without
 * blocking the event loop and in bounded memory: the agent's data path.
 *
 * <pre>
 *  event loop (the upload's context)          worker pool ("threads")                store threads
 *  ─────────────────────────────────          ───────────────────────                ─────────────
 *  ReadStream&lt;Buffer&gt; ──pause/resume──┐
 *   (any stream)                      v
 *              cut into segments (slices) ──i──> copy into a pooled buffer,
 *  a file: segment i = range i ───────────i──> positional read into a pooled buffer,
 *                                                zstd + AES-GCM              (any order, in parallel)
 *                                          ──i──> CRC32C / SHA-256           (in index order)
 *              in-order writer &lt;── sealed i, digested i
 *               header, 0, 1, …, footer ──i──> StreamingUpload.write         ──parts──> uploadPart
 *                   (next write once the previous one's back-pressure future completes)   complete on finish()
 * </pre>
 *
 * <h2>Threads</h2>
 * Everything of one upload that moves no bytes runs on one Vert.x context, the one that called
 * {@link #upload} (a new event-loop context when called from a non-Vert.x thread): reading,
 * cutting the input into segments (as slices, without copying), ordering, flow control and
 * progress. Every byte copy and all CPU work run on a named shared worker pool of
 * {@link UploadOptions#getThreads()} threads (the object key's derivation, reading or assembling each
 * segment, zstd + GCM), and the in-order steps (digests, footer, {@code StreamingUpload.write},
 * which copies into parts) on a second pool of the same size, so they never queue behind sealing. Store
 * futures are bridged back onto the context with {@code Future.fromCompletionStage}. A source
 * passed to {@link #upload} must deliver its events on that same context (true of a stream opened
 * by code running on it).
 *
 * <h2>Back-pressure and memory</h2>
 * A segment is <em>in flight</em> from the moment it is complete (full, or the last) until it is
 * handed to the {@code StreamingUpload}. When {@code M =}
 * {@link UploadOptions#effectiveMaxSegmentsInFlight()} segments are in flight the source is paused;
 * it resumes when one is handed over. The {@code StreamingUpload} holds the part being filled plus
 * at most {@code maxInFlightParts} parts uploading, and completes a write only when a part slot is
 * free, which stops the writer, which keeps segments in flight, which pauses the source:
 * back-pressure runs from the store to the source. Per upload, memory is bounded by
 * <pre>
 *   M × segmentSize                       plaintext buffers (pooled: at most one per segment in
 *                                         flight, reused once sealed and digested)
 * + M × (segmentSize + 21)                sealed frames (a frame is dropped once handed over)
 * + segmentSize + 2 × R                   a stream's buffers of the segment being formed, and a
 *                                         read that arrived as it was paused (R: the stream's
 *                                         buffer size; nothing for files, read straight into
 *                                         the plaintext buffers)
 * + (maxInFlightParts + 1) × partSize     StreamingUpload
 * </pre>
 * plus, per worker thread, about {@code segmentSize} of sealing scratch space. With the defaults on
 * 2 cores (M = 6, 1 MiB segments, 8 MiB parts, 2 in flight) that is at most about 13 MiB + 24 MiB
 * per upload of a file.
 *
 * <h2>Results and failures</h2>
 * Zero bytes of input give an object of header and footer only; an input that is an exact multiple
 * of the segment size has no empty last segment. The bytes written are exactly those the
 * repository's synchronous {@code SealingOutputStream} would write for the same header. The object
 * becomes visible only when {@code StreamingUpload.finish()} succeeds; any failure (source error,
 * sealing error, store failure) or {@link Upload#cancel()} before that stops reading, aborts the
 * upload so nothing is visible under the key, and fails {@link Upload#result()} with the first
 * cause (see there).
 *
 * <p>Thread-safe: one pipeline serves any number of concurrent uploads, which share its worker pool.
 */
public final class UploadPipeline {
    private final Vertx vertx;
    private final ObjectStore store;
    private final Keyring keyring;
    private final byte[] repositoryId;
    private final UploadOptions options;
    private final Clock clock;
    private final SecureRandom random;
    private final SegmentSealer sealer;
    private final WorkerExecutor workers;
    /** The in-order steps (digest, footer, hand-off to the upload): never queued behind sealing. */
    private final WorkerExecutor ordered;

    UploadPipeline(Vertx vertx, ObjectStore store, Keyring keyring, byte[] repositoryId, UploadOptions options,
                   Clock clock, SecureRandom random, SegmentSealer sealer) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.store = Objects.requireNonNull(store, "store");
        this.keyring = Objects.requireNonNull(keyring, "keyring");
        this.repositoryId = Objects.requireNonNull(repositoryId, "repositoryId").clone();
        this.options = new UploadOptions(Objects.requireNonNull(options, "options"));
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
        this.sealer = Objects.requireNonNull(sealer, "sealer");
        long minPart = store.capabilities().minPartSize();
        if (this.options.getPartSize() < minPart) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "upload part size " + this.options.getPartSize()
                    + " is below the minimum part size " + minPart + " of " + store.describe());
        }
        // From cold, JDK 17's GCM runs under 100 MB/s until compiled (docs/format.md section 10).
        GcmWarmUp.startInBackground();
        this.workers = vertx.createSharedWorkerExecutor(this.options.getWorkerPoolName(), this.options.getThreads());
        // A second pool, so an upload's in-order steps never wait behind another segment's sealing
        // (measured: sharing one pool capped a 2-thread upload at the speed of one). Each upload's
        // steps are sequential through its future chains, whatever the pool's size.
        this.ordered = vertx.createSharedWorkerExecutor(this.options.getWorkerPoolName() + "-ordered", this.options.getThreads());
    }

    /**
     * A pipeline writing to {@code store}, sealing new objects with the keyring's current data key
     * for the repository {@code repositoryId}.
     *
     * @throws HoldfastException {@code CONFIG_INVALID} when the part size is below the store's minimum
     */
    public static UploadPipeline create(Vertx vertx, ObjectStore store, Keyring keyring, byte[] repositoryId,
                                        UploadOptions options) {
        return create(vertx, store, keyring, repositoryId, options, Clock.systemUTC(), new SecureRandom());
    }

    /** As {@link #create(Vertx, ObjectStore, Keyring, byte[], UploadOptions)}, with the clock and randomness injected. */
    public static UploadPipeline create(Vertx vertx, ObjectStore store, Keyring keyring, byte[] repositoryId,
                                        UploadOptions options, Clock clock, SecureRandom random) {
        return new UploadPipeline(vertx, store, keyring, repositoryId, options, clock, random, SegmentSealer.CODEC);
    }

    /** A copy of the options in force. */
    public UploadOptions options() {
        return new UploadOptions(options);
    }

    /** Uploads everything {@code source} emits until its end, as {@code key}, with default put options. */
    public Upload upload(ObjectKey key, ReadStream<Buffer> source) {
        return upload(key, source, PutOptions.DEFAULT, null);
    }

    /**
     * Uploads everything {@code source} emits until its end, as {@code key}. The pipeline sets the
     * source's handlers and pauses and resumes it; it neither closes it nor reads it after the upload
     * ends or fails.
     *
     * @param progress called on the upload's context as the counts advance (after each segment and
     *                 each store acknowledgement) and once at the end; may be null. It must not
     *                 block; an exception it throws fails the upload.
     */
    public Upload upload(ObjectKey key, ReadStream<Buffer> source, PutOptions putOptions, Handler<UploadProgress> progress) {
        Objects.requireNonNull(source, "source");
        return start(key, "the source stream", () -> Future.succeededFuture(source), false, putOptions, progress);
    }

    /** Uploads the file at {@code path} as {@code key}, with default put options. */
    public Upload uploadFile(ObjectKey key, String path) {
        return uploadFile(key, path, PutOptions.DEFAULT, null);
    }

    /**
     * Uploads the file at {@code path} as {@code key}. The file is opened read-only (never created)
     * and each worker reads the segment it seals with a positional read, so reading runs in
     * parallel and the event loop moves no bytes (an {@code AsyncFile} stream was measured to cap
     * uploads at the speed of its one read chain). The bytes uploaded are the file's first
     * {@code size} bytes when the upload starts; a file that cannot be opened, or shrinks while it
     * is read, fails the upload with {@code IO_ERROR}. The file is closed when the upload ends.
     *
     * @param progress as for {@link #upload(ObjectKey, ReadStream, PutOptions, Handler)}
     */
    public Upload uploadFile(ObjectKey key, String path, PutOptions putOptions, Handler<UploadProgress> progress) {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(putOptions, "putOptions");
        Context context = vertx.getOrCreateContext();
        DataKey dataKey = keyring.current();
        SealedUpload upload = new SealedUpload(context, workers, ordered, sealer, store, key, "file '" + path + "'", putOptions,
                options, progress, clock);
        upload.startFile(() -> newCodec(key, dataKey), java.nio.file.Path.of(path));
        return upload;
    }

    private SegmentCodec newCodec(ObjectKey key, DataKey dataKey) {
        return SegmentCodec.of(ObjectHeader.fresh(1, dataKey.version(), options.getSegmentSize(), options.isSha256(), random),
                key, dataKey, repositoryId, options.getZstdLevel());
    }

    private Upload start(ObjectKey key, String sourceName, java.util.function.Supplier<Future<ReadStream<Buffer>>> open,
                         boolean owned, PutOptions putOptions, Handler<UploadProgress> progress) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(putOptions, "putOptions");
        Context context = vertx.getOrCreateContext();
        DataKey dataKey = keyring.current();
        SealedUpload upload = new SealedUpload(context, workers, ordered, sealer, store, key, sourceName, putOptions, options,
                progress, clock);
        upload.start(() -> newCodec(key, dataKey), open, owned);
        return upload;
    }

    /**
     * Releases this pipeline's hold on the shared worker pool. Uploads still running fail once they
     * next need a worker; the store is not closed (it belongs to the caller).
     */
    public Future<Void> close() {
        return Future.join(workers.close(), ordered.close()).mapEmpty();
    }

    @Override
    public String toString() {
        return "UploadPipeline[" + store.describe() + ", " + options + "]";
    }
}
