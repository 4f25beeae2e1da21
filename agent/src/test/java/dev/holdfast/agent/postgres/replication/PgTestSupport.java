package dev.holdfast.agent.postgres.replication;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.wal.Lsn;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/** Waiting on futures and collecting a stream, for the tests against a real server. */
final class PgTestSupport {
    static final long SEGMENT = 1 << 20;

    private PgTestSupport() {
    }

    static <T> T await(Future<T> f) {
        try {
            return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            throw new AssertionError(e);
        }
    }

    static HoldfastException awaitFailure(Future<?> f) {
        CompletableFuture<?> cf = f.toCompletionStage().toCompletableFuture();
        try {
            Object v = cf.get(60, TimeUnit.SECONDS);
            return fail("expected a failure, got " + v);
        } catch (ExecutionException e) {
            HoldfastException h = HoldfastException.find(e.getCause());
            assertNotNull(h, "not a HoldfastException: " + e.getCause());
            return h;
        } catch (InterruptedException | TimeoutException e) {
            throw new AssertionError(e);
        }
    }

    /** Polls until true or the deadline passes (for server state that changes asynchronously). */
    static void eventually(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting until " + what);
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /**
     * Collects a stream: checks that XLogData is contiguous from {@code start}, keeps the bytes of
     * the segment starting at {@code start}, answers keepalives that ask for a reply (when given a
     * client), and completes {@link #segmentDone} when that segment is whole.
     */
    static class Collector implements WalListener {
        final Lsn start;
        final Buffer segment = Buffer.buffer((int) SEGMENT);
        final Promise<Buffer> segmentDone = Promise.promise();
        final Promise<Instant> replyRequested = Promise.promise();
        volatile Lsn received;
        volatile ReplicationClient answerKeepalives;
        volatile Throwable error;

        Collector(Lsn start) {
            this.start = start;
            this.received = start;
        }

        @Override
        public void onData(Lsn dataStart, Lsn serverWalEnd, Instant serverTime, Buffer data) {
            if (!dataStart.equals(received)) {
                error = new AssertionError("gap: expected data at " + received + ", got " + dataStart);
                throw (AssertionError) error;
            }
            long room = SEGMENT - segment.length();
            if (room > 0) {
                segment.appendBuffer(data, 0, (int) Math.min(room, data.length()));
                if (segment.length() == SEGMENT) {
                    segmentDone.tryComplete(segment);
                }
            }
            received = dataStart.plus(data.length());
        }

        @Override
        public void onKeepalive(Lsn serverWalEnd, Instant serverTime, boolean reply) {
            if (reply) {
                replyRequested.tryComplete(serverTime);
                ReplicationClient c = answerKeepalives;
                if (c != null) {
                    c.sendStatusUpdate(received, Lsn.INVALID, Lsn.INVALID, false);
                }
            }
        }
    }
}
