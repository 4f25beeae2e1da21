package dev.holdfast.repository.store.fs;

import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.ObjectStoreContract;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.io.TempDir;

/** The contract suite against a real directory. */
class FsObjectStoreTest extends ObjectStoreContract {
    @TempDir
    Path dir;

    @Override
    protected ObjectStore newStore() {
        return FsObjectStore.open(dir, Clock.systemUTC());
    }
}
