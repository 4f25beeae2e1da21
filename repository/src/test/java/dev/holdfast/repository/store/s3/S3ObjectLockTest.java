package dev.holdfast.repository.store.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectLock;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.PutOptions;
import dev.holdfast.repository.store.RetryPolicy;
import dev.holdfast.repository.store.RetryingObjectStore;
import dev.holdfast.repository.store.StoreException;
import dev.holdfast.testkit.FaultProxy;
import dev.holdfast.testkit.S3TestServer;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/**
 * Object Lock against S3Proxy, which does not implement it: it answers GetObjectLockConfiguration
 * and object-lock headers with 501 NotImplemented. What must hold is that a write asking for
 * retention or a legal hold is either applied or fails loudly with {@code STORE_ERROR} naming Object
 * Lock, and never lands unlocked.
 */
class S3ObjectLockTest {
    private static final ObjectLock LOCK = new ObjectLock(ObjectLock.Mode.COMPLIANCE, Instant.parse("2100-01-01T00:00:00Z"));
    private static final PutOptions LOCKED = new PutOptions(Optional.empty(), Optional.of(LOCK), false);
    private static final PutOptions HELD = new PutOptions(Optional.empty(), Optional.empty(), true);

    @TempDir
    static Path root;
    static S3TestServer server;
    static FaultProxy proxy;
    static S3AsyncClient raw;
    private String prefix;

    @BeforeAll
    static void start() throws Exception {
        server = S3TestServer.startInProcess(root);
        proxy = FaultProxy.start(server.port());
        raw = server.rawClient();
    }

    @AfterAll
    static void stop() throws Exception {
        raw.close();
        proxy.close();
        server.close();
    }

    @BeforeEach
    void fresh() {
        prefix = "t" + Long.toHexString(System.nanoTime()) + "/";
        proxy.reset();
    }

    @Test
    void probedBucketWithoutObjectLockRefusesLockedWritesBeforeSendingAnything() throws Exception {
        try (S3ObjectStore store = await(S3ObjectStore.open(server.storeConfig(proxy.endpoint()).prefix("lock/").build()))) {
            assertFalse(store.capabilities().objectLock());
            proxy.reset();
            for (PutOptions options : new PutOptions[] {LOCKED, HELD}) {
                StoreException e = failure(store.create(key("a"), ByteBuffer.wrap(new byte[10]), options));
                assertEquals(ErrorCode.STORE_ERROR, e.code());
                assertFalse(e.retryable());
                assertTrue(e.getMessage().contains("Object Lock"), e.getMessage());
                assertTrue(e.getMessage().contains("does not implement Object Lock"), e.getMessage());
                e = failure(store.startMultipart(key("m"), options));
                assertEquals(ErrorCode.STORE_ERROR, e.code());
                assertTrue(e.getMessage().contains("Object Lock"), e.getMessage());
            }
            assertTrue(proxy.seen().isEmpty(), () -> "refused before any request: " + proxy.seen());
            assertTrue(await(store.head(key("a"))).isEmpty());
        }
    }

    @Test
    void lockAssertedByConfigurationIsSentAndTheServersRefusalIsLoud() throws Exception {
        S3StoreConfig asserted = server.storeConfig(proxy.endpoint()).prefix("lock/")
                .objectLock(S3StoreConfig.ObjectLockSupport.ENABLED).build();
        // Through the retry decorator: S3Proxy refuses the headers with 501 and may close the
        // connection before reading the body; a reset is retried, the 501 is final.
        try (ObjectStore store = RetryingObjectStore.wrap(await(S3ObjectStore.open(asserted)),
                new RetryPolicy(Duration.ofMillis(5), Duration.ofMillis(50), 5))) {
            assertTrue(store.capabilities().objectLock());
            proxy.reset();
            for (PutOptions options : new PutOptions[] {LOCKED, HELD}) {
                StoreException e = failure(store.create(key("b"), ByteBuffer.wrap(new byte[10]), options));
                assertEquals(ErrorCode.STORE_ERROR, e.code(), e::getMessage);
                assertFalse(e.retryable());
                assertTrue(e.getMessage().contains("Object Lock"), e.getMessage());
                assertTrue(e.getMessage().contains("501"), e.getMessage());
                e = failure(store.startMultipart(key("mb"), options));
                assertEquals(ErrorCode.STORE_ERROR, e.code(), e::getMessage);
                assertTrue(e.getMessage().contains("Object Lock"), e.getMessage());
            }
            assertTrue(proxy.seen().stream().anyMatch(s -> s.request().headers().containsKey("x-amz-object-lock-mode")),
                    "the retention headers were sent");
            assertTrue(proxy.seen().stream().anyMatch(s -> "ON".equals(s.request().headers().get("x-amz-object-lock-legal-hold"))),
                    "the legal hold header was sent");
            assertTrue(await(store.head(key("b"))).isEmpty(), "nothing landed unlocked");
            assertTrue(await(store.listAll(prefix)).isEmpty());
        }
    }

    @Test
    void lockDisabledByConfigurationIsRefused() throws Exception {
        try (S3ObjectStore store = await(S3ObjectStore.open(server.storeConfig().prefix("lock/")
                .objectLock(S3StoreConfig.ObjectLockSupport.DISABLED).build()))) {
            assertFalse(store.capabilities().objectLock());
            StoreException e = failure(store.create(key("c"), ByteBuffer.wrap(new byte[1]), LOCKED));
            assertEquals(ErrorCode.STORE_ERROR, e.code());
            assertTrue(e.getMessage().contains("disabled in the store configuration"), e.getMessage());
        }
    }

    @Test
    void storageClassIsApplied() throws Exception {
        try (ObjectStore store = RetryingObjectStore.wrap(await(S3ObjectStore.open(server.storeConfig().prefix("lock/").build())),
                new RetryPolicy(Duration.ofMillis(5), Duration.ofMillis(50), 5))) {
            PutOptions ia = new PutOptions(Optional.of("STANDARD_IA"), Optional.empty(), false);
            await(store.create(key("ia"), ByteBuffer.wrap(new byte[5]), ia));
            String cls = raw.headObject(b -> b.bucket(server.bucket()).key("lock/" + key("ia").value()))
                    .get(30, TimeUnit.SECONDS).storageClassAsString();
            assertEquals("STANDARD_IA", cls);
        }
    }

    private ObjectKey key(String name) {
        return ObjectKey.of(prefix + name);
    }

    private static StoreException failure(CompletableFuture<?> f) {
        Exception e = assertThrows(Exception.class, () -> await(f));
        HoldfastException h = HoldfastException.find(e);
        assertTrue(h instanceof StoreException, () -> "expected a StoreException, got " + e);
        return (StoreException) h;
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
