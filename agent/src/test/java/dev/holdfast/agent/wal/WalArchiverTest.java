package dev.holdfast.agent.wal;

import static dev.holdfast.agent.wal.TestWal.SEG;
import static dev.holdfast.agent.wal.TestWal.SYSID;
import static dev.holdfast.agent.wal.TestWal.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.pipeline.UploadPipeline;
import dev.holdfast.agent.wal.TestWal.Store;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.wal.WalLayout;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Archive mode against a directory store and a fake data directory laid out as PostgreSQL's. */
class WalArchiverTest {
    private static final AtomicInteger N = new AtomicInteger();
    @TempDir
    Path dir;
    private Vertx vertx;
    private Repository repo;
    private UploadPipeline pipeline;
    private SimpleMeterRegistry registry;
    private Path dataDir;

    @BeforeEach
    void setUp() throws Exception {
        vertx = Vertx.vertx();
        repo = TestWal.repository(Store.FILE, dir, null, "arch-" + N.incrementAndGet());
        pipeline = TestWal.pipeline(vertx, repo);
        registry = new SimpleMeterRegistry();
        dataDir = dir.resolve("data");
        Files.createDirectories(dataDir.resolve("pg_wal/archive_status"));
        Files.createDirectories(dataDir.resolve("global"));
        Files.writeString(dataDir.resolve("PG_VERSION"), "15\n");
        byte[] control = new byte[8192];
        ByteBuffer.wrap(control).order(ByteOrder.LITTLE_ENDIAN).putLong(0, Long.parseUnsignedLong(SYSID));
        Files.write(dataDir.resolve("global/pg_control"), control);
    }

    @AfterEach
    void tearDown() {
        await(pipeline.close());
        await(vertx.close());
        repo.close();
    }

    private WalArchiver archiver(int parallel) {
        return new WalArchiver(vertx, "main", layout -> new WalRepository(vertx, repo, pipeline, layout, Clock.systemUTC()), dataDir,
                parallel, Duration.ofMillis(100), Clock.systemUTC(), registry);
    }

    private double count(String name) {
        return registry.get(name).tag("source", "main").counter().count();
    }

    private boolean stored(String name) {
        return Futures.await(repo.store().head(ObjectKey.of("wal/main/" + SYSID + "/" + name))).isPresent();
    }

    @Test
    void pushStoresOnceAcceptsAnIdenticalRetryAndRefusesADifferentFile() {
        WalArchiver a = archiver(0);
        String name = "000000010000000000000003";
        byte[] seg = TestWal.segment(SYSID, name, 1);
        assertEquals(PutOutcome.STORED, await(a.push(name, Buffer.buffer(seg))));
        assertEquals(PutOutcome.ALREADY_STORED, await(a.push(name, Buffer.buffer(seg))));
        byte[] other = seg.clone();
        other[100] ^= 1;
        HoldfastException e = assertThrows(HoldfastException.class, () -> await(a.push(name, Buffer.buffer(other))));
        assertEquals(ErrorCode.OBJECT_EXISTS, e.code());
        assertEquals(1, count("holdfast.wal.segments.shipped"));
        assertEquals(SEG, count("holdfast.wal.bytes.shipped"));
        assertEquals(1, count("holdfast.wal.push.conflicts"));
        assertEquals(1, registry.get("holdfast.wal.upload").timer().count());
        assertTrue(registry.get("holdfast.wal.last.durable.timestamp.seconds").gauge().value() > 1.7e9);
        assertTrue(stored(WalLayout.DESCRIPTOR), "the descriptor is written with the first file");
    }

    @Test
    void namesPostgresqlDoesNotArchiveAreRefused() {
        WalArchiver a = archiver(0);
        for (String bad : List.of("../../etc/passwd", "000000010000000000000003.tmp", "", "00000000.history")) {
            assertEquals(ErrorCode.USAGE, assertThrows(HoldfastException.class, () -> await(a.push(bad, Buffer.buffer(new byte[10])))).code(), bad);
        }
    }

    @Test
    void aSegmentOfAnotherClusterOrNotTheOneItsNameSaysIsNeverStored() {
        WalArchiver a = archiver(0);
        assertEquals(PutOutcome.STORED, await(a.push("000000010000000000000003", Buffer.buffer(TestWal.segment(SYSID, "000000010000000000000003", 1)))));
        String name = "000000010000000000000004";
        HoldfastException e = assertThrows(HoldfastException.class,
                () -> await(a.push(name, Buffer.buffer(TestWal.segment("7322222222222222222", name, 2)))));
        assertEquals(ErrorCode.SOURCE_MISMATCH, e.code());
        assertTrue(e.getMessage().contains("7322222222222222222") && e.getMessage().contains(SYSID), e.getMessage());
        e = assertThrows(HoldfastException.class,
                () -> await(a.push(name, Buffer.buffer(TestWal.segment(SYSID, "000000010000000000000009", 2)))));
        assertEquals(ErrorCode.SOURCE_MISMATCH, e.code());
        e = assertThrows(HoldfastException.class,
                () -> await(a.push(name, Buffer.buffer(java.util.Arrays.copyOf(TestWal.segment(SYSID, name, 2), 4096)))));
        assertEquals(ErrorCode.SOURCE_MISMATCH, e.code());
        assertFalse(stored(name));
    }

