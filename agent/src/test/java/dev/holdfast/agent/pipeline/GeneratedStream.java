package dev.holdfast.agent.pipeline;

import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongConsumer;
import java.util.zip.CRC32C;

/**
 * A {@link ReadStream} of {@link TestData}, one chunk per event-loop turn like real I/O, honouring
 * pause/fetch demand exactly (nothing is emitted while paused). It digests what it emits, so tests
 * can compare the pipeline's checksums with independently computed ones, and can fail with an
 * injected error at a given offset.
 *
 * <p>Binds to the context that sets its handler; all its state is confined to that context.
 */
final class GeneratedStream implements ReadStream<Buffer> {
    private final long seed;
    private final TestData.Kind kind;
    private final long total;
    private final int[] chunkSizes;
    private long failAt = -1;
    private Throwable failure;
    private LongConsumer afterEmit = emitted -> { };

    private Context context;
    private Handler<Buffer> handler;
    private Handler<Void> endHandler;
    private Handler<Throwable> exceptionHandler;
    private long demand = Long.MAX_VALUE;
    private boolean scheduled;
    private boolean done;
    private int chunk;
    private volatile long emitted;
    private volatile int pauses;
    private final CRC32C crc = new CRC32C();
    private final MessageDigest sha;
    /** Completes at the first pause after data has flowed, or at the end, or at the injected failure. */
    final CompletableFuture<Void> pausedOrEnded = new CompletableFuture<>();

    GeneratedStream(long seed, TestData.Kind kind, long total, int... chunkSizes) {
        this.seed = seed;
        this.kind = kind;
        this.total = total;
        this.chunkSizes = chunkSizes.clone();
        try {
            this.sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Fails with {@code t} once {@code offset} bytes have been emitted. */
    GeneratedStream failAt(long offset, Throwable t) {
        this.failAt = offset;
        this.failure = t;
        return this;
    }

    /** Called on the stream's context after every chunk, with the bytes emitted so far. */
    GeneratedStream afterEmit(LongConsumer hook) {
        this.afterEmit = hook;
        return this;
    }

    long emitted() {
        return emitted;
    }

    /** Pauses requested after the first byte flowed (the pipeline's initial pause is not back-pressure). */
    int pauses() {
        return pauses;
    }

    int crc32c() {
        return (int) crc.getValue();
    }

    String sha256Hex() {
        return HexFormat.of().formatHex(sha.digest());
    }

    @Override
    public ReadStream<Buffer> exceptionHandler(Handler<Throwable> h) {
        exceptionHandler = h;
        return this;
    }

    @Override
    public ReadStream<Buffer> handler(Handler<Buffer> h) {
        handler = h;
        if (h != null) {
            context = Vertx.currentContext();
            schedule();
        }
        return this;
    }

    @Override
    public ReadStream<Buffer> pause() {
        demand = 0;
        if (emitted > 0) {
            pauses++;
            pausedOrEnded.complete(null);
        }
        return this;
    }

    @Override
    public ReadStream<Buffer> resume() {
        return fetch(Long.MAX_VALUE);
    }

    @Override
    public ReadStream<Buffer> fetch(long amount) {
        demand = Long.MAX_VALUE - demand < amount ? Long.MAX_VALUE : demand + amount;
        schedule();
        return this;
    }

    @Override
    public ReadStream<Buffer> endHandler(Handler<Void> h) {
        endHandler = h;
        return this;
    }

    private void schedule() {
        if (!scheduled && !done && handler != null && demand > 0 && context != null) {
            scheduled = true;
            context.runOnContext(v -> {
                scheduled = false;
                emitOne();
            });
        }
    }

    private void emitOne() {
        if (done || demand == 0 || handler == null) {
            return;
        }
        if (failAt >= 0 && emitted >= failAt) {
            done = true;
            pausedOrEnded.complete(null);
            if (exceptionHandler != null) {
                exceptionHandler.handle(failure);
            }
            return;
        }
        if (emitted == total) {
            done = true;
            pausedOrEnded.complete(null);
            if (endHandler != null) {
                endHandler.handle(null);
            }
            return;
        }
        long limit = failAt >= 0 ? Math.min(total, failAt) : total;
        int n = (int) Math.min(chunkSizes[chunk++ % chunkSizes.length], limit - emitted);
        byte[] b = new byte[n];
        TestData.fill(seed, kind, emitted, b, 0, n);
        crc.update(b);
        sha.update(b);
        emitted += n;
        if (demand != Long.MAX_VALUE) {
            demand--;
        }
        handler.handle(Buffer.buffer(b));
        afterEmit.accept(emitted);
        schedule();
    }
}
