package dev.holdfast.agent.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.pipeline.TestData.Kind;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.crypto.DataKey;
import dev.holdfast.repository.crypto.Keyring;
import dev.holdfast.repository.seal.Footer;
import dev.holdfast.repository.seal.ObjectHeader;
import dev.holdfast.repository.seal.OpeningInputStream;
import dev.holdfast.repository.seal.SealingOutputStream;
import dev.holdfast.repository.seal.SegmentCodec;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.PutOptions;
import dev.holdfast.repository.store.StoreCapabilities;
import dev.holdfast.repository.store.StoreException;
import dev.holdfast.repository.store.fs.FsObjectStore;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.VertxInternal;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The pipeline against a real filesystem store. Nothing here asserts on time: back-pressure is
 * made observable with a store that holds parts back until the source has been paused, and
 * "never blocks the event loop" uses Vert.x's own blocked-thread checker, set to 100 ms.
 */
class UploadPipelineTest {
    private static final int SEG = 64 * 1024;
    private static final long TIMEOUT_SECONDS = 180;
    private static final ObjectKey KEY = ObjectKey.of("files/host-a/object-1");

    @TempDir
    Path dir;
    private Vertx vertx;
    private FsObjectStore fs;
    private Keyring keyring;
    private final byte[] repositoryId = "repository-under-test".getBytes(StandardCharsets.UTF_8);
    /** What Vert.x's blocked-thread checker reported, with the blocked thread's stack at the time. */
    private final List<String> blocked = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() {
        vertx = Vertx.vertx(new VertxOptions()
                .setMaxEventLoopExecuteTime(100).setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS)
                .setBlockedThreadCheckInterval(10).setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS));
        ((VertxInternal) vertx).blockedThreadChecker().setThreadBlockedHandler(ev -> {
            StringBuilder b = new StringBuilder(ev.thread().getName() + " blocked for " + ev.duration() / 1_000_000 + " ms at\n");
            for (StackTraceElement e : ev.thread().getStackTrace()) {
                b.append("    ").append(e).append('\n');
            }
            blocked.add(b.toString());
        });
        fs = FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC());
        keyring = new Keyring("mk-test", Map.of(1, DataKey.generate(1, new SecureRandom())));
    }

    @AfterEach
    void tearDown() throws Exception {
        await(vertx.close());
        fs.close();
    }

    // ---- round trips ------------------------------------------------------------------------

    enum Source { FILE, STREAM }

    static Stream<Arguments> boundaries() {
        long[] sizes = {0, 1, SEG - 1, SEG, SEG + 1, 2L * SEG, 3L * SEG, 5L * SEG + 777};
        List<Arguments> all = new ArrayList<>();
        for (long size : sizes) {
            for (int threads : new int[] {1, 2}) {
                for (Source source : Source.values()) {
                    all.add(Arguments.of((int) size, threads, source));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} bytes, {1} thread(s), from a {2}")
    @MethodSource("boundaries")
    void writesTheSameBytesAsTheReferenceSealerAndReadsBack(int size, int threads, Source source) throws Exception {
        byte[] input = TestData.bytes(size, size % 2 == 0 ? Kind.RANDOM : Kind.COMPRESSIBLE, size);
        UploadOptions options = small(threads);
        UploadPipeline pipeline = new UploadPipeline(vertx, fs, keyring, repositoryId, options, Clock.systemUTC(),
                seededRandom(size), SegmentSealer.CODEC);
        Upload upload;
        if (source == Source.FILE) {
            Path file = dir.resolve("input.bin");
            Files.write(file, input);
            upload = pipeline.uploadFile(KEY, file.toString());
        } else {
            // Chunks smaller and larger than a segment, so one buffer may fill several segments.
            upload = pipeline.upload(KEY, new GeneratedStream(size, size % 2 == 0 ? Kind.RANDOM : Kind.COMPRESSIBLE,
                    size, 1, 7, 100_000, 3 * SEG + 5, 4096));
        }
        UploadResult result = await(upload.result());

        assertResultDescribes(input, result, true);
        assertEquals(size == 0 ? 0 : (size + SEG - 1) / SEG, result.segments(), "no empty segment at a boundary");
        byte[] stored = await(fs.get(KEY));
        assertArrayEquals(referenceSeal(input, seededRandom(size)), stored,
                "the parallel pipeline writes exactly what SealingOutputStream writes");
        if (size == 0) {
            assertEquals(ObjectHeader.LENGTH + Footer.SEGMENT_LENGTH, stored.length, "header and footer only");
        }
        assertEquals(new UploadProgress(size, result.storedLength()), upload.progress());
        await(pipeline.close());
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void roundTripsSeveralMebibytesWithDefaultSegments(Kind kind) throws Exception {
        int size = 5 * 1024 * 1024 + 12345;
        UploadOptions options = new UploadOptions().setThreads(2).setPartSize(1024 * 1024);
        UploadPipeline pipeline = UploadPipeline.create(vertx, fs, keyring, repositoryId, options);
        UploadResult result = await(pipeline.upload(KEY, new GeneratedStream(11, kind, size, 65536)).result());

        byte[] input = TestData.bytes(11, kind, size);
        assertResultDescribes(input, result, true);
        assertEquals(6, result.segments());
        if (kind == Kind.RANDOM) {
            // zstd cannot shrink these, so every segment is stored raw: 21 bytes of framing each.
            assertEquals(size + ObjectHeader.LENGTH + Footer.SEGMENT_LENGTH + 21L * 6, result.storedLength());
        } else {
            assertTrue(result.storedLength() < size / 4, "compressible data shrinks: " + result);
        }
    }

    @Test
    void omitsSha256WhenItIsDisabled() throws Exception {
        byte[] input = TestData.bytes(5, Kind.COMPRESSIBLE, 3 * SEG + 5);
        UploadPipeline pipeline = UploadPipeline.create(vertx, fs, keyring, repositoryId, small(2).setSha256(false));
        UploadResult result = await(pipeline.upload(KEY, new GeneratedStream(5, Kind.COMPRESSIBLE, input.length, 30000)).result());
        assertResultDescribes(input, result, false);
    }

    // ---- threads ----------------------------------------------------------------------------

    @Test
    void neverBlocksTheEventLoopAndSealsOnlyOnWorkerThreads() throws Exception {
        Path file = dir.resolve("big.bin");
        int mib = 1024 * 1024;
        try (OutputStream out = Files.newOutputStream(file)) {
            byte[] chunk = new byte[mib];
            for (int i = 0; i < 24; i++) {
                TestData.fill(21, i < 12 ? Kind.RANDOM : Kind.COMPRESSIBLE, (long) i * mib, chunk, 0, mib);
                out.write(chunk);
            }
        }
        AtomicInteger seals = new AtomicInteger();
        AtomicInteger sealsOnEventLoop = new AtomicInteger();
        Set<String> sealThreads = ConcurrentHashMap.newKeySet();
        SegmentSealer spy = (codec, index, plaintext) -> {
            seals.incrementAndGet();
            if (Context.isOnEventLoopThread()) {
                sealsOnEventLoop.incrementAndGet();
            }
            sealThreads.add(Thread.currentThread().getName());
            return SegmentSealer.CODEC.seal(codec, index, plaintext);
        };
        AtomicInteger callbacksOffEventLoop = new AtomicInteger();
        UploadOptions options = new UploadOptions().setThreads(2).setPartSize(4 * mib);
        UploadPipeline pipeline = new UploadPipeline(vertx, fs, keyring, repositoryId, options, Clock.systemUTC(),
                new SecureRandom(), spy);
        // Loading classes from a cold JVM can take longer than 100 ms on a busy machine: that happens
        // once per process, not per upload, so warm up first and judge the steady state.
        await(pipeline.upload(ObjectKey.of("warm-up"), new GeneratedStream(1, Kind.RANDOM, 3L * mib, 65536)).result());
        blocked.clear();
        seals.set(0);
        Upload upload = pipeline.uploadFile(KEY, file.toString(), PutOptions.DEFAULT, p -> {
            if (!Context.isOnEventLoopThread()) {
                callbacksOffEventLoop.incrementAndGet();
            }
        });
        UploadResult result = await(upload.result());

        assertEquals(24, seals.get());
        assertEquals(0, sealsOnEventLoop.get(), "sealing ran on an event loop");
        assertTrue(sealThreads.stream().allMatch(n -> n.startsWith(options.getWorkerPoolName())), sealThreads.toString());
        assertEquals(0, callbacksOffEventLoop.get(), "progress is reported on the upload's event loop");
        assertTrue(blocked.isEmpty(), () -> "Vert.x saw a blocked thread:\n" + String.join("\n", blocked));
        assertResultDescribes(Files.readAllBytes(file), result, true);
    }

    // ---- back-pressure ----------------------------------------------------------------------

    @Test
    void boundsSegmentsAndPartsInFlightWhenTheStoreIsSlowerThanTheSource() throws Exception {
        long total = 64L * 1024 * 1024;
        int chunk = 100_000;
        int partSize = 1024 * 1024;
        int parts = 2;
        UploadOptions options = small(2).setPartSize(partSize).setMaxInFlightParts(parts);
        int maxSegments = options.effectiveMaxSegmentsInFlight();
        GeneratedStream source = new GeneratedStream(64, Kind.RANDOM, total, chunk);
        // No part completes before the pipeline has paused the source: without back-pressure the
        // whole stream would be buffered, and the bound below would fail.
        GatedStore store = new GatedStore(fs, source.pausedOrEnded);
        AtomicLong peakHeld = new AtomicLong();
        source.afterEmit(emitted -> peakHeld.accumulateAndGet(emitted - store.ackedBytes.get(), Math::max));

        UploadPipeline pipeline = UploadPipeline.create(vertx, store, keyring, repositoryId, options);
        Upload upload = pipeline.upload(KEY, source);
        UploadResult result = await(upload.result());

        long segments = total / SEG;
        // Bytes read but not yet acknowledged by the store: in-flight segments, the segment being
        // filled, one source chunk, the StreamingUpload's parts; plus the framing that makes stored
        // bytes outnumber plaintext bytes (header, 21 per raw segment).
        long bound = (long) maxSegments * SEG + SEG + chunk + (parts + 1L) * partSize
                + ObjectHeader.LENGTH + 21L * (segments + 1);
        assertTrue(source.pauses() > 0, "the source was never paused");
        assertTrue(upload.peakSegmentsInFlight() >= 1 && upload.peakSegmentsInFlight() <= maxSegments,
                "peak segments in flight " + upload.peakSegmentsInFlight() + " > " + maxSegments);
        assertTrue(store.peakPartsInFlight.get() >= 1 && store.peakPartsInFlight.get() <= parts,
                "peak parts in flight " + store.peakPartsInFlight.get() + " > " + parts);
        assertTrue(peakHeld.get() <= bound, "held " + peakHeld.get() + " bytes, bound " + bound);
        assertEquals(total, result.plaintextLength());
        assertEquals(segments, result.segments());
        assertEquals(source.crc32c(), result.crc32c());
        assertEquals(Optional.of(source.sha256Hex()), result.sha256());
        assertStoredPlaintextEquals(64, Kind.RANDOM, total);
    }

    // ---- failures -----------------------------------------------------------------------------

    @Test
    void aFailedPartUploadFailsTheUploadWithThatCauseAndLeavesNothingVisible() throws Exception {
        StoreException injected = new StoreException(ErrorCode.STORE_UNAVAILABLE, "injected: part 3 refused", true, null);
        ForwardingStore faulty = new ForwardingStore(fs) {
            @Override
            protected CompletableFuture<Void> uploadPart(MultipartUpload upload, int partNumber, ByteBuffer data) {
                return partNumber == 3 ? CompletableFuture.failedFuture(injected) : super.uploadPart(upload, partNumber, data);
            }
        };
        // One part in flight, so no other part is still being written when the upload is aborted.
        UploadPipeline pipeline = UploadPipeline.create(vertx, faulty, keyring, repositoryId, small(2).setMaxInFlightParts(1));
        Upload upload = pipeline.upload(KEY, new GeneratedStream(3, Kind.RANDOM, 2 * 1024 * 1024, 65536));

        assertSame(injected, failure(upload.result()));
        assertEquals(Optional.empty(), await(fs.head(KEY)));
        assertEquals(List.of(), temporaryFiles(), "the multipart upload was aborted");
    }

    @Test
    void aSourceErrorFailsTheUploadWithIoErrorAndStopsReading() throws Exception {
        IOException injected = new IOException("injected: device went away");
        GeneratedStream source = new GeneratedStream(4, Kind.RANDOM, 4 * 1024 * 1024, 65536).failAt(700_000, injected);
        Upload upload = UploadPipeline.create(vertx, fs, keyring, repositoryId, small(2)).upload(KEY, source);

        HoldfastException e = assertInstanceOf(HoldfastException.class, failure(upload.result()));
        assertEquals(ErrorCode.IO_ERROR, e.code());
        assertSame(injected, e.getCause());
        assertEquals(700_000, source.emitted());
        assertEquals(Optional.empty(), await(fs.head(KEY)));
    }

    @Test
    void aSealingErrorFailsTheUploadWithThatCauseAndLeavesNothingVisible() throws Exception {
        HoldfastException injected = new HoldfastException(ErrorCode.INTERNAL, "injected: segment 5 cannot be sealed");
        SegmentSealer failing = (codec, index, plaintext) -> {
            if (index == 5) {
                throw injected;
            }
            return SegmentSealer.CODEC.seal(codec, index, plaintext);
        };
        UploadPipeline pipeline = new UploadPipeline(vertx, fs, keyring, repositoryId, small(2), Clock.systemUTC(),
                new SecureRandom(), failing);
        Upload upload = pipeline.upload(KEY, new GeneratedStream(6, Kind.COMPRESSIBLE, 2 * 1024 * 1024, 65536));

        assertSame(injected, failure(upload.result()));
        assertEquals(Optional.empty(), await(fs.head(KEY)));
    }

    @Test
    void cancelStopsReadingAbortsAndLeavesNothingVisible() throws Exception {
        GeneratedStream source = new GeneratedStream(8, Kind.RANDOM, 1L << 30, 65536);
        CompletableFuture<Void> gate = new CompletableFuture<>();
        GatedStore store = new GatedStore(fs, gate);
        Upload upload = UploadPipeline.create(vertx, store, keyring, repositoryId, small(2)).upload(KEY, source);
        source.pausedOrEnded.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);

        upload.cancel();
        assertInstanceOf(CancellationException.class, failure(upload.result()));
        gate.complete(null);
        store.awaitParts();

        assertTrue(source.emitted() < 1L << 30, "stopped reading");
        assertEquals(Optional.empty(), await(fs.head(KEY)));
        assertEquals(List.of(), temporaryFiles(), "the multipart upload was aborted");
    }

    @Test
    void cancelAfterTheObjectIsCompleteChangesNothing() throws Exception {
        Upload upload = UploadPipeline.create(vertx, fs, keyring, repositoryId, small(1))
                .upload(KEY, new GeneratedStream(9, Kind.RANDOM, 1000, 1000));
        UploadResult result = await(upload.result());
        upload.cancel();
        assertEquals(result, await(upload.result()));
        assertEquals(result.storedLength(), await(fs.head(KEY)).orElseThrow().size());
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {1000, 600_000})
    void refusesToOverwriteAnExistingObject(int size) throws Exception {
        UploadPipeline pipeline = UploadPipeline.create(vertx, fs, keyring, repositoryId, small(2));
        await(pipeline.upload(KEY, new GeneratedStream(1, Kind.RANDOM, size, 65536)).result());

        Upload second = pipeline.upload(KEY, new GeneratedStream(2, Kind.RANDOM, size, 65536));
        HoldfastException e = assertInstanceOf(HoldfastException.class, failure(second.result()));
        assertEquals(ErrorCode.OBJECT_EXISTS, e.code());
        assertArrayEquals(TestData.bytes(1, Kind.RANDOM, size), readBack(KEY).plaintext);
    }

    @Test
    void aMissingFileFailsWithIoErrorAndIsNotCreated() throws Exception {
        Path missing = dir.resolve("no-such-file");
        Upload upload = UploadPipeline.create(vertx, fs, keyring, repositoryId, small(1)).uploadFile(KEY, missing.toString());

        HoldfastException e = assertInstanceOf(HoldfastException.class, failure(upload.result()));
        assertEquals(ErrorCode.IO_ERROR, e.code());
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        assertTrue(Files.notExists(missing));
        assertEquals(Optional.empty(), await(fs.head(KEY)));
    }

    @Test
    void aDirectoryOrDeviceIsRefusedRatherThanUploadedEmpty() throws Exception {
        for (String path : new String[] {dir.toString(), "/dev/null"}) {
            Upload upload = UploadPipeline.create(vertx, fs, keyring, repositoryId, small(1)).uploadFile(KEY, path);
            HoldfastException e = assertInstanceOf(HoldfastException.class, failure(upload.result()));
            assertEquals(ErrorCode.IO_ERROR, e.code());
            assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
            assertEquals(Optional.empty(), await(fs.head(KEY)));
        }
    }

    @Test
    void refusesAPartSizeBelowTheStoresMinimum() {
        ObjectStore s3Like = new ForwardingStore(fs) {
            @Override
            public StoreCapabilities capabilities() {
                return new StoreCapabilities(true, true, 5L * 1024 * 1024, 10_000);
            }
        };
        HoldfastException e = assertThrows(HoldfastException.class, () -> UploadPipeline.create(vertx, s3Like, keyring,
                repositoryId, new UploadOptions().setPartSize(1024 * 1024)));
        assertEquals(ErrorCode.CONFIG_INVALID, e.code());
    }

    // ---- progress -----------------------------------------------------------------------------

    @Test
    void reportsProgressOnTheEventLoopMonotonicallyUpToTheResult() throws Exception {
        int size = 1024 * 1024 + 5;
        List<UploadProgress> events = new CopyOnWriteArrayList<>();
        AtomicInteger offEventLoop = new AtomicInteger();
        Upload upload = UploadPipeline.create(vertx, fs, keyring, repositoryId, small(2))
                .upload(KEY, new GeneratedStream(10, Kind.RANDOM, size, 50_000), PutOptions.DEFAULT, p -> {
                    if (!Context.isOnEventLoopThread()) {
                        offEventLoop.incrementAndGet();
                    }
                    events.add(p);
                });
        UploadResult result = await(upload.result());

        assertEquals(0, offEventLoop.get());
        for (int i = 1; i < events.size(); i++) {
            UploadProgress a = events.get(i - 1);
            UploadProgress b = events.get(i);
            assertTrue(b.plaintextBytesRead() >= a.plaintextBytesRead() && b.storedBytesUploaded() >= a.storedBytesUploaded()
                    && !a.equals(b), a + " then " + b);
        }
        UploadProgress last = new UploadProgress(size, result.storedLength());
        assertEquals(last, events.get(events.size() - 1));
        assertEquals(last, upload.progress());
        assertTrue(events.stream().anyMatch(p -> p.storedBytesUploaded() > 0 && p.storedBytesUploaded() < result.storedLength()),
                "parts are reported as the store acknowledges them: " + events);
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** 64 KiB segments and 128 KiB parts, so small inputs exercise many segments and multipart uploads. */
    private static UploadOptions small(int threads) {
        return new UploadOptions().setSegmentSize(SEG).setPartSize(2 * SEG).setThreads(threads);
    }

    private static SecureRandom seededRandom(long seed) throws NoSuchAlgorithmException {
        SecureRandom r = SecureRandom.getInstance("SHA1PRNG");
        // Before first use, so the seed alone determines the stream. (A seed of 0 would be ignored.)
        r.setSeed(new byte[] {(byte) (seed >>> 24), (byte) (seed >>> 16), (byte) (seed >>> 8), (byte) seed});
        return r;
    }

    private byte[] referenceSeal(byte[] input, SecureRandom random) throws IOException {
        DataKey key = keyring.current();
        ObjectHeader header = ObjectHeader.fresh(1, key.version(), SEG, true, random);
        SegmentCodec codec = SegmentCodec.of(header, KEY, key, repositoryId, UploadOptions.DEFAULT_ZSTD_LEVEL);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (SealingOutputStream sealing = new SealingOutputStream(out, codec)) {
            sealing.write(input);
        }
        return out.toByteArray();
    }

    private void assertResultDescribes(byte[] input, UploadResult result, boolean sha256) throws Exception {
        CRC32C crc = new CRC32C();
        crc.update(input);
        assertEquals(KEY, result.key());
        assertEquals(input.length, result.plaintextLength());
        assertEquals((int) crc.getValue(), result.crc32c());
        assertEquals(sha256 ? Optional.of(sha256Hex(input)) : Optional.empty(), result.sha256());
        assertEquals(result.storedLength(), await(fs.head(KEY)).orElseThrow().size());
        Opened opened = readBack(KEY);
        assertArrayEquals(input, opened.plaintext);
        assertEquals(result.plaintextLength(), opened.footer.plaintextLength());
        assertEquals(result.segments(), opened.footer.dataSegments());
        assertEquals(result.crc32c(), opened.footer.crc32c());
        assertEquals(result.sha256(), opened.footer.sha256Hex());
    }

    private record Opened(byte[] plaintext, Footer footer) {
    }

    private Opened readBack(ObjectKey key) throws Exception {
        try (InputStream in = await(fs.openStream(key));
             OpeningInputStream opening = OpeningInputStream.open(in, key, repositoryId, keyring)) {
            byte[] plaintext = opening.readAllBytes();
            return new Opened(plaintext, opening.footer());
        }
    }

    /** Compares a large object with its generator a block at a time, never holding it whole. */
    private void assertStoredPlaintextEquals(long seed, Kind kind, long total) throws Exception {
        try (InputStream in = await(fs.openStream(KEY));
             OpeningInputStream opening = OpeningInputStream.open(in, KEY, repositoryId, keyring)) {
            byte[] got = new byte[1 << 20];
            byte[] want = new byte[1 << 20];
            long offset = 0;
            for (int n; (n = opening.readNBytes(got, 0, got.length)) > 0; offset += n) {
                TestData.fill(seed, kind, offset, want, 0, n);
                assertTrue(Arrays.equals(got, 0, n, want, 0, n), "plaintext differs in the block at " + offset);
            }
            assertEquals(total, offset);
        }
    }

    /** The store's temporary files; none when it never needed its temporary directory. */
    private List<Path> temporaryFiles() throws IOException {
        Path temp = fs.root().resolve(".holdfast-tmp");
        if (Files.notExists(temp)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(temp)) {
            return s.toList();
        }
    }

    private static String sha256Hex(byte[] data) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    private static <T> T await(Future<T> future) throws Exception {
        return future.toCompletionStage().toCompletableFuture().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private static <T> T await(CompletableFuture<T> future) throws Exception {
        return future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private static Throwable failure(Future<?> future) throws Exception {
        try {
            Object value = await(future);
            throw new AssertionError("expected a failure, got " + value);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (CancellationException e) {
            return e; // CompletableFuture.get() throws a cancellation cause as is
        }
    }

    /**
     * Holds every part back until {@code gate} completes, and counts parts in flight and the bytes
     * of parts the real store has acknowledged.
     */
    private static final class GatedStore extends ForwardingStore {
        private final CompletableFuture<Void> gate;
        private final AtomicInteger partsInFlight = new AtomicInteger();
        final AtomicInteger peakPartsInFlight = new AtomicInteger();
        final AtomicLong ackedBytes = new AtomicLong();
        private final List<CompletableFuture<Void>> all = new CopyOnWriteArrayList<>();

        GatedStore(ObjectStore store, CompletableFuture<Void> gate) {
            super(store);
            this.gate = gate;
        }

        @Override
        protected CompletableFuture<Void> uploadPart(MultipartUpload upload, int partNumber, ByteBuffer data) {
            peakPartsInFlight.accumulateAndGet(partsInFlight.incrementAndGet(), Math::max);
            int bytes = data.remaining();
            CompletableFuture<Void> f = gate.thenCompose(v -> upload.uploadPart(partNumber, data))
                    .whenComplete((v, t) -> {
                        if (t == null) {
                            ackedBytes.addAndGet(bytes);
                        }
                        partsInFlight.decrementAndGet();
                    });
            all.add(f);
            return f;
        }

        /** Waits until every part has finished, successfully or not. */
        void awaitParts() throws Exception {
            CompletableFuture.allOf(all.stream().map(f -> f.handle((v, t) -> null)).toArray(CompletableFuture[]::new))
                    .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }
}