    @Test
    void aHistoryFileFirstTakesTheIdentityFromTheDataDirectory() throws Exception {
        Files.write(dataDir.resolve("pg_wal/000000020000000000000007"), TestWal.segment(SYSID, "000000020000000000000007", 5));
        WalArchiver a = archiver(0);
        byte[] history = "1\t0/7000060\tno recovery target specified\n".getBytes(StandardCharsets.US_ASCII);
        assertEquals(PutOutcome.STORED, await(a.push("00000002.history", Buffer.buffer(history))));
        assertTrue(stored("00000002.history"));
        assertTrue(stored(WalLayout.DESCRIPTOR));
        assertEquals(0, count("holdfast.wal.segments.shipped"), "a history file is not a segment");
    }

    @Test
    void withoutADataDirectoryAHistoryFileFirstFailsClearly() {
        WalArchiver a = new WalArchiver(vertx, "main", layout -> new WalRepository(vertx, repo, pipeline, layout, Clock.systemUTC()),
                null, 0, Duration.ofSeconds(1), Clock.systemUTC(), registry);
        HoldfastException e = assertThrows(HoldfastException.class,
                () -> await(a.push("00000002.history", Buffer.buffer(new byte[] {'1'}))));
        assertEquals(ErrorCode.IO_ERROR, e.code());
        assertTrue(e.getMessage().contains("data directory"), e.getMessage());
    }

    @Test
    void lookAheadUploadsReadyFilesBeforeThePushAndLeavesTheDataDirectoryAlone() throws Exception {
        Path wal = dataDir.resolve("pg_wal");
        String[] names = {"000000010000000000000003", "000000010000000000000004", "000000010000000000000005"};
        byte[][] segs = new byte[names.length][];
        for (int i = 0; i < names.length; i++) {
            segs[i] = TestWal.segment(SYSID, names[i], 10 + i);
            Files.write(wal.resolve(names[i]), segs[i]);
            Files.createFile(wal.resolve("archive_status/" + names[i] + ".ready"));
        }
        List<String> before = listing();
        WalArchiver a = archiver(2);
        a.start();
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!(stored(names[0]) && stored(names[1]) && stored(names[2])) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertTrue(stored(names[2]), "uploaded ahead of any push");
            assertEquals(3.0, registry.get("holdfast.wal.ready.backlog").gauge().value());
            assertEquals(3, count("holdfast.wal.segments.shipped"));
            // PostgreSQL's call: answered from the look-ahead after comparing the bytes.
            assertEquals(PutOutcome.STORED, await(a.push(names[0], Buffer.buffer(segs[0]))));
            byte[] other = segs[1].clone();
            other[4000] ^= 1;
            assertEquals(ErrorCode.OBJECT_EXISTS, assertThrows(HoldfastException.class, () -> await(a.push(names[1], Buffer.buffer(other)))).code());
            assertEquals(3, count("holdfast.wal.segments.shipped"), "nothing uploaded twice");
            assertEquals(before, listing(), "nothing created, renamed or deleted in the data directory");
        } finally {
            a.stop();
        }
    }

    @Test
    void aFailedLookAheadUploadIsTriedAgainWithoutAPush() throws Exception {
        String name = "000000010000000000000003";
        Files.write(dataDir.resolve("pg_wal").resolve(name), TestWal.segment(SYSID, name, 1));
        Files.createFile(dataDir.resolve("pg_wal/archive_status/" + name + ".ready"));
        AtomicInteger calls = new AtomicInteger();
        WalArchiver a = new WalArchiver(vertx, "main", layout -> {
            if (calls.incrementAndGet() == 1) {
                throw new HoldfastException(ErrorCode.STORE_UNAVAILABLE, "the store is down (test)");
            }
            return new WalRepository(vertx, repo, pipeline, layout, Clock.systemUTC());
        }, dataDir, 2, Duration.ofMillis(100), Clock.systemUTC(), registry);
        a.start();
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!stored(name) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertTrue(stored(name), "the look-ahead tried again after its first upload failed");
            assertTrue(calls.get() >= 2, "the first attempt failed: " + calls);
        } finally {
            a.stop();
        }
    }

    @Test
    void anUnreadableDataDirectoryOnlyTurnsLookAheadOff() {
        dataDir = dir.resolve("missing");
        WalArchiver a = archiver(2);
        a.start();
        try {
            String name = "000000010000000000000003";
            assertEquals(PutOutcome.STORED, await(a.push(name, Buffer.buffer(TestWal.segment(SYSID, name, 1)))));
        } finally {
            a.stop();
        }
    }

    private List<String> listing() throws Exception {
        try (Stream<Path> s = Files.walk(dataDir)) {
            return s.map(p -> dataDir.relativize(p) + (Files.isRegularFile(p) ? " " + p.toFile().length() + " " + p.toFile().lastModified() : ""))
                    .sorted().toList();
        }
    }
}
