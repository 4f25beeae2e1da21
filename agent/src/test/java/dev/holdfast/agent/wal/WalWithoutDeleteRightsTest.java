package dev.holdfast.agent.wal;

import static dev.holdfast.agent.wal.TestWal.SEG;
import static dev.holdfast.agent.wal.TestWal.SYSID;
import static dev.holdfast.agent.wal.TestWal.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.pipeline.UploadPipeline;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.retention.RetentionEnforcer;
import dev.holdfast.repository.retention.RetentionInventory;
import dev.holdfast.repository.retention.RetentionPlan;
import dev.holdfast.repository.retention.RetentionRules;
import dev.holdfast.repository.store.ForwardingObjectStore;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.StoreException;
import dev.holdfast.repository.store.fs.FsObjectStore;
import dev.holdfast.repository.wal.WalClusterInfo;
import dev.holdfast.repository.wal.WalLayout;
import dev.holdfast.repository.wal.WalSegmentName;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Agents run with put/get/list-only credentials (docs/s3-policy.md): WAL shipping in stream mode
 * keeps working when the store refuses every delete, the superseded parts stay, and the
 * controller's retention (with delete rights) removes them.
 */
class WalWithoutDeleteRightsTest {
    @TempDir
    Path dir;

    /** The store as an agent's credentials see it: every delete is refused, as S3 answers AccessDenied. */
    static final class NoDeleteStore extends ForwardingObjectStore {
        final AtomicInteger refused = new AtomicInteger();

        NoDeleteStore(FsObjectStore store) {
            super(store);
        }

        @Override
        public CompletableFuture<Void> delete(ObjectKey key) {
            refused.incrementAndGet();
            return CompletableFuture.failedFuture(new StoreException(ErrorCode.STORE_ACCESS_DENIED,
                    "access denied: s3:DeleteObject on '" + key + "'", false, null));
        }
    }

    @Test
    void streamModeShipsOnWithoutDeleteRightsAndRetentionRemovesTheSupersededParts() throws Exception {
        Clock clock = Clock.systemUTC();
        Path root = dir.resolve("repo");
        KeyFile key = KeyFile.create(dir.resolve("master.key"), clock, new SecureRandom());
        NoDeleteStore agentStore = new NoDeleteStore(FsObjectStore.open(root, clock));
        Repository agentRepo = Repository.init(agentStore, key, 64 * 1024, 3, "test", clock, new SecureRandom());
        Vertx vertx = Vertx.vertx();
        UploadPipeline pipeline = TestWal.pipeline(vertx, agentRepo);
        try {
            WalRepository wal = new WalRepository(vertx, agentRepo, pipeline, new WalLayout("main", SYSID), clock);
            await(wal.ensureDescriptor(new WalClusterInfo(SYSID, SEG, 150004)));
            for (int n = 1; n <= 3; n++) {
                WalSegmentName seg = WalSegmentName.ofNumber(1, n, SEG);
                byte[] full = TestWal.segment(SYSID, seg.toString(), n);
                await(wal.putPart(seg, 0, Buffer.buffer(Arrays.copyOfRange(full, 0, 4000))));
                await(wal.putPart(seg, 4000, Buffer.buffer(Arrays.copyOfRange(full, 4000, (int) SEG))));
                await(wal.putSegment(seg, Buffer.buffer(full)));
                assertEquals(0, await(wal.deleteSupersededParts(seg)), "refused deletes are not a failure");
                assertEquals(2, await(wal.index()).parts(seg).size(), "the parts stay for retention");
                assertArrayEquals(full, await(wal.fetch(seg.toString())).orElseThrow().getBytes());
            }
            assertTrue(agentStore.refused.get() >= 3, "the store was asked and refused");

            // The controller, with delete rights, plans the cluster: only the superseded parts go.
            try (Repository controllerRepo = Repository.open(FsObjectStore.open(root, clock), key, clock, new SecureRandom())) {
                RetentionInventory.Cluster cluster = new RetentionInventory.Cluster("main", SYSID);
                RetentionPlan plan = RetentionInventory.plan(controllerRepo, cluster,
                        new RetentionRules(7, 4, 12, Duration.ofDays(7), ZoneOffset.UTC, RetentionRules.DEFAULT_GRACE), clock.instant());
                assertEquals(6, plan.wal().size(), plan::toString);
                assertTrue(plan.wal().stream().allMatch(w -> w.reason().startsWith("stream part superseded by the complete segment")));
                new RetentionEnforcer(controllerRepo, clock, b -> { }).enforce(plan);
                var index = await(wal.index());
                for (int n = 1; n <= 3; n++) {
                    WalSegmentName seg = WalSegmentName.ofNumber(1, n, SEG);
                    assertEquals(List.of(), index.parts(seg));
                    assertTrue(index.segment(seg).isPresent(), "complete segments are kept");
                }
            }
        } finally {
            await(pipeline.close());
            await(vertx.close());
            agentRepo.close();
        }
    }
}
