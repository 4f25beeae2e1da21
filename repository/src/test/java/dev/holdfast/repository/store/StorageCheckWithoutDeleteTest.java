package dev.holdfast.repository.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.repository.store.fs.FsObjectStore;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code repo check-storage} with an agent's credentials (no delete right, docs/s3-policy.md) passes and says so. */
class StorageCheckWithoutDeleteTest {
    @TempDir
    Path dir;

    @Test
    void aRefusedDeleteIsReportedAsTheAgentPolicyIntendsNotAsAFailure() {
        try (ObjectStore store = new ForwardingObjectStore(FsObjectStore.open(dir, Clock.systemUTC())) {
            @Override
            public CompletableFuture<Void> delete(ObjectKey key) {
                return CompletableFuture.failedFuture(new StoreException(ErrorCode.STORE_ACCESS_DENIED, "access denied", false, null));
            }
        }) {
            List<StorageCheck.Step> steps = new StorageCheck(store, new SecureRandom()).run();
            assertTrue(steps.stream().allMatch(StorageCheck.Step::ok), steps::toString);
            StorageCheck.Step delete = steps.get(steps.size() - 1);
            assertEquals("delete", delete.name());
            assertTrue(delete.detail().startsWith("refused (store_access_denied)"), delete.detail());
        }
    }
}
