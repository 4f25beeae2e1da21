package dev.holdfast.agent.pipeline;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.seal.Footer;
import dev.holdfast.repository.seal.PlaintextDigest;
import dev.holdfast.repository.seal.SegmentCodec;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.PutOptions;
import dev.holdfast.repository.store.StreamingUpload;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.AsyncFile;
import io.vertx.core.streams.ReadStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;

/**
 * The state machine of one upload (see {@link UploadPipeline} for the flow and its bounds).
 *
 * <p>Thread confinement: every field below {@code promise} is read and written only on
 * {@link #context} (one event loop), so none needs a lock. Work leaves the context only as worker
 * tasks (assembling and sealing segments, digests, the codec's key derivation) and store calls,
 * whose completions come back through context-bound Vert.x futures. Values handed to workers
 * (slices of source buffers, plaintext buffers, the digest) are published by the executor's
 * submission and come back by the future's completion, which order the accesses; source buffers
 * are only ever read, so a worker may copy from one while the event loop slices it further.
 *
 * <p>Ordering: {@link #digestChain} and {@link #writeChain} are futures extended once per segment
 * in index order, so the digest sees the plaintext in order and the upload receives the header,
 * the segments in index order and then the footer, with at most one {@code StreamingUpload} call
 * outstanding, whatever order the workers finish sealing in.
 */
final class SealedUpload implements Upload {
    private enum State { STARTING, READING, CLOSING, FINISHING, SUCCEEDED, FAILED }

    /** A segment's assembled plaintext and its sealed frame. */
    private record Sealed(ByteBuffer plaintext, ByteBuffer frame) {
    }

    private record SealedFooter(Footer footer, ByteBuffer frame) {
    }

    private final Context context;
    private final WorkerExecutor workers;
    private final WorkerExecutor ordered;
    private final SegmentSealer sealer;
    private final ObjectStore store;
    private final ObjectKey key;
    private final String sourceName;
    private final PutOptions putOptions;
    private final UploadOptions options;
    private final int maxInFlight;
    private final Handler<UploadProgress> progressHandler;
    private final Clock clock;
    private final Instant started;
    private final Promise<UploadResult> promise = Promise.promise();
    private volatile UploadProgress progress = UploadProgress.NONE;
    private volatile int peakInFlight;

    // Confined to the context.
    private State state = State.STARTING;
    private SegmentCodec codec;
    private PlaintextDigest digest;
    private StreamingUpload upload;
    private ReadStream<Buffer> source;
    private AsyncFile ownedFile;
    /** File mode: each segment's worker reads its own range with a positional read. */
    private FileChannel file;
    private long fileSize;
    private long fileOffset;
    private boolean sourcePaused;
    private boolean sourceEnded;
    private final ArrayDeque<Buffer> inbox = new ArrayDeque<>();
    private int inboxOffset;
    /** Slices of source buffers making up the segment being formed, {@code formingBytes} in all. */
    private List<Buffer> forming = new ArrayList<>();
    private int formingBytes;
    /** Plaintext buffers of segments already sealed and digested, for reuse: at most one per segment in flight. */
    private final ArrayDeque<ByteBuffer> plaintextPool = new ArrayDeque<>();
    private Future<Void> digestChain;
    private Future<Void> writeChain;
    private long segments;
    private int inFlight;
    private long plaintextRead;
    private long storedWritten;
    private long storedAcked;
    private boolean pumping;
    private boolean repump;

    /** @param sourceName names the source in error messages, e.g. {@code file '/var/log/x'} */
    SealedUpload(Context context, WorkerExecutor workers, WorkerExecutor ordered, SegmentSealer sealer, ObjectStore store, ObjectKey key,
                 String sourceName, PutOptions putOptions, UploadOptions options,
                 Handler<UploadProgress> progressHandler, Clock clock) {
        this.context = context;
        this.workers = workers;
        this.ordered = ordered;
        this.sealer = sealer;
        this.key = key;
        this.sourceName = sourceName;
        this.putOptions = putOptions;
        this.options = options;
        this.maxInFlight = options.effectiveMaxSegmentsInFlight();
        this.progressHandler = progressHandler;
        this.clock = clock;
        this.started = clock.instant();
        this.store = new AckCountingStore(store, bytes -> context.runOnContext(v -> acked(bytes)));
    }

