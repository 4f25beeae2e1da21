package dev.holdfast.agent.wal;

import static dev.holdfast.agent.wal.TestWal.SEG;
import static dev.holdfast.agent.wal.TestWal.SYSID;
import static dev.holdfast.agent.wal.TestWal.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.pipeline.UploadPipeline;
import dev.holdfast.agent.wal.TestWal.Store;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.PutOptions;
import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.repository.wal.WalClusterInfo;
import dev.holdfast.repository.wal.WalFileName;
import dev.holdfast.repository.wal.WalIndex;
import dev.holdfast.repository.wal.WalLayout;
import dev.holdfast.repository.wal.WalSegmentName;
import dev.holdfast.testkit.S3TestServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** WalRepository against a directory store and a real S3 API server (S3Proxy over HTTP). */
class WalRepositoryTest {
    private static final WalClusterInfo INFO = new WalClusterInfo(SYSID, SEG, 150004);
    private static final AtomicInteger N = new AtomicInteger();

    @TempDir
    static Path dir;
    static S3TestServer s3;
    private Vertx vertx;
    private Repository repo;
    private UploadPipeline pipeline;
    private WalRepository wal;

    @BeforeAll
    static void startS3() throws Exception {
        s3 = S3TestServer.startInProcess(Files.createDirectories(dir.resolve("s3")));
    }

    @AfterAll
    static void stopS3() throws Exception {
        s3.close();
    }

    private WalRepository open(Store store) throws Exception {
        vertx = Vertx.vertx();
        repo = TestWal.repository(store, dir, s3, "wal-" + N.incrementAndGet());
        pipeline = TestWal.pipeline(vertx, repo);
        wal = new WalRepository(vertx, repo, pipeline, new WalLayout("main", SYSID), Clock.systemUTC());
        await(wal.ensureDescriptor(INFO));
        return wal;
    }

    @AfterEach
    void tearDown() {
        if (vertx != null) {
            await(pipeline.close());
            await(vertx.close());
            repo.close();
        }
    }

    @ParameterizedTest
    @EnumSource(Store.class)
    void aSegmentIsStoredOnceAndADifferentCopyIsRefusedWithoutTouchingTheStoredOne(Store store) throws Exception {
        open(store);
        String name = "000000010000000000000003";
        byte[] seg = TestWal.segment(SYSID, name, 1);
        assertEquals(PutOutcome.STORED, await(wal.putFile(WalFileName.parse(name), Buffer.buffer(seg))));
        String key = "wal/main/" + SYSID + "/" + name;
        byte[] stored = TestWal.raw(repo, key);

        assertEquals(PutOutcome.ALREADY_STORED, await(wal.putFile(WalFileName.parse(name), Buffer.buffer(seg.clone()))));
        byte[] other = seg.clone();
        other[500_000] ^= 1;
        HoldfastException e = assertThrows(HoldfastException.class, () -> await(wal.putFile(WalFileName.parse(name), Buffer.buffer(other))));
        assertEquals(ErrorCode.OBJECT_EXISTS, e.code());
        assertTrue(e.getMessage().contains("differs from the stored copy") && e.getMessage().contains("was not changed"), e.getMessage());
        Path file = dir.resolve("other-" + store);
        Files.write(file, other);
        e = assertThrows(HoldfastException.class, () -> await(wal.putFile(WalFileName.parse(name), file)));
        assertEquals(ErrorCode.OBJECT_EXISTS, e.code());

        assertArrayEquals(stored, TestWal.raw(repo, key), "the stored object is unchanged, byte for byte");
        assertArrayEquals(seg, await(wal.fetch(name)).orElseThrow().getBytes());
    }

    @ParameterizedTest
    @EnumSource(Store.class)
    void aFileIsUploadedThroughThePipelineWithTheSameContract(Store store) throws Exception {
        open(store);
        String name = "000000010000000000000004";
        byte[] seg = TestWal.segment(SYSID, name, 2);
        Path file = dir.resolve(name + "-" + store);
        Files.write(file, seg);
        assertEquals(PutOutcome.STORED, await(wal.putFile(WalFileName.parse(name), file)));
        assertEquals(PutOutcome.ALREADY_STORED, await(wal.putFile(WalFileName.parse(name), file)));
        assertEquals(PutOutcome.ALREADY_STORED, await(wal.putFile(WalFileName.parse(name), Buffer.buffer(seg))));
        assertTrue(repo.inspect(ObjectKey.of("wal/main/" + SYSID + "/" + name)).footer().sha256().isPresent(), "sealed with SHA-256");
        assertArrayEquals(seg, await(wal.fetch(name)).orElseThrow().getBytes());
    }

