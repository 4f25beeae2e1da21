package dev.holdfast.repository.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.store.fs.FsObjectStore;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The retry decorator over a real filesystem store behind a scripted fault-injecting wrapper (the
 * neighbour is faked here; the S3 fault tests exercise it against a real server).
 */
class RetryingObjectStoreTest {
    private static final RetryPolicy FAST = new RetryPolicy(Duration.ofMillis(1), Duration.ofMillis(20), 5);

    @TempDir
    Path dir;
    private FaultyStore faulty;
    private RecordingScheduler scheduler;
    private RetryingObjectStore store;
    private final Random random = new Random(7);

    @BeforeEach
    void open() {
        faulty = new FaultyStore(FsObjectStore.open(dir, Clock.systemUTC()));
        scheduler = new RecordingScheduler();
        store = new RetryingObjectStore(faulty, FAST, scheduler, new SplittableRandom(1));
    }

    @AfterEach
    void close() {
        store.close();
        scheduler.shutdownNow();
    }

    @Test
    void transientFailuresAreRetriedUntilTheWriteLands() throws Exception {
        faulty.script(Op.CREATE, Fault.BEFORE, Fault.BEFORE);
        byte[] data = bytes(1000);
        await(store.create(ObjectKey.of("a"), ByteBuffer.wrap(data), PutOptions.DEFAULT));
        assertEquals(3, faulty.calls(Op.CREATE));
        assertEquals(2, scheduler.delays.size(), "each retry waits on the scheduler, not on the caller's thread");
        assertArrayEquals(data, await(store.get(ObjectKey.of("a"))));
    }

    @Test
    void delaysAreFullJitterUnderAnExponentialBoundCappedAtTheMaximum() {
        RetryPolicy p = new RetryPolicy(Duration.ofMillis(100), Duration.ofSeconds(10), 8);
        assertEquals(Duration.ofMillis(100), p.bound(2));
        assertEquals(Duration.ofMillis(200), p.bound(3));
        assertEquals(Duration.ofMillis(6400), p.bound(8));
        assertEquals(Duration.ofSeconds(10), p.bound(9));
        assertEquals(Duration.ofSeconds(10), p.bound(200));
        SplittableRandom r = new SplittableRandom(3);
        long distinct = java.util.stream.IntStream.range(0, 1000).mapToObj(i -> p.delay(5, r)).distinct().count();
        for (int i = 0; i < 1000; i++) {
            Duration d = p.delay(5, r);
            assertFalse(d.isNegative());
            assertTrue(d.compareTo(Duration.ofMillis(800)) <= 0, d::toString);
        }
        assertTrue(distinct > 900, "jitter spreads the delays");
        assertThrows(IllegalArgumentException.class, () -> new RetryPolicy(Duration.ZERO, Duration.ofSeconds(1), 3));
        assertThrows(IllegalArgumentException.class, () -> new RetryPolicy(Duration.ofSeconds(2), Duration.ofSeconds(1), 3));
        assertThrows(IllegalArgumentException.class, () -> new RetryPolicy(Duration.ofSeconds(1), Duration.ofSeconds(1), 0));
    }

    @Test
    void scheduledDelaysFollowThePolicy() throws Exception {
        faulty.script(Op.HEAD, Fault.BEFORE, Fault.BEFORE, Fault.BEFORE, Fault.BEFORE);
        assertTrue(await(store.head(ObjectKey.of("nothing"))).isEmpty());
        assertEquals(4, scheduler.delays.size());
        for (int i = 0; i < 4; i++) {
            assertTrue(scheduler.delays.get(i) <= FAST.bound(i + 2).toNanos(), "delay " + i);
        }
    }

    @Test
    void givingUpSurfacesTheLastFailureNamingTheAttempts() {
        for (int i = 0; i < FAST.maxAttempts(); i++) {
            faulty.script(Op.GET, Fault.BEFORE);
        }
        faulty.script(Op.GET, Fault.BEFORE);
        Exception e = assertThrows(Exception.class, () -> await(store.get(ObjectKey.of("x"))));
        StoreException s = (StoreException) HoldfastException.find(e);
        assertEquals(ErrorCode.STORE_UNAVAILABLE, s.code());
        assertTrue(s.getMessage().contains("gave up after 5 attempts"), s.getMessage());
        assertEquals(FAST.maxAttempts(), faulty.calls(Op.GET));
    }

