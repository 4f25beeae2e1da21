package dev.holdfast.repository;

import dev.holdfast.repository.store.ObjectStore;
import java.time.Clock;

/** Builds the S3 store for a location (wired to the S3 backend). */
final class StoreFactory {
    private StoreFactory() {
    }

    static ObjectStore s3(RepositoryLocation location, Clock clock) {
        throw new UnsupportedOperationException("S3 wiring pending");
    }
}
