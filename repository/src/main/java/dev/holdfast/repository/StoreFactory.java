package dev.holdfast.repository;

import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.RetryPolicy;
import dev.holdfast.repository.store.RetryingObjectStore;
import dev.holdfast.repository.store.s3.S3ObjectStore;
import dev.holdfast.repository.store.s3.S3StoreConfig;
import java.time.Clock;

/**
 * Builds the S3 store for an {@code s3://} location: the SDK-backed store (which probes the
 * bucket once for conditional writes and Object Lock) behind the one retry layer.
 */
final class StoreFactory {
    /** S3's own default region; most S3-compatible servers accept any. */
    static final String DEFAULT_REGION = "us-east-1";

    private StoreFactory() {
    }

    static ObjectStore s3(RepositoryLocation location, Clock clock) {
        S3StoreConfig.Builder b = S3StoreConfig.builder(location.bucket())
                .prefix(location.prefix())
                .region(location.region().orElse(DEFAULT_REGION))
                .pathStyle(location.pathStyle());
        location.endpoint().ifPresent(b::endpoint);
        if (location.accessKeyId().isPresent()) {
            b.credentials(location.accessKeyId().get(), location.secretAccessKey().orElseThrow());
        } else {
            b.defaultCredentials();
        }
        S3ObjectStore store = Futures.await(S3ObjectStore.open(b.build()));
        return RetryingObjectStore.wrap(store, RetryPolicy.DEFAULT);
    }
}
