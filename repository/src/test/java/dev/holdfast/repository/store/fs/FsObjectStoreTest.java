package dev.holdfast.repository.store.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.ObjectStoreContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The contract suite against a real directory. */
class FsObjectStoreTest extends ObjectStoreContract {
    @TempDir
    Path dir;

    @Override
    protected ObjectStore newStore() {
        return FsObjectStore.open(dir, Clock.systemUTC());
    }

    @Test
    void readingAMissingDirectoryCreatesNothing() throws Exception {
        Path missing = dir.resolve("typo");
        try (FsObjectStore s = FsObjectStore.open(missing, Clock.systemUTC())) {
            assertTrue(s.listAll("").join().isEmpty());
            assertTrue(s.head(ObjectKey.of("config")).join().isEmpty());
            assertEquals(ErrorCode.OBJECT_NOT_FOUND, failureCode(s.get(ObjectKey.of("config"))));
        }
        assertTrue(Files.notExists(missing), "a read-only open must not create the repository directory");
    }
}