    /**
     * Starts on the context: derives the codec on a worker, then opens the source. A source opened
     * here ({@code ownedFile}) is closed when the upload ends; a caller's stream is only paused.
     */
    void start(Supplier<SegmentCodec> newCodec, Supplier<Future<ReadStream<Buffer>>> openSource, boolean ownsSource) {
        context.runOnContext(v -> workers.executeBlocking(newCodec::get, false)
                .compose(c -> {
                    codec = c;
                    return state == State.STARTING ? openSource.get() : Future.failedFuture(stopped());
                })
                .onSuccess(s -> begin(s, ownsSource))
                .onFailure(this::fail));
    }

    @Override
    public ObjectKey key() {
        return key;
    }

    @Override
    public Future<UploadResult> result() {
        return promise.future();
    }

    @Override
    public void cancel() {
        context.runOnContext(v -> fail(new CancellationException("upload of '" + key + "' was cancelled")));
    }

    @Override
    public UploadProgress progress() {
        return progress;
    }

    @Override
    public int peakSegmentsInFlight() {
        return peakInFlight;
    }

    /**
     * Starts a file upload: opens {@code path} read-only and takes its size on a worker, then hands
     * out segments as ranges of the file. The bytes uploaded are the first {@code size} bytes as
     * the upload started; a file that shrinks meanwhile fails the upload with {@code IO_ERROR}.
     */
    void startFile(Supplier<SegmentCodec> newCodec, Path path) {
        context.runOnContext(v -> workers.executeBlocking(() -> {
                    SegmentCodec c = newCodec.get();
                    if (!java.nio.file.Files.isRegularFile(path)) {
                        // A FIFO or device reports size 0 and would upload as an empty object.
                        throw new HoldfastException(ErrorCode.IO_ERROR, "unable to upload " + sourceName + " as object '" + key + "': "
                                + (java.nio.file.Files.exists(path) ? "it is not a regular file" : "it does not exist"));
                    }
                    FileChannel ch;
                    try {
                        ch = FileChannel.open(path, StandardOpenOption.READ);
                    } catch (IOException | RuntimeException e) {
                        throw new HoldfastException(ErrorCode.IO_ERROR, "unable to open " + sourceName + " for object '" + key
                                + "': " + e, e);
                    }
                    try {
                        return new Object[] {c, ch, ch.size()};
                    } catch (IOException e) {
                        ch.close();
                        throw new HoldfastException(ErrorCode.IO_ERROR, "unable to read the size of " + sourceName + ": " + e, e);
                    }
                }, false)
                .onSuccess(r -> {
                    codec = (SegmentCodec) r[0];
                    file = (FileChannel) r[1];
                    fileSize = (Long) r[2];
                    if (state != State.STARTING) {
                        closeOwnedSource();
                        return;
                    }
                    state = State.READING;
                    try {
                        openObject();
                        pump();
                    } catch (RuntimeException e) {
                        fail(e);
                    }
                })
                .onFailure(this::fail));
    }

    /** Starts the object: the digest, the upload, and the header as its first bytes. */
    private void openObject() {
        digest = new PlaintextDigest(codec.header().sha256());
        upload = new StreamingUpload(store, key, putOptions, options.getPartSize(), options.getMaxInFlightParts());
        digestChain = Future.succeededFuture();
        writeChain = write(ByteBuffer.wrap(codec.header().encode()));
        writeChain.onFailure(this::fail);
    }