    @Test
    void nonRetryableFailuresAreNotRetried() {
        faulty.script(Op.LIST, Fault.DENIED);
        Exception e = assertThrows(Exception.class, () -> await(store.list("", Optional.empty(), 10)));
        assertEquals(ErrorCode.STORE_ACCESS_DENIED, HoldfastException.find(e).code());
        assertEquals(1, faulty.calls(Op.LIST));
        assertTrue(scheduler.delays.isEmpty());

        assertEquals(ErrorCode.OBJECT_NOT_FOUND, HoldfastException.find(
                assertThrows(Exception.class, () -> await(store.get(ObjectKey.of("missing"))))).code());
        assertEquals(1, faulty.calls(Op.GET));
    }

    @Test
    void createWhoseLostFirstAttemptLandedSucceedsOnRetry() throws Exception {
        faulty.script(Op.CREATE, Fault.AFTER);
        byte[] data = bytes(5000);
        ByteBuffer buf = ByteBuffer.wrap(data);
        await(store.create(ObjectKey.of("w"), buf, PutOptions.DEFAULT));
        assertEquals(2, faulty.calls(Op.CREATE), "the retry met OBJECT_EXISTS and found its own bytes");
        assertEquals(0, buf.position(), "the borrowed buffer is untouched by the retries and the comparison");
        assertArrayEquals(data, await(store.get(ObjectKey.of("w"))));
    }

    @Test
    void createThatMeetsADifferentObjectAfterAnAmbiguousFailureReportsExists() throws Exception {
        byte[] mine = bytes(5000);
        byte[] theirs = bytes(5000);
        // The first attempt fails before reaching the store; meanwhile another writer creates the key
        // with different bytes of the same size.
        faulty.script(Op.CREATE, Fault.BEFORE);
        faulty.onCall(Op.CREATE, 1, () -> faulty.delegate.create(ObjectKey.of("w"), ByteBuffer.wrap(theirs), PutOptions.DEFAULT));
        Exception e = assertThrows(Exception.class, () -> await(store.create(ObjectKey.of("w"), ByteBuffer.wrap(mine), PutOptions.DEFAULT)));
        assertEquals(ErrorCode.OBJECT_EXISTS, HoldfastException.find(e).code());
        assertArrayEquals(theirs, await(store.get(ObjectKey.of("w"))));
    }

    @Test
    void createThatMeetsAnExistingObjectOnItsFirstAttemptReportsExistsWithoutComparing() throws Exception {
        byte[] data = bytes(100);
        await(store.create(ObjectKey.of("dup"), ByteBuffer.wrap(data), PutOptions.DEFAULT));
        int headsBefore = faulty.calls(Op.HEAD);
        Exception e = assertThrows(Exception.class, () -> await(store.create(ObjectKey.of("dup"), ByteBuffer.wrap(data), PutOptions.DEFAULT)));
        assertEquals(ErrorCode.OBJECT_EXISTS, HoldfastException.find(e).code());
        assertEquals(headsBefore, faulty.calls(Op.HEAD), "no ambiguity, no comparison: higher layers decide about duplicates");
    }

    @Test
    void everyMultipartStepIsRetriedAndTheObjectIsComplete() throws Exception {
        faulty.script(Op.START, Fault.BEFORE);
        faulty.script(Op.PART, Fault.BEFORE, Fault.AFTER);
        faulty.script(Op.COMPLETE, Fault.BEFORE);
        byte[] data = bytes(300_000);
        ObjectStore.MultipartUpload up = await(store.startMultipart(ObjectKey.of("big"), PutOptions.DEFAULT));
        await(up.uploadPart(1, ByteBuffer.wrap(data, 0, 100_000).slice()));
        await(up.uploadPart(2, ByteBuffer.wrap(data, 100_000, 100_000).slice()));
        await(up.uploadPart(3, ByteBuffer.wrap(data, 200_000, 100_000).slice()));
        await(up.complete());
        assertArrayEquals(data, await(store.get(ObjectKey.of("big"))));
        assertEquals(2, faulty.calls(Op.START));
        assertEquals(5, faulty.calls(Op.PART));
        assertEquals(2, faulty.calls(Op.COMPLETE));
    }

