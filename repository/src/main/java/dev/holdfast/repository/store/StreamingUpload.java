package dev.holdfast.repository.store;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * Writes one object from a stream of bytes of unknown length, holding at most
 * {@code (maxInFlightParts + 1) * partSize} bytes: the part being filled (which starts small and grows
 * to the part size, so a small object costs about its own size) plus the parts being
 * uploaded. That bound is configuration, not luck.
 *
 * <p>An object that fits in one part is written with a single {@link ObjectStore#create}; a larger
 * one as a multipart upload, started when the first part is full. Either way nothing is visible
 * before {@link #finish()} succeeds, and any failure aborts the multipart upload so that no part
 * lingers (bucket lifecycle rules for incomplete uploads are the second line of defence).
 *
 * <p>Back-pressure: {@link #write} returns a future that completes when the caller may write again.
 * At most one {@code write} or {@code finish} may be outstanding at a time. Not thread-safe for
 * concurrent callers; the internal completion callbacks are synchronized.
 */
public final class StreamingUpload {
    private final ObjectStore store;
    private final ObjectKey key;
    private final PutOptions options;
    /** The first buffer of an upload; it doubles up to the part size as bytes arrive. */
    static final int INITIAL_BUFFER = 64 * 1024;
    private final int partSize;
    private final int maxInFlightParts;

    private ByteBuffer current;
    private int nextPart = 1;
    private long bytes;
    private CompletableFuture<ObjectStore.MultipartUpload> upload;
    private final List<CompletableFuture<Void>> pending = new ArrayList<>();
    /**
     * Part buffers whose upload completed, for reuse: the store borrows a part's buffer only until
     * its future completes (ObjectStore's contract), and large buffers are costly to allocate.
     */
    private final java.util.ArrayDeque<ByteBuffer> free = new java.util.ArrayDeque<>();
    private Throwable failure;
    private CompletableFuture<Void> waiter;
    private boolean finished;

    public StreamingUpload(ObjectStore store, ObjectKey key, PutOptions options, int partSize, int maxInFlightParts) {
        this.store = Objects.requireNonNull(store, "store");
        this.key = Objects.requireNonNull(key, "key");
        this.options = Objects.requireNonNull(options, "options");
        if (partSize < store.capabilities().minPartSize()) {
            throw new IllegalArgumentException("part size " + partSize + " is below the store's minimum "
                    + store.capabilities().minPartSize());
        }
        if (maxInFlightParts < 1) {
            throw new IllegalArgumentException("maxInFlightParts must be >= 1");
        }
        this.partSize = partSize;
        this.maxInFlightParts = maxInFlightParts;
    }

    public ObjectKey key() {
        return key;
    }

    /** Bytes accepted so far. */
    public synchronized long bytes() {
        return bytes;
    }

    /**
     * Copies {@code data} (from its position to its limit; the buffer is consumed) into the upload.
     * The future completes when fewer than {@code maxInFlightParts} parts are in flight, or fails
     * with the first upload failure.
     */
    public CompletableFuture<Void> write(ByteBuffer data) {
        synchronized (this) {
            if (finished) {
                return CompletableFuture.failedFuture(new IllegalStateException("upload of " + key + " already finished"));
            }
            if (failure != null) {
                return CompletableFuture.failedFuture(failure);
            }
            bytes += data.remaining();
            while (data.hasRemaining()) {
                if (current == null) {
                    ByteBuffer reused = free.pollFirst();
                    current = reused != null ? reused.clear()
                            : ByteBuffer.allocate((int) Math.min(partSize, Math.max(INITIAL_BUFFER, data.remaining())));
                } else if (!current.hasRemaining()) {
                    // Grow towards partSize: a small object costs about its size, not a whole part.
                    ByteBuffer bigger = ByteBuffer.allocate((int) Math.min(partSize,
                            Math.max(2L * current.capacity(), (long) current.capacity() + data.remaining())));
                    current.flip();
                    bigger.put(current);
                    current = bigger;
                }
                int n = Math.min(current.remaining(), data.remaining());
                ByteBuffer slice = data.slice();
                slice.limit(n);
                current.put(slice);
                data.position(data.position() + n);
                if (!current.hasRemaining() && current.capacity() == partSize) {
                    current.flip();
                    sendPart(current);
                    current = null;
                }
            }
            if (pending.size() < maxInFlightParts) {
                return CompletableFuture.completedFuture(null);
            }
            waiter = new CompletableFuture<>();
            return waiter;
        }
    }

    /** Uploads what remains and makes the object visible. On failure the upload is aborted. */
    public CompletableFuture<Void> finish() {
        CompletableFuture<Void> done;
        synchronized (this) {
            if (finished) {
                return CompletableFuture.failedFuture(new IllegalStateException("upload of " + key + " already finished"));
            }
            finished = true;
            if (failure != null) {
                return abortQuietly().thenCompose(v -> CompletableFuture.failedFuture(failure));
            }
            ByteBuffer last = current == null ? ByteBuffer.allocate(0) : current.flip();
            current = null;
            if (upload == null) {
                // Fits in one part: a single conditional create, atomic by itself.
                return store.create(key, last, options);
            }
            if (last.hasRemaining()) {
                sendPart(last);
            }
            List<CompletableFuture<Void>> all = new ArrayList<>(pending);
            done = CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
                    .thenCompose(v -> upload)
                    .thenCompose(ObjectStore.MultipartUpload::complete);
        }
        return done.handle((v, t) -> t).thenCompose(t -> {
            if (t == null) {
                return CompletableFuture.completedFuture(null);
            }
            Throwable first;
            synchronized (this) {
                first = failure != null ? failure : t;
            }
            return abortQuietly().thenCompose(x -> CompletableFuture.failedFuture(first));
        });
    }

    /** Gives up: aborts the multipart upload, if one was started. Safe to call more than once. */
    public CompletableFuture<Void> abort() {
        synchronized (this) {
            finished = true;
            current = null;
        }
        return abortQuietly();
    }

    /**
     * Aborts at once, so a failure or cancellation is reported promptly, and aborts again once the
     * parts still in flight have settled: a part that lands after the first abort would otherwise
     * outlive it (a stray temp file, or an orphan part S3 keeps and bills; AWS documents this race
     * and the second abort). The returned future is the first abort's.
     */
    private CompletableFuture<Void> abortQuietly() {
        CompletableFuture<ObjectStore.MultipartUpload> u;
        List<CompletableFuture<Void>> inFlight;
        synchronized (this) {
            u = upload;
            inFlight = new ArrayList<>(pending);
        }
        if (u == null) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> first = u.thenCompose(ObjectStore.MultipartUpload::abort).handle((v, t) -> null);
        if (!inFlight.isEmpty()) {
            CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new))
                    .handle((v, t) -> null)
                    .thenCompose(x -> first)
                    .thenCompose(x -> u)
                    .thenCompose(ObjectStore.MultipartUpload::abort)
                    .handle((v, t) -> null);
        }
        return first;
    }

    // Called with the monitor held.
    private void sendPart(ByteBuffer part) {
        if (upload == null) {
            upload = store.startMultipart(key, options);
        }
        if (nextPart > store.capabilities().maxParts()) {
            fail(new HoldfastException(ErrorCode.STORE_ERROR, "object " + key + " needs more than "
                    + store.capabilities().maxParts() + " parts of " + partSize + " bytes; raise the part size"));
            return;
        }
        int number = nextPart++;
        CompletableFuture<Void> f = upload.thenCompose(u -> u.uploadPart(number, part));
        pending.add(f);
        f.whenComplete((v, t) -> {
            CompletableFuture<Void> wake;
            synchronized (this) {
                pending.remove(f);
                if (t != null) {
                    fail(t);
                } else if (part.capacity() == partSize && !finished) {
                    free.addLast(part);
                }
                wake = waiter;
                if (wake != null && (failure != null || pending.size() < maxInFlightParts)) {
                    waiter = null;
                } else {
                    wake = null;
                }
            }
            if (wake != null) {
                Throwable cause;
                synchronized (this) {
                    cause = failure;
                }
                if (cause != null) {
                    wake.completeExceptionally(cause);
                } else {
                    wake.complete(null);
                }
            }
        });
    }

    // Called with the monitor held.
    private void fail(Throwable t) {
        if (failure == null) {
            failure = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        }
    }
}