    private void begin(ReadStream<Buffer> s, boolean owned) {
        source = s;
        if (owned && s instanceof AsyncFile f) {
            ownedFile = f;
        }
        if (state != State.STARTING) {
            // cancelled while the source was opening
            closeOwnedSource();
            return;
        }
        state = State.READING;
        try {
            openObject();
            // Paused until pump() decides there is room, so no byte arrives before the handlers are set.
            source.pause();
            sourcePaused = true;
            source.exceptionHandler(this::onSourceError);
            source.endHandler(v -> onSourceEnd());
            source.handler(this::onData);
            pump();
        } catch (RuntimeException e) {
            // Thrown inside a future's callback it would be lost and the upload would never end.
            fail(e);
        }
    }

    private void onData(Buffer data) {
        if (state != State.READING || sourceEnded || data.length() == 0) {
            return;
        }
        plaintextRead += data.length();
        inbox.addLast(data);
        pump();
    }

    private void onSourceEnd() {
        if (state != State.READING) {
            return;
        }
        sourceEnded = true;
        pump();
    }

    private void onSourceError(Throwable t) {
        HoldfastException h = HoldfastException.find(t);
        fail(h != null ? h : new HoldfastException(ErrorCode.IO_ERROR, "unable to read " + sourceName + " for object '"
                + key + "': " + t.getMessage(), t));
    }

    /**
     * Cuts the inbox into segments and hands segments to the workers while there is room,
     * starts the close once the source has ended and everything is dispatched, then pauses or
     * resumes the source. Re-entrant calls (a source that emits inside {@code resume()}, a segment
     * handed over while pumping) only ask the running call to go round again.
     */
    private void pump() {
        if (pumping) {
            repump = true;
            return;
        }
        pumping = true;
        try {
            do {
                repump = false;
                pumpOnce();
            } while (repump);
        } finally {
            pumping = false;
        }
    }

    private void pumpOnce() {
        if (file != null) {
            pumpFile();
            return;
        }
        while (state == State.READING) {
            boolean segmentReady = formingBytes == options.getSegmentSize()
                    || (formingBytes > 0 && sourceEnded && inbox.isEmpty());
            if (segmentReady) {
                if (inFlight >= maxInFlight) {
                    break;
                }
                List<Buffer> slices = forming;
                int length = formingBytes;
                forming = new ArrayList<>();
                formingBytes = 0;
                dispatch(slices, length);
            } else if (!inbox.isEmpty()) {
                takeFromInbox();
            } else if (sourceEnded) {
                finishObject();
            } else {
                break;
            }
        }
        boolean wantMore = state == State.READING && !sourceEnded && inbox.isEmpty() && inFlight < maxInFlight;
        if (wantMore && sourcePaused) {
            sourcePaused = false;
            source.resume();
        } else if (!wantMore && !sourcePaused && !sourceEnded && source != null) {
            sourcePaused = true;
            source.pause();
        }
    }

    /**
     * File mode: hands out the next ranges of the file while there is room, then closes the object.
     * No event-loop read chain and no intermediate buffers: each worker reads its segment with a
     * positional read straight into the buffer it seals from, so reading scales with the workers.
     */
    private void pumpFile() {
        int segmentSize = options.getSegmentSize();
        while (state == State.READING && inFlight < maxInFlight && fileOffset < fileSize) {
            long offset = fileOffset;
            int length = (int) Math.min(segmentSize, fileSize - offset);
            fileOffset += length;
            plaintextRead += length;
            FileChannel ch = file;
            dispatch(plaintext -> readFully(ch, plaintext, offset, length));
        }
        if (state == State.READING && fileOffset >= fileSize) {
            finishObject();
        }
    }

    private void readFully(FileChannel ch, ByteBuffer into, long offset, int length) throws IOException {
        into.limit(into.position() + length);
        long at = offset;
        while (into.hasRemaining()) {
            int n = ch.read(into, at);
            if (n < 0) {
                throw new HoldfastException(ErrorCode.IO_ERROR, sourceName + " shrank while it was read for object '" + key
                        + "' (expected " + fileSize + " bytes, it ends at " + at + ")");
            }
            at += n;
        }
    }