    @Test
    void completeWhoseLostFirstAttemptLandedSucceedsWhenTheRetryFindsNoUpload() throws Exception {
        // As on S3: the first complete succeeds but its answer is lost; the retry finds the upload
        // gone (NoSuchUpload, OBJECT_NOT_FOUND) and the object present with the parts' total size.
        faulty.script(Op.COMPLETE, Fault.AFTER, Fault.NO_SUCH_UPLOAD);
        byte[] data = bytes(150_000);
        ObjectStore.MultipartUpload up = await(store.startMultipart(ObjectKey.of("c"), PutOptions.DEFAULT));
        await(up.uploadPart(1, ByteBuffer.wrap(data, 0, 100_000).slice()));
        await(up.uploadPart(2, ByteBuffer.wrap(data, 100_000, 50_000).slice()));
        await(up.complete());
        assertArrayEquals(data, await(store.get(ObjectKey.of("c"))));
    }

    @Test
    void completeThatFindsNoUploadAndNoObjectFails() throws Exception {
        faulty.script(Op.COMPLETE, Fault.BEFORE, Fault.NO_SUCH_UPLOAD);
        ObjectStore.MultipartUpload up = await(store.startMultipart(ObjectKey.of("c2"), PutOptions.DEFAULT));
        await(up.uploadPart(1, ByteBuffer.wrap(bytes(10))));
        Exception e = assertThrows(Exception.class, () -> await(up.complete()));
        assertEquals(ErrorCode.OBJECT_NOT_FOUND, HoldfastException.find(e).code());
        await(up.abort());
    }

    @Test
    void completeThatMeetsAnotherWritersObjectOfADifferentSizeReportsExists() throws Exception {
        faulty.script(Op.COMPLETE, Fault.BEFORE);
        ObjectStore.MultipartUpload up = await(store.startMultipart(ObjectKey.of("c3"), PutOptions.DEFAULT));
        await(up.uploadPart(1, ByteBuffer.wrap(bytes(10))));
        await(faulty.delegate.create(ObjectKey.of("c3"), ByteBuffer.wrap(bytes(11)), PutOptions.DEFAULT));
        Exception e = assertThrows(Exception.class, () -> await(up.complete()));
        assertEquals(ErrorCode.OBJECT_EXISTS, HoldfastException.find(e).code());
        await(up.abort());
    }

    @Test
    void abortIsRetriedToo() throws Exception {
        faulty.script(Op.ABORT, Fault.BEFORE, Fault.BEFORE);
        ObjectStore.MultipartUpload up = await(store.startMultipart(ObjectKey.of("ab"), PutOptions.DEFAULT));
        await(up.uploadPart(1, ByteBuffer.wrap(bytes(10))));
        await(up.abort());
        assertEquals(3, faulty.calls(Op.ABORT));
    }

    @Test
    void streamingUploadThroughTheDecoratorSurvivesFaultsInEveryStep() throws Exception {
        faulty.script(Op.START, Fault.BEFORE);
        faulty.script(Op.PART, Fault.AFTER, Fault.BEFORE, Fault.AFTER);
        faulty.script(Op.COMPLETE, Fault.AFTER, Fault.NO_SUCH_UPLOAD);
        byte[] data = bytes(4 * 65_536 + 99);
        StreamingUpload up = new StreamingUpload(store, ObjectKey.of("s"), PutOptions.DEFAULT, 65_536, 2);
        await(up.write(ByteBuffer.wrap(data)));
        await(up.finish());
        assertArrayEquals(data, await(store.get(ObjectKey.of("s"))));
    }

    @Test
    void streamingUploadThatRunsOutOfAttemptsAbortsAndAbortIsRetried() throws Exception {
        for (int i = 0; i < FAST.maxAttempts(); i++) {
            faulty.script(Op.PART, Fault.BEFORE);
        }
        faulty.script(Op.ABORT, Fault.BEFORE, Fault.BEFORE);
        StreamingUpload up = new StreamingUpload(store, ObjectKey.of("f"), PutOptions.DEFAULT, 65_536, 1);
        Exception e = assertThrows(Exception.class, () -> await(up.write(ByteBuffer.wrap(bytes(65_536)))));
        assertEquals(ErrorCode.STORE_UNAVAILABLE, HoldfastException.find(e).code());
        assertEquals(FAST.maxAttempts(), faulty.calls(Op.PART));
        Exception f = assertThrows(Exception.class, () -> await(up.finish()));
        assertEquals(ErrorCode.STORE_UNAVAILABLE, HoldfastException.find(f).code());
        assertEquals(3, faulty.calls(Op.ABORT), "abort itself was retried until it went through");
        assertTrue(await(store.listAll("")).isEmpty());
    }

