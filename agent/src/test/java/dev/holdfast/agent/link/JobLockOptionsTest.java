package dev.holdfast.agent.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.protocol.v1.JobRequest;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryConfig;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectLock;
import dev.holdfast.repository.store.PutOptions;
import dev.holdfast.repository.store.fs.FsObjectStore;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent writes a backup's objects with the Object Lock its job carries, and a store that cannot
 * lock fails the write instead of storing an unlocked "immutable" backup.
 */
class JobLockOptionsTest {
    @TempDir
    Path dir;

    @Test
    void theJobsLockBecomesThePutOptionsOfItsObjects() {
        Instant until = Instant.parse("2026-12-01T02:00:00Z");
        JobRequest locked = JobRequest.newBuilder().setJobId("j").setKind("backup").setSource("main").setType("full").setTag("daily")
                .setLockMode("COMPLIANCE").setLockRetainUntilMs(until.toEpochMilli()).build();
        assertEquals(new PutOptions(Optional.empty(), Optional.of(new ObjectLock(ObjectLock.Mode.COMPLIANCE, until)), false),
                JobRunner.putOptions(locked));
        assertEquals(PutOptions.DEFAULT, JobRunner.putOptions(locked.toBuilder().setLockMode("").build()));
        HoldfastException e = assertThrows(HoldfastException.class, () -> JobRunner.putOptions(locked.toBuilder().setLockMode("FOREVER").build()));
        assertEquals(ErrorCode.USAGE, e.code());
    }

    @Test
    void aStoreWithoutObjectLockRefusesALockedPackAndStoresNothing() throws Exception {
        KeyFile key = KeyFile.create(dir.resolve("master.key"), Clock.systemUTC(), new SecureRandom());
        try (Repository repo = Repository.init(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()), key,
                RepositoryConfig.DEFAULT_SEGMENT_SIZE, 3, "test", Clock.systemUTC(), new SecureRandom())) {
            ObjectKey pack = ObjectKey.of("backups/main/7300000000000000001/20261123T090000Z-full/pack-000001");
            PutOptions lock = new PutOptions(Optional.empty(), Optional.of(new ObjectLock(ObjectLock.Mode.GOVERNANCE,
                    Instant.parse("2100-01-01T00:00:00Z"))), false);
            HoldfastException e = assertThrows(HoldfastException.class, () -> repo.put(pack, new ByteArrayInputStream(new byte[100]), false, lock));
            assertEquals(ErrorCode.STORE_ERROR, e.code(), e.getMessage());
            assertTrue(Futures.await(repo.store().head(pack)).isEmpty(), "nothing stored unlocked");
        }
    }
}