    /**
     * Adds as much of the inbox's head to the segment being formed as fits. Only slices (views) are
     * taken here: the bytes are copied into the segment's buffer by the worker that seals it, so the
     * event loop moves no data.
     */
    private void takeFromInbox() {
        Buffer head = inbox.peekFirst();
        int n = Math.min(options.getSegmentSize() - formingBytes, head.length() - inboxOffset);
        forming.add(inboxOffset == 0 && n == head.length() ? head : head.slice(inboxOffset, inboxOffset + n));
        formingBytes += n;
        inboxOffset += n;
        if (inboxOffset == head.length()) {
            inbox.removeFirst();
            inboxOffset = 0;
        }
    }

    /**
     * Assembles and seals segment {@code index} on any worker, feeds the digest in order, and queues
     * its write after the previous one. The segment counts as in flight until it is handed to the
     * upload (which copies it); only then may the source deliver more. Its plaintext buffer goes back
     * to {@link #plaintextPool} once both the sealing and the digest are done with it.
     */
    /** Fills a segment's plaintext buffer, on the worker that seals it. */
    @FunctionalInterface
    private interface Filler {
        void fill(ByteBuffer plaintext) throws IOException;
    }

    private void dispatch(List<Buffer> slices, int length) {
        dispatch(plaintext -> {
            for (Buffer slice : slices) {
                int n = slice.length();
                slice.getBytes(0, n, plaintext.array(), plaintext.arrayOffset() + plaintext.position());
                plaintext.position(plaintext.position() + n);
            }
        });
    }

    private void dispatch(Filler filler) {
        long index = segments++;
        inFlight++;
        if (inFlight > peakInFlight) {
            peakInFlight = inFlight;
        }
        SegmentCodec c = codec;
        PlaintextDigest d = digest;
        int segmentSize = options.getSegmentSize();
        ByteBuffer reused = plaintextPool.pollFirst();
        Future<Sealed> sealed = workers.executeBlocking(() -> {
            ByteBuffer plaintext = reused != null ? reused.clear() : ByteBuffer.allocate(segmentSize);
            filler.fill(plaintext);
            plaintext.flip();
            return new Sealed(plaintext, sealer.seal(c, index, plaintext));
        }, false);
        Future<Void> digested = digestChain
                .compose(v -> sealed)
                .compose(s -> ordered.executeBlocking(() -> {
                    d.update(s.plaintext());
                    return null;
                }, false));
        digestChain = digested;
        digested.onSuccess(v -> {
            if (state == State.READING) {
                plaintextPool.addLast(sealed.result().plaintext());
            }
        });
        writeChain = writeChain
                .compose(v -> digested)
                .compose(v -> {
                    if (state != State.READING && state != State.CLOSING) {
                        return Future.failedFuture(stopped());
                    }
                    Future<Void> written = write(sealed.result().frame());
                    inFlight--;
                    progressed();
                    pump();
                    return written;
                });
        sealed.onFailure(this::fail);
        digested.onFailure(this::fail);
        writeChain.onFailure(this::fail);
        progressed();
    }

    /** Source ended and every segment is dispatched: seal the footer after the last digest, write it, finish. */
    private void finishObject() {
        state = State.CLOSING;
        closeOwnedSource();
        long n = segments;
        SegmentCodec c = codec;
        PlaintextDigest d = digest;
        Future<SealedFooter> footer = digestChain.compose(v -> ordered.executeBlocking(() -> {
            Footer f = d.footer(n);
            return new SealedFooter(f, c.sealFooter(f));
        }, false));
        writeChain
                .compose(v -> footer)
                .compose(f -> state == State.CLOSING ? write(f.frame()).map(f.footer()) : Future.failedFuture(stopped()))
                .compose(f -> {
                    if (state != State.CLOSING) {
                        return Future.failedFuture(stopped());
                    }
                    // From here the store decides: a cancellation can no longer take the object back.
                    state = State.FINISHING;
                    return bridge(upload.finish()).map(f);
                })
                .onSuccess(this::succeed)
                .onFailure(t -> {
                    if (state == State.FINISHING) {
                        terminate(unwrap(t));
                    } else {
                        fail(t);
                    }
                });
    }