    @Test
    void openStreamRetriesTheOpenOnly() throws Exception {
        byte[] data = bytes(10_000);
        await(store.create(ObjectKey.of("o"), ByteBuffer.wrap(data), PutOptions.DEFAULT));
        faulty.script(Op.STREAM, Fault.BEFORE);
        try (InputStream in = await(store.openStream(ObjectKey.of("o")))) {
            assertArrayEquals(data, in.readAllBytes());
        }
        assertEquals(2, faulty.calls(Op.STREAM));
    }

    @Test
    void readsListsAndDeletesAreRetried() throws Exception {
        byte[] data = bytes(100);
        await(store.create(ObjectKey.of("r/1"), ByteBuffer.wrap(data), PutOptions.DEFAULT));
        faulty.script(Op.RANGE, Fault.BEFORE);
        faulty.script(Op.LIST, Fault.BEFORE);
        faulty.script(Op.DELETE, Fault.AFTER);
        assertArrayEquals(java.util.Arrays.copyOfRange(data, 10, 20), await(store.getRange(ObjectKey.of("r/1"), 10, 10)));
        assertEquals(1, await(store.listAll("r/")).size());
        await(store.delete(ObjectKey.of("r/1")));
        assertTrue(await(store.head(ObjectKey.of("r/1"))).isEmpty());
        assertEquals(2, faulty.calls(Op.DELETE));
    }

    @Test
    void aSchedulerThatRefusesWorkEndsTheRetryCleanly() throws Exception {
        RetryPolicy slow = new RetryPolicy(Duration.ofSeconds(30), Duration.ofSeconds(30), 3);
        ScheduledThreadPoolExecutor s = new ScheduledThreadPoolExecutor(1);
        RetryingObjectStore owned = new RetryingObjectStore(faulty, slow, s, new SplittableRandom(5));
        faulty.script(Op.GET, Fault.BEFORE);
        s.shutdown(); // a closed scheduler refuses to schedule: the retry cannot happen
        Exception e = assertThrows(Exception.class, () -> await(owned.get(ObjectKey.of("g"))));
        StoreException se = (StoreException) HoldfastException.find(e);
        assertEquals(ErrorCode.STORE_UNAVAILABLE, se.code());
        assertFalse(se.retryable());
        assertNotEquals(0, faulty.calls(Op.GET));
    }

    // ---- helpers ----

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static <T> T await(CompletableFuture<T> f) throws Exception {
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
    }

    enum Op { CREATE, START, PART, COMPLETE, ABORT, GET, RANGE, STREAM, HEAD, LIST, DELETE }

    enum Fault {
        /** Fails retryably without reaching the store (the request never arrived). */
        BEFORE,
        /** Performs the operation, then fails retryably (the answer was lost). */
        AFTER,
        /** Fails with S3's NoSuchUpload as translated: OBJECT_NOT_FOUND. */
        NO_SUCH_UPLOAD,
        /** Fails with access denied, not retryable. */
        DENIED
    }

    /** A scheduler that records every delay it is asked for (and runs the task after it). */
    static final class RecordingScheduler extends ScheduledThreadPoolExecutor {
        final List<Long> delays = Collections.synchronizedList(new ArrayList<>());

        RecordingScheduler() {
            super(1, r -> {
                Thread t = new Thread(r, "test-retry-scheduler");
                t.setDaemon(true);
                return t;
            });
        }

