package dev.holdfast.repository.store.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.PutOptions;
import dev.holdfast.repository.store.RetryPolicy;
import dev.holdfast.repository.store.RetryingObjectStore;
import dev.holdfast.repository.store.StoreException;
import dev.holdfast.repository.store.StreamingUpload;
import dev.holdfast.testkit.FaultProxy;
import dev.holdfast.testkit.S3TestServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/**
 * Faults between the store and a real S3 server (S3Proxy over HTTP): the {@link FaultProxy} answers
 * chosen requests with 503/500, resets connections mid-body or loses answers, and a server running
 * as its own process is killed with SIGKILL mid-upload. The object under test is the whole write
 * path: {@link StreamingUpload} over {@link RetryingObjectStore} over {@link S3ObjectStore}.
 */
class S3FaultTest {
    private static final int PART = 5 * 1024 * 1024;
    /** Short waits so that the suite stays fast; the attempts are what matter here. */
    private static final RetryPolicy POLICY = new RetryPolicy(Duration.ofMillis(10), Duration.ofMillis(200), 6);

    @TempDir
    static Path root;
    static S3TestServer server;
    static FaultProxy proxy;
    static ScheduledExecutorService scheduler;

    private ObjectStore store;
    private String prefix;
    private final Random random = new Random(11);