    @ParameterizedTest
    @EnumSource(Store.class)
    void partsAreFetchedAsAChainFromZeroPaddedWithZerosAndACompleteSegmentWins(Store store) throws Exception {
        open(store);
        WalSegmentName seg = WalSegmentName.parse("000000010000000000000005");
        byte[] full = TestWal.segment(SYSID, seg.toString(), 3);
        await(wal.putPart(seg, 0, Buffer.buffer(Arrays.copyOfRange(full, 0, 1000))));
        await(wal.putPart(seg, 1000, Buffer.buffer(Arrays.copyOfRange(full, 1000, 70_000))));
        await(wal.putPart(seg, 0, Buffer.buffer(Arrays.copyOfRange(full, 0, 1000))));    // again: done already
        await(wal.putPart(seg, 80_000, Buffer.buffer(Arrays.copyOfRange(full, 80_000, 90_000))));   // after a hole: unused

        byte[] got = await(wal.fetch(seg.toString())).orElseThrow().getBytes();
        assertEquals(SEG, got.length, "padded to the segment size");
        assertArrayEquals(Arrays.copyOfRange(full, 0, 70_000), Arrays.copyOfRange(got, 0, 70_000));
        assertTrue(allZero(Arrays.copyOfRange(got, 70_000, got.length)), "zeros after the chain");

        WalIndex index = await(wal.index());
        assertEquals(Optional.of(seg.startLsn(SEG).plus(70_000)), index.durableEnd(1));
        assertEquals(0, await(wal.deleteSupersededParts(seg)), "no complete segment yet: parts stay");

        assertEquals(PutOutcome.STORED, await(wal.putSegment(seg, Buffer.buffer(full))));
        assertArrayEquals(full, await(wal.fetch(seg.toString())).orElseThrow().getBytes(), "the complete segment wins");
        assertEquals(3, await(wal.deleteSupersededParts(seg)));
        assertTrue(await(wal.index()).parts(seg).isEmpty());
        assertEquals(Optional.of(new Lsn(seg.startLsn(SEG).value() + SEG)), await(wal.index()).durableEnd(1));
    }

    @ParameterizedTest
    @EnumSource(Store.class)
    void historyFilesComeBackAsStoredAndMissingFilesAreEmpty(Store store) throws Exception {
        open(store);
        byte[] history = "1\t0/3000060\tno recovery target specified\n".getBytes(StandardCharsets.US_ASCII);
        assertEquals(PutOutcome.STORED, await(wal.putFile(WalFileName.parse("00000002.history"), Buffer.buffer(history))));
        assertArrayEquals(history, await(wal.fetch("00000002.history")).orElseThrow().getBytes());
        assertEquals(Optional.empty(), await(wal.fetch("00000003.history")));
        assertEquals(Optional.empty(), await(wal.fetch("000000010000000000000042")));
        assertEquals(ErrorCode.USAGE, assertThrows(HoldfastException.class, () -> await(wal.fetch("../etc/passwd"))).code());
    }

    @ParameterizedTest
    @EnumSource(Store.class)
    void aDescriptorOfAnotherClusterIsRefusedNamingBoth(Store store) throws Exception {
        open(store);
        assertEquals(INFO, await(wal.ensureDescriptor(new WalClusterInfo(SYSID, SEG, 150010))), "a minor version moves freely");
        HoldfastException e = assertThrows(HoldfastException.class,
                () -> await(wal.ensureDescriptor(new WalClusterInfo(SYSID, 16 * SEG, 150004))));
        assertEquals(ErrorCode.SOURCE_MISMATCH, e.code());
        assertTrue(e.getMessage().contains(Long.toString(SEG)) && e.getMessage().contains(Long.toString(16 * SEG)), e.getMessage());
        e = assertThrows(HoldfastException.class, () -> await(wal.ensureDescriptor(new WalClusterInfo(SYSID, SEG, 160000))));
        assertEquals(ErrorCode.SOURCE_MISMATCH, e.code());
    }

    @ParameterizedTest
    @EnumSource(Store.class)
    void aTamperedObjectFailsClosed(Store store) throws Exception {
        open(store);
        String name = "000000010000000000000006";
        await(wal.putFile(WalFileName.parse(name), Buffer.buffer(TestWal.segment(SYSID, name, 4))));
        ObjectKey key = ObjectKey.of("wal/main/" + SYSID + "/" + name);
        byte[] bytes = TestWal.raw(repo, key.value());
        bytes[bytes.length / 2] ^= 0x40;
        Futures.await(repo.store().delete(key));
        Futures.await(repo.store().create(key, ByteBuffer.wrap(bytes), PutOptions.DEFAULT));
        HoldfastException e = assertThrows(HoldfastException.class, () -> await(wal.fetch(name)));
        assertEquals(ErrorCode.INTEGRITY_FAILURE, e.code());
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }
}