        @Override
        public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
            delays.add(unit.toNanos(delay));
            return super.schedule(command, delay, unit);
        }
    }

    /** Wraps a store; per operation, a script of faults is consumed one call at a time. */
    static final class FaultyStore implements ObjectStore {
        final ObjectStore delegate;
        private final Map<Op, Deque<Fault>> scripts = new EnumMap<>(Op.class);
        private final Map<Op, AtomicInteger> calls = new EnumMap<>(Op.class);
        private final Map<Op, Map<Integer, Supplier<CompletableFuture<?>>>> hooks = new EnumMap<>(Op.class);

        FaultyStore(ObjectStore delegate) {
            this.delegate = delegate;
            for (Op op : Op.values()) {
                scripts.put(op, new ArrayDeque<>());
                calls.put(op, new AtomicInteger());
                hooks.put(op, new java.util.concurrent.ConcurrentHashMap<>());
            }
        }

        synchronized void script(Op op, Fault... faults) {
            scripts.get(op).addAll(List.of(faults));
        }

        /** Runs {@code hook} (and waits for it) when call number {@code n} of {@code op} has failed. */
        void onCall(Op op, int n, Supplier<CompletableFuture<?>> hook) {
            hooks.get(op).put(n, hook);
        }

        int calls(Op op) {
            return calls.get(op).get();
        }

        private <T> CompletableFuture<T> run(Op op, Supplier<CompletableFuture<T>> real) {
            int n = calls.get(op).incrementAndGet();
            Fault fault;
            synchronized (this) {
                fault = scripts.get(op).poll();
            }
            Supplier<CompletableFuture<?>> hook = hooks.get(op).remove(n);
            CompletableFuture<T> result;
            if (fault == null) {
                return real.get();
            }
            result = switch (fault) {
                case BEFORE -> CompletableFuture.failedFuture(unavailable(op));
                case AFTER -> real.get().thenCompose(v -> CompletableFuture.<T>failedFuture(unavailable(op)));
                case NO_SUCH_UPLOAD -> CompletableFuture.failedFuture(new StoreException(ErrorCode.OBJECT_NOT_FOUND,
                        "the multipart upload no longer exists", false, null));
                case DENIED -> CompletableFuture.failedFuture(new StoreException(ErrorCode.STORE_ACCESS_DENIED,
                        "access denied", false, null));
            };
            if (hook != null) {
                return result.handle((v, t) -> t).thenCompose(t -> hook.get().thenCompose(x -> CompletableFuture.<T>failedFuture(t)));
            }
            return result;
        }

        private static StoreException unavailable(Op op) {
            return new StoreException(ErrorCode.STORE_UNAVAILABLE, "injected: " + op + " connection reset", true, null);
        }

        @Override
        public String describe() {
            return "faulty " + delegate.describe();
        }

        @Override
        public StoreCapabilities capabilities() {
            return delegate.capabilities();
        }

        @Override
        public CompletableFuture<Void> create(ObjectKey key, ByteBuffer data, PutOptions options) {
            return run(Op.CREATE, () -> delegate.create(key, data, options));
        }

        @Override
        public CompletableFuture<MultipartUpload> startMultipart(ObjectKey key, PutOptions options) {
            return run(Op.START, () -> delegate.startMultipart(key, options)).thenApply(FaultyUpload::new);
        }

        @Override
        public CompletableFuture<byte[]> get(ObjectKey key) {
            return run(Op.GET, () -> delegate.get(key));
        }

        @Override
        public CompletableFuture<byte[]> getRange(ObjectKey key, long offset, long length) {
            return run(Op.RANGE, () -> delegate.getRange(key, offset, length));
        }

        @Override
        public CompletableFuture<InputStream> openStream(ObjectKey key) {
            return run(Op.STREAM, () -> delegate.openStream(key));
        }

        @Override
        public CompletableFuture<Optional<ObjectInfo>> head(ObjectKey key) {
            return run(Op.HEAD, () -> delegate.head(key));
        }

        @Override
        public CompletableFuture<ListPage> list(String prefix, Optional<String> continuation, int maxKeys) {
            return run(Op.LIST, () -> delegate.list(prefix, continuation, maxKeys));
        }

        @Override
        public CompletableFuture<Void> delete(ObjectKey key) {
            return run(Op.DELETE, () -> delegate.delete(key));
        }

        @Override
        public void close() {
            delegate.close();
        }

        private final class FaultyUpload implements MultipartUpload {
            private final MultipartUpload upload;

            FaultyUpload(MultipartUpload upload) {
                this.upload = upload;
            }

            @Override
            public ObjectKey key() {
                return upload.key();
            }

            @Override
            public CompletableFuture<Void> uploadPart(int partNumber, ByteBuffer data) {
                return run(Op.PART, () -> upload.uploadPart(partNumber, data));
            }

            @Override
            public CompletableFuture<Void> complete() {
                return run(Op.COMPLETE, upload::complete);
            }

            @Override
            public CompletableFuture<Void> abort() {
                return run(Op.ABORT, upload::abort);
            }
        }
    }
}
