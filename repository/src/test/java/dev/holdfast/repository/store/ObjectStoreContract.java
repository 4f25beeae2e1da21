package dev.holdfast.repository.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The contract every {@link ObjectStore} passes, against the real backend (a real S3 API server
 * over HTTP, a real directory). Subclasses provide the store; each test works under its own random
 * prefix so one server can serve the whole suite.
 */
public abstract class ObjectStoreContract {
    protected ObjectStore store;
    protected String prefix;
    private final Random random = new Random(42);

    /** A fresh store for one test. */
    protected abstract ObjectStore newStore() throws Exception;

    @BeforeEach
    void openStore() throws Exception {
        store = newStore();
        prefix = "t" + Long.toHexString(System.nanoTime()) + Integer.toHexString(random.nextInt()) + "/";
    }

    @AfterEach
    void closeStore() {
        if (store != null) {
            store.close();
        }
    }

    protected ObjectKey key(String name) {
        return ObjectKey.of(prefix + name);
    }

    protected byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    protected static <T> T await(CompletableFuture<T> f) throws Exception {
        try {
            return f.get(120, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
    }

    protected static ErrorCode failureCode(CompletableFuture<?> f) {
        Exception e = assertThrows(Exception.class, () -> await(f));
        HoldfastException h = HoldfastException.find(e);
        assertTrue(h != null, () -> "expected a HoldfastException, got " + e);
        return h.code();
    }

    private int partSize() {
        return (int) Math.max(store.capabilities().minPartSize(), 64 * 1024);
    }

    @Test
    void createdObjectReadsBackIdentically() throws Exception {
        byte[] data = bytes(100_000);
        await(store.create(key("a"), ByteBuffer.wrap(data), PutOptions.DEFAULT));
        assertArrayEquals(data, await(store.get(key("a"))));
        try (InputStream in = await(store.openStream(key("a")))) {
            assertArrayEquals(data, in.readAllBytes());
        }
        ObjectInfo info = await(store.head(key("a"))).orElseThrow();
        assertEquals(data.length, info.size());
        assertEquals(key("a"), info.key());
    }

    @Test
    void emptyObjectIsAnObject() throws Exception {
        await(store.create(key("empty"), ByteBuffer.allocate(0), PutOptions.DEFAULT));
        assertEquals(0, await(store.get(key("empty"))).length);
        assertEquals(0, await(store.head(key("empty"))).orElseThrow().size());
    }

    @Test
    void createRefusesAnExistingKeyAndKeepsTheOriginal() throws Exception {
        byte[] first = bytes(1000);
        await(store.create(key("once"), ByteBuffer.wrap(first), PutOptions.DEFAULT));
        assertEquals(ErrorCode.OBJECT_EXISTS, failureCode(store.create(key("once"), ByteBuffer.wrap(bytes(1000)), PutOptions.DEFAULT)));
        assertArrayEquals(first, await(store.get(key("once"))));
    }

    @Test
    void createDoesNotConsumeTheCallersBuffer() throws Exception {
        ByteBuffer buf = ByteBuffer.wrap(bytes(500));
        await(store.create(key("buf"), buf, PutOptions.DEFAULT));
        assertEquals(0, buf.position());
        assertEquals(500, buf.remaining());
    }

    @Test
    void missingObjectIsNotFoundEverywhere() throws Exception {
        assertEquals(ErrorCode.OBJECT_NOT_FOUND, failureCode(store.get(key("nope"))));
        assertEquals(ErrorCode.OBJECT_NOT_FOUND, failureCode(store.getRange(key("nope"), 0, 10)));
        assertEquals(ErrorCode.OBJECT_NOT_FOUND, failureCode(store.openStream(key("nope"))));
        assertTrue(await(store.head(key("nope"))).isEmpty());
    }

    @Test
    void rangeReadsReturnTheRequestedSliceAndStopAtTheEnd() throws Exception {
        byte[] data = bytes(10_000);
        await(store.create(key("r"), ByteBuffer.wrap(data), PutOptions.DEFAULT));
        assertArrayEquals(java.util.Arrays.copyOfRange(data, 1234, 1234 + 500), await(store.getRange(key("r"), 1234, 500)));
        assertArrayEquals(java.util.Arrays.copyOfRange(data, 9_990, 10_000), await(store.getRange(key("r"), 9_990, 500)));
        assertArrayEquals(java.util.Arrays.copyOfRange(data, 0, 1), await(store.getRange(key("r"), 0, 1)));
        assertEquals(0, await(store.getRange(key("r"), 10_000, 10)).length);
    }

    @Test
    void listingFiltersByPrefixPaginatesAndSorts() throws Exception {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 23; i++) {
            String n = String.format("wal/%03d", 22 - i);
            names.add(n);
            await(store.create(key(n), ByteBuffer.wrap(bytes(i + 1)), PutOptions.DEFAULT));
        }
        await(store.create(key("walrus"), ByteBuffer.wrap(bytes(3)), PutOptions.DEFAULT));
        await(store.create(key("other/x"), ByteBuffer.wrap(bytes(3)), PutOptions.DEFAULT));
        names.sort(null);

        List<String> seen = new ArrayList<>();
        Optional<String> token = Optional.empty();
        int pages = 0;
        do {
            ListPage page = await(store.list(prefix + "wal/", token, 7));
            assertTrue(page.objects().size() <= 7);
            page.objects().forEach(o -> seen.add(o.key().value().substring(prefix.length())));
            token = page.next();
            pages++;
        } while (token.isPresent() && pages < 10);
        assertEquals(names, seen);
        assertTrue(pages >= 4, "23 objects in pages of 7 take at least 4 pages");

        // A prefix that ends inside a segment matches by string, as in S3.
        assertEquals(24, await(store.listAll(prefix + "wal")).size());
        assertEquals(3, await(store.listAll(prefix + "wal/00")).size() - 7);
        assertTrue(await(store.listAll(prefix + "nothing-here/")).isEmpty());
        ObjectInfo first = await(store.listAll(prefix + "wal/000")).get(0);
        assertEquals(23, first.size());
    }

    @Test
    void deleteRemovesAndIsIdempotent() throws Exception {
        await(store.create(key("d"), ByteBuffer.wrap(bytes(10)), PutOptions.DEFAULT));
        await(store.delete(key("d")));
        assertTrue(await(store.head(key("d"))).isEmpty());
        assertTrue(await(store.listAll(prefix)).isEmpty());
        await(store.delete(key("d")));
        // A deleted name can be created again (retention deletes, then a re-push recreates).
        await(store.create(key("d"), ByteBuffer.wrap(bytes(10)), PutOptions.DEFAULT));
    }

    @Test
    void multipartObjectOfSeveralPartsReadsBackIdentically() throws Exception {
        int part = partSize();
        byte[] data = bytes(part * 3 + 1234);
        ObjectStore.MultipartUpload up = await(store.startMultipart(key("big"), PutOptions.DEFAULT));
        // Parts out of order and concurrently: the store assembles by part number.
        List<CompletableFuture<Void>> parts = new ArrayList<>();
        for (int i = 3; i >= 0; i--) {
            int from = i * part;
            int to = Math.min(data.length, from + part);
            parts.add(up.uploadPart(i + 1, ByteBuffer.wrap(data, from, to - from).slice()));
        }
        await(CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)));
        assertTrue(await(store.head(key("big"))).isEmpty(), "invisible before complete");
        await(up.complete());
        assertArrayEquals(data, await(store.get(key("big"))));
        assertArrayEquals(java.util.Arrays.copyOfRange(data, part - 10, part + 10), await(store.getRange(key("big"), part - 10, 20)));
    }

    @Test
    void abortedOrAbandonedUploadLeavesNothingVisible() throws Exception {
        int part = partSize();
        ObjectStore.MultipartUpload aborted = await(store.startMultipart(key("aborted"), PutOptions.DEFAULT));
        await(aborted.uploadPart(1, ByteBuffer.wrap(bytes(part))));
        await(aborted.abort());
        await(aborted.abort());
        ObjectStore.MultipartUpload abandoned = await(store.startMultipart(key("abandoned"), PutOptions.DEFAULT));
        await(abandoned.uploadPart(1, ByteBuffer.wrap(bytes(part))));
        assertTrue(await(store.head(key("aborted"))).isEmpty());
        assertTrue(await(store.head(key("abandoned"))).isEmpty());
        assertTrue(await(store.listAll(prefix)).isEmpty());
        await(abandoned.abort());
    }

    @Test
    void multipartCompleteRefusesAnExistingKeyAndKeepsTheOriginal() throws Exception {
        byte[] original = bytes(100);
        await(store.create(key("taken"), ByteBuffer.wrap(original), PutOptions.DEFAULT));
        ObjectStore.MultipartUpload up = await(store.startMultipart(key("taken"), PutOptions.DEFAULT));
        await(up.uploadPart(1, ByteBuffer.wrap(bytes(partSize()))));
        await(up.uploadPart(2, ByteBuffer.wrap(bytes(10))));
        assertEquals(ErrorCode.OBJECT_EXISTS, failureCode(up.complete()));
        await(up.abort());
        assertArrayEquals(original, await(store.get(key("taken"))));
    }

    @Test
    void concurrentCreatorsOfOneKeyProduceExactlyOneWinner() throws Exception {
        assumeTrue(store.capabilities().atomicCreate(), "store emulates create-if-absent");
        int writers = 8;
        List<byte[]> contents = new ArrayList<>();
        List<CompletableFuture<Void>> attempts = new ArrayList<>();
        for (int i = 0; i < writers; i++) {
            byte[] c = bytes(20_000);
            contents.add(c);
            attempts.add(store.create(key("race"), ByteBuffer.wrap(c), PutOptions.DEFAULT));
        }
        AtomicInteger won = new AtomicInteger();
        int winner = -1;
        for (int i = 0; i < writers; i++) {
            try {
                await(attempts.get(i));
                won.incrementAndGet();
                winner = i;
            } catch (Exception e) {
                assertEquals(ErrorCode.OBJECT_EXISTS, HoldfastException.find(e).code());
            }
        }
        assertEquals(1, won.get());
        assertArrayEquals(contents.get(winner), await(store.get(key("race"))));
    }

    @Test
    void concurrentWritersOfDifferentKeysAllLand() throws Exception {
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        List<byte[]> contents = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            byte[] c = bytes(5_000 + i);
            contents.add(c);
            writes.add(store.create(key("many/" + i), ByteBuffer.wrap(c), PutOptions.DEFAULT));
        }
        await(CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)));
        for (int i = 0; i < 16; i++) {
            assertArrayEquals(contents.get(i), await(store.get(key("many/" + i))));
        }
    }

    @Test
    void streamingUploadWritesLargeObjectsAsMultipartWithBoundedParts() throws Exception {
        int part = partSize();
        byte[] data = bytes(part * 4 + 77);
        StreamingUpload up = new StreamingUpload(store, key("stream"), PutOptions.DEFAULT, part, 2);
        int off = 0;
        while (off < data.length) {
            int n = Math.min(33_333, data.length - off);
            await(up.write(ByteBuffer.wrap(data, off, n)));
            off += n;
        }
        assertTrue(await(store.head(key("stream"))).isEmpty(), "invisible before finish");
        await(up.finish());
        assertArrayEquals(data, await(store.get(key("stream"))));
    }

    @Test
    void streamingUploadOfASmallObjectIsOneCreateAndRefusesOverwrite() throws Exception {
        byte[] data = bytes(1000);
        StreamingUpload up = new StreamingUpload(store, key("small"), PutOptions.DEFAULT, partSize(), 2);
        await(up.write(ByteBuffer.wrap(data)));
        await(up.finish());
        assertArrayEquals(data, await(store.get(key("small"))));

        StreamingUpload again = new StreamingUpload(store, key("small"), PutOptions.DEFAULT, partSize(), 2);
        await(again.write(ByteBuffer.wrap(bytes(partSize() * 2 + 1))));
        assertEquals(ErrorCode.OBJECT_EXISTS, failureCode(again.finish()));
        assertArrayEquals(data, await(store.get(key("small"))));
    }

    @Test
    void abortedStreamingUploadLeavesNothing() throws Exception {
        StreamingUpload up = new StreamingUpload(store, key("gone"), PutOptions.DEFAULT, partSize(), 2);
        await(up.write(ByteBuffer.wrap(bytes(partSize() * 2 + 5))));
        await(up.abort());
        assertTrue(await(store.head(key("gone"))).isEmpty());
        assertFalse(await(store.listAll(prefix)).stream().anyMatch(o -> o.key().value().contains("gone")));
    }
}
