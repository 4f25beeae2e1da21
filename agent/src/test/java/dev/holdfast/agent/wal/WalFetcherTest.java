package dev.holdfast.agent.wal;

import static dev.holdfast.agent.wal.TestWal.SEG;
import static dev.holdfast.agent.wal.TestWal.SYSID;
import static dev.holdfast.agent.wal.TestWal.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.pipeline.UploadPipeline;
import dev.holdfast.agent.wal.TestWal.Store;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.wal.WalClusterInfo;
import dev.holdfast.repository.wal.WalFileName;
import dev.holdfast.repository.wal.WalLayout;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WalFetcherTest {
    @TempDir
    Path dir;

    @Test
    void prefetchesTheNextSegmentsBoundedAndNeverCachesNotFound() throws Exception {
        Vertx vertx = Vertx.vertx();
        Repository repo = TestWal.repository(Store.FILE, dir, null, "fetch");
        UploadPipeline pipeline = TestWal.pipeline(vertx, repo);
        try {
            WalRepository wal = new WalRepository(vertx, repo, pipeline, new WalLayout("main", SYSID), Clock.systemUTC());
            await(wal.ensureDescriptor(new WalClusterInfo(SYSID, SEG, 150000)));
            byte[][] segs = new byte[6][];
            for (int i = 1; i <= 5; i++) {
                String name = String.format("0000000100000000%08X", i);
                segs[i] = TestWal.segment(SYSID, name, i);
                await(wal.putFile(WalFileName.parse(name), Buffer.buffer(segs[i])));
            }
            WalFetcher fetcher = new WalFetcher(vertx, wal, 3, Clock.systemUTC());
            assertArrayEquals(segs[1], await(fetcher.fetch("000000010000000000000001")).orElseThrow().getBytes());
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (fetcher.cached() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(3, fetcher.cached(), "segments 2-4 prefetched, no more than 3");
            for (int i = 2; i <= 5; i++) {
                assertArrayEquals(segs[i], await(fetcher.fetch(String.format("0000000100000000%08X", i))).orElseThrow().getBytes());
            }
            assertEquals(Optional.empty(), await(fetcher.fetch("000000010000000000000009")));
            deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (fetcher.cached() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(0, fetcher.cached(), "segments that do not exist (yet) are not kept");
            // It arrives later: found at once.
            String late = "000000010000000000000006";
            byte[] seg6 = TestWal.segment(SYSID, late, 6);
            await(wal.putFile(WalFileName.parse(late), Buffer.buffer(seg6)));
            assertArrayEquals(seg6, await(fetcher.fetch(late)).orElseThrow().getBytes());
            assertTrue(await(fetcher.fetch("00000002.history")).isEmpty());
        } finally {
            await(pipeline.close());
            await(vertx.close());
            repo.close();
        }
    }

    @Test
    void aPrefetchedSegmentIsReleasedOnceAskedFor() throws Exception {
        Vertx vertx = Vertx.vertx();
        Repository repo = TestWal.repository(Store.FILE, dir, null, "release");
        UploadPipeline pipeline = TestWal.pipeline(vertx, repo);
        try {
            WalRepository wal = new WalRepository(vertx, repo, pipeline, new WalLayout("main", SYSID), Clock.systemUTC());
            await(wal.ensureDescriptor(new WalClusterInfo(SYSID, SEG, 150000)));
            for (int i = 1; i <= 2; i++) {
                String name = String.format("0000000100000000%08X", i);
                await(wal.putFile(WalFileName.parse(name), Buffer.buffer(TestWal.segment(SYSID, name, i))));
            }
            WalFetcher fetcher = new WalFetcher(vertx, wal, 1, Clock.systemUTC());
            await(fetcher.fetch("000000010000000000000001"));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (fetcher.cached() < 1 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            Thread.sleep(200); // let the prefetch's completion arm its expiry timer
            java.lang.ref.WeakReference<Buffer> served = new java.lang.ref.WeakReference<>(
                    await(fetcher.fetch("000000010000000000000002")).orElseThrow());
            // Recovery reads segments much faster than the 60 s expiry: a consumed segment must not stay
            // reachable until then (with 16 MiB segments that was gigabytes).
            deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (served.get() != null && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(50);
            }
            assertTrue(served.get() == null, "the fetcher keeps no reference to a segment it handed out");
        } finally {
            await(pipeline.close());
            await(vertx.close());
            repo.close();
        }
    }
}