    @BeforeAll
    static void start() throws Exception {
        server = S3TestServer.startInProcess(root.resolve("inproc"));
        proxy = FaultProxy.start(server.port());
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "s3-fault-test-retry");
            t.setDaemon(true);
            return t;
        });
    }

    @AfterAll
    static void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (server != null) {
            server.close();
        }
        if (scheduler != null) {
            scheduler.shutdownNow();
        }
    }

    @BeforeEach
    void open() throws Exception {
        store = new RetryingObjectStore(await(S3ObjectStore.open(server.storeConfig(proxy.endpoint()).prefix("faults/").build())),
                POLICY, scheduler, new SplittableRandom(3));
        prefix = "t" + Long.toHexString(System.nanoTime()) + "/";
        proxy.reset(); // forget the open-time probe's requests
    }

    @AfterEach
    void close() {
        proxy.reset();
        store.close();
    }

    @Test
    void slowDownOnSomePartsIsRetriedAndTheObjectReadsBackIdentically() throws Exception {
        proxy.failNth(r -> r.isUploadPart() && r.partNumber() == 2, 1, FaultProxy.slowDown());
        proxy.failNth(r -> r.isUploadPart() && r.partNumber() == 3, 1, FaultProxy.slowDown());
        byte[] data = uploadFourParts("slow");
        assertArrayEquals(data, await(store.get(key("slow"))));
        assertEquals(6, proxy.seen(FaultProxy.Request::isUploadPart).size(), "4 parts + 2 retried");
    }

    @Test
    void internalErrorOnAPartIsRetried() throws Exception {
        proxy.failNth(r -> r.isUploadPart() && r.partNumber() == 1, 1, FaultProxy.internalError());
        byte[] data = uploadFourParts("ie");
        assertArrayEquals(data, await(store.get(key("ie"))));
        assertEquals(5, proxy.seen(FaultProxy.Request::isUploadPart).size());
    }

    @Test
    void connectionResetInTheMiddleOfAPartIsRetried() throws Exception {
        proxy.failNth(r -> r.isUploadPart() && r.partNumber() == 2, 1, FaultProxy.resetAfter(1024 * 1024));
        proxy.failNth(r -> r.isUploadPart() && r.partNumber() == 4, 1, FaultProxy.resetAfter(10));
        byte[] data = uploadFourParts("reset");
        assertArrayEquals(data, await(store.get(key("reset"))));
        assertEquals(6, proxy.seen(FaultProxy.Request::isUploadPart).size());
    }

    @Test
    void throttledAndLostAnswersOnStartAndCompleteAreRetried() throws Exception {
        proxy.failNth(FaultProxy.Request::isCreateMultipart, 1, FaultProxy.slowDown());
        proxy.failNth(FaultProxy.Request::isCompleteMultipart, 1, FaultProxy.slowDown());
        // The second complete reaches the server and completes the object, but its answer is lost:
        // the third finds the work done (S3Proxy repeats success; AWS may say NoSuchUpload, which the
        // decorator settles by size and ETag).
        proxy.failNth(FaultProxy.Request::isCompleteMultipart, 2, FaultProxy.dropResponse());
        byte[] data = uploadFourParts("complete");
        assertArrayEquals(data, await(store.get(key("complete"))));
        assertEquals(3, proxy.seen(FaultProxy.Request::isCompleteMultipart).size(), () -> proxy.seen().toString());
        assertEquals(2, proxy.seen(FaultProxy.Request::isCreateMultipart).size());
    }

    @Test
    void createWhoseAnswerIsLostSucceedsOnRetryByRecognisingItsOwnObject() throws Exception {
        proxy.failNth(FaultProxy.Request::isPutObject, 1, FaultProxy.dropResponse());
        byte[] data = bytes(200_000);
        await(store.create(key("lost"), ByteBuffer.wrap(data), PutOptions.DEFAULT));
        assertArrayEquals(data, await(store.get(key("lost"))));
        // first PUT landed, the retry met 412, a HEAD found the same MD5
        assertEquals(2, proxy.seen(FaultProxy.Request::isPutObject).size());
    }

    @Test
    void createThatMeetsAnotherWritersObjectAfterALostAnswerReportsExists() throws Exception {
        byte[] theirs = bytes(1000);
        await(store.create(key("rival"), ByteBuffer.wrap(theirs), PutOptions.DEFAULT));
        proxy.failNth(FaultProxy.Request::isPutObject, 1, FaultProxy.slowDown());
        Exception e = assertThrows(Exception.class,
                () -> await(store.create(key("rival"), ByteBuffer.wrap(bytes(1000)), PutOptions.DEFAULT)));
        assertEquals(ErrorCode.OBJECT_EXISTS, HoldfastException.find(e).code());
        assertArrayEquals(theirs, await(store.get(key("rival"))));
    }

    @Test
    void readsAreRetriedThroughResets() throws Exception {
        byte[] data = bytes(300_000);
        await(store.create(key("r"), ByteBuffer.wrap(data), PutOptions.DEFAULT));
        proxy.failNth(r -> r.method().equals("GET"), 1, FaultProxy.resetAfter(0));
        proxy.failNth(r -> r.method().equals("GET"), 2, FaultProxy.slowDown());
        assertArrayEquals(data, await(store.get(key("r"))));
        proxy.failNth(r -> r.method().equals("HEAD"), 1, FaultProxy.internalError());
        assertEquals(data.length, await(store.head(key("r"))).orElseThrow().size());
    }

    @Test
    void serverDownForTwoAttemptsIsRiddenOutAndDownForGoodGivesUpUnavailable() throws Exception {
        AtomicInteger retries = new AtomicInteger();
        // The proxy comes back when the second retry is scheduled: deterministic, no sleeping.
        ScheduledThreadPoolExecutor hooked = new ScheduledThreadPoolExecutor(1) {
            @Override
            public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
                if (retries.incrementAndGet() == 2) {
                    try {
                        proxy.up();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
                return super.schedule(command, delay, unit);
            }
        };
        ObjectStore s3 = ((RetryingObjectStore) store).delegate();
        ObjectStore flaky = new RetryingObjectStore(s3, POLICY, hooked, new SplittableRandom(4));
        try {
            byte[] data = bytes(50_000);
            proxy.down();
            await(flaky.create(key("downup"), ByteBuffer.wrap(data), PutOptions.DEFAULT));
            assertEquals(2, retries.get());
            assertArrayEquals(data, await(flaky.get(key("downup"))));

            proxy.down();
            Exception e = assertThrows(Exception.class, () -> await(store.head(key("downup"))));
            StoreException se = (StoreException) HoldfastException.find(e);
            assertEquals(ErrorCode.STORE_UNAVAILABLE, se.code());
            assertTrue(se.getMessage().contains("gave up after " + POLICY.maxAttempts() + " attempts"), se.getMessage());
        } finally {
            proxy.up();
            hooked.shutdownNow();
        }
    }

    @Test
    void wrongCredentialsFailFastWithAccessDeniedAndNoRetries() throws Exception {
        S3StoreConfig bad = server.storeConfig(proxy.endpoint()).prefix("faults/").credentials(server.accessKey(), "wrong-secret")
                .conditionalWrites(S3StoreConfig.ConditionalWrites.NATIVE)
                .objectLock(S3StoreConfig.ObjectLockSupport.DISABLED).build();
        try (ObjectStore denied = new RetryingObjectStore(await(S3ObjectStore.open(bad)), POLICY, scheduler, new SplittableRandom(1))) {
            proxy.reset();
            Exception e = assertThrows(Exception.class, () -> await(denied.get(key("x"))));
            StoreException s = (StoreException) HoldfastException.find(e);
            assertEquals(ErrorCode.STORE_ACCESS_DENIED, s.code());
            assertTrue(!s.retryable() && !s.getMessage().contains("wrong-secret"), s::getMessage);
            assertEquals(1, proxy.seen().size(), () -> "no retry: " + proxy.seen());

            proxy.reset();
            e = assertThrows(Exception.class, () -> await(denied.list("", java.util.Optional.empty(), 10)));
            assertEquals(ErrorCode.STORE_ACCESS_DENIED, HoldfastException.find(e).code());
            assertEquals(1, proxy.seen().size(), () -> "no retry: " + proxy.seen());

            proxy.reset();
            // A small body: the server refuses after reading the head, and a body still in flight
            // would turn its close into a reset, which the client rightly retries.
            Exception put = assertThrows(Exception.class,
                    () -> await(denied.create(key("y"), ByteBuffer.wrap(bytes(1000)), PutOptions.DEFAULT)));
            assertEquals(ErrorCode.STORE_ACCESS_DENIED, HoldfastException.find(put).code(), () -> HoldfastException.find(put).getMessage());
            // Even a small body can still be in flight when the server answers 403 and closes (on a
            // loaded machine: CI saw it), and the reset the client then sees is rightly retried once;
            // the 403 itself never is (the GET and LIST above show it with no body involved).
            assertTrue(proxy.seen().size() <= 2, () -> "no retry of the refusal: " + proxy.seen());
        }
    }

    @Test
    void serverKilledMidUploadFailsUnavailableAndLeavesNothingVisibleAfterRestart() throws Exception {
        Path dir = Files.createDirectories(root.resolve("killed"));
        S3TestServer proc = S3TestServer.startProcess(dir);
        S3TestServer restarted = null;
        RetryPolicy shortPolicy = new RetryPolicy(Duration.ofMillis(10), Duration.ofMillis(100), 4);
        ObjectKey key = key("killed");
        try (ObjectStore s = new RetryingObjectStore(await(S3ObjectStore.open(proc.storeConfig().prefix("kill/").build())),
                shortPolicy, scheduler, new SplittableRandom(9))) {
            StreamingUpload up = new StreamingUpload(s, key, PutOptions.DEFAULT, PART, 1);
            await(up.write(ByteBuffer.wrap(bytes(PART)))); // part 1 is on the server
            CompletableFuture<Void> second = up.write(ByteBuffer.wrap(bytes(PART))); // part 2 in flight
            proc.kill(); // SIGKILL
            Throwable failure;
            try {
                await(second);
                failure = assertThrows(Exception.class, () -> await(up.finish()));
            } catch (Exception e) {
                failure = e;
                Exception fin = assertThrows(Exception.class, () -> await(up.finish()));
                assertEquals(ErrorCode.STORE_UNAVAILABLE, HoldfastException.find(fin).code());
            }
            StoreException se = (StoreException) HoldfastException.find(failure);
            assertEquals(ErrorCode.STORE_UNAVAILABLE, se.code(), se::getMessage);
            assertTrue(se.getMessage().contains("gave up after 4 attempts"), se.getMessage());

            restarted = proc.restart();
            assertEquals(proc.port(), restarted.port(), "same data directory, same port");
            try (S3AsyncClient raw = restarted.rawClient()) {
                String s3Key = "kill/" + key.value();
                ExecutionException notThere = assertThrows(ExecutionException.class, () -> raw.getObject(
                        b -> b.bucket(S3TestServer.BUCKET).key(s3Key), AsyncResponseTransformer.toBytes()).get(30, TimeUnit.SECONDS));
                assertTrue(notThere.getCause() instanceof NoSuchKeyException, notThere::toString);
                assertTrue(raw.listObjectsV2(b -> b.bucket(S3TestServer.BUCKET).prefix("kill/")).get(30, TimeUnit.SECONDS)
                        .contents().isEmpty());
                // The abort could not reach a dead server, so the upload's parts may remain as an
                // incomplete upload: invisible, and swept by abortUploadsStartedBefore (or a lifecycle rule).
                List<String> left = raw.listMultipartUploads(b -> b.bucket(S3TestServer.BUCKET).prefix("kill/"))
                        .get(30, TimeUnit.SECONDS).uploads().stream().map(u -> u.key()).toList();
                System.out.println("incomplete uploads after restart: " + left);
                try (S3ObjectStore sweeper = await(S3ObjectStore.open(restarted.storeConfig().prefix("kill/").build()))) {
                    assertEquals(left.size(), await(sweeper.abortUploadsStartedBefore(Instant.now().plusSeconds(60))));
                    assertTrue(await(sweeper.head(key)).isEmpty());
                    assertTrue(await(sweeper.listAll("")).isEmpty());
                }
                assertTrue(raw.listMultipartUploads(b -> b.bucket(S3TestServer.BUCKET).prefix("kill/"))
                        .get(30, TimeUnit.SECONDS).uploads().isEmpty());
            }
        } finally {
            proc.close();
            if (restarted != null) {
                restarted.close();
            }
        }
    }

    // ---- helpers ----

    /** Uploads 3 full parts and a short fourth through StreamingUpload; returns the bytes. */
    private byte[] uploadFourParts(String name) throws Exception {
        byte[] data = bytes(3 * PART + 12_345);
        StreamingUpload up = new StreamingUpload(store, key(name), PutOptions.DEFAULT, PART, 2);
        int off = 0;
        while (off < data.length) {
            int n = Math.min(1024 * 1024, data.length - off);
            await(up.write(ByteBuffer.wrap(data, off, n)));
            off += n;
        }
        await(up.finish());
        return data;
    }

    private ObjectKey key(String name) {
        return ObjectKey.of(prefix + name);
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    static <T> T await(CompletableFuture<T> f) throws Exception {
        try {
            return f.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
    }
}