    /**
     * Hands {@code frame} to the upload. {@code StreamingUpload.write} copies the frame into its
     * current part and allocates each new part, so it runs on a worker to keep those copies off the
     * event loop; the write chain makes the calls one at a time, as StreamingUpload requires.
     */
    private Future<Void> write(ByteBuffer frame) {
        storedWritten += frame.remaining();
        StreamingUpload u = upload;
        return ordered.executeBlocking(() -> u.write(frame), false).compose(this::bridge);
    }

    private <T> Future<T> bridge(CompletionStage<T> stage) {
        return Future.fromCompletionStage(stage, context);
    }

    private void succeed(Footer footer) {
        state = State.SUCCEEDED;
        closeOwnedSource();
        // The object is complete, so every stored byte has been acknowledged, whatever order the
        // store's acknowledgements arrived in.
        storedAcked = storedWritten;
        progressed();
        promise.complete(new UploadResult(key, footer.plaintextLength(), storedWritten, footer.dataSegments(),
                footer.crc32c(), footer.sha256Hex(), Duration.between(started, clock.instant())));
    }

    /** The first failure wins; later ones (the same cause travelling down the chains) are ignored. */
    private void fail(Throwable t) {
        if (state == State.SUCCEEDED || state == State.FAILED || state == State.FINISHING) {
            return;
        }
        terminate(unwrap(t));
    }

    private void terminate(Throwable cause) {
        state = State.FAILED;
        inbox.clear();
        forming = new ArrayList<>();
        formingBytes = 0;
        plaintextPool.clear();
        if (source != null && !sourceEnded) {
            sourcePaused = true;
            try {
                source.pause();
            } catch (RuntimeException e) {
                // A caller's stream that cannot pause: whatever it still emits is ignored, and the
                // abort below must happen regardless.
            }
        }
        closeOwnedSource();
        Future<Void> aborted = upload == null ? Future.succeededFuture() : bridge(upload.abort());
        aborted.onComplete(ar -> promise.fail(cause));
    }

    private Throwable stopped() {
        return new CancellationException("upload of '" + key + "' stopped");
    }

    private void closeOwnedSource() {
        if (file != null && (state == State.SUCCEEDED || state == State.FAILED)) {
            // Only at the very end: in file mode workers may still be reading when the footer is chained.
            try {
                file.close();
            } catch (IOException e) {
                // A read-only file: nothing is lost if closing fails.
            }
        }
        if (ownedFile != null) {
            AsyncFile f = ownedFile;
            ownedFile = null;
            // A read-only file: nothing is lost if closing fails.
            f.close();
        }
    }

    private void acked(long bytes) {
        if (state == State.FAILED || state == State.SUCCEEDED) {
            return;
        }
        storedAcked += bytes;
        progressed();
    }

    private void progressed() {
        if (state == State.FAILED) {
            return;
        }
        UploadProgress p = new UploadProgress(plaintextRead, storedAcked);
        if (p.equals(progress)) {
            return;
        }
        progress = p;
        if (progressHandler != null) {
            try {
                progressHandler.handle(p);
            } catch (RuntimeException e) {
                // A broken observer fails the upload loudly rather than being silently ignored.
                fail(e);
            }
        }
    }

    /** The first {@code HoldfastException} in the chain, else the cause under completion wrappers. */
    static Throwable unwrap(Throwable t) {
        HoldfastException h = HoldfastException.find(t);
        if (h != null) {
            return h;
        }
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }

    @Override
    public String toString() {
        return "Upload[" + key + ", " + progress + "]";
    }
}
