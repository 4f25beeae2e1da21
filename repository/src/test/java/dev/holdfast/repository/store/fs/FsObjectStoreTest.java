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

    @Test
    void objectsDeletedWhileListingDropOutInsteadOfFailingTheListing() throws Exception {
        try (FsObjectStore s = FsObjectStore.open(dir.resolve("r"), Clock.systemUTC())) {
            for (int round = 0; round < 20; round++) {
                java.util.List<ObjectKey> keys = new java.util.ArrayList<>();
                for (int i = 0; i < 200; i++) {
                    ObjectKey k = ObjectKey.of("wal/main/" + (i % 7) + "/part-" + round + "-" + i);
                    s.create(k, java.nio.ByteBuffer.wrap(new byte[] {1}), dev.holdfast.repository.store.PutOptions.DEFAULT).join();
                    keys.add(k);
                }
                Thread deleter = new Thread(() -> keys.forEach(k -> s.delete(k).join()));
                deleter.start();
                while (deleter.isAlive()) {
                    s.listAll("wal/").join(); // must not fail with a vanished file or directory
                }
                deleter.join();
                assertTrue(s.listAll("wal/").join().isEmpty());
            }
        }
    }
}
