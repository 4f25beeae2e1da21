package dev.holdfast.repository.store;

import java.time.Instant;
import java.util.Objects;

/**
 * What a store knows about one complete object.
 *
 * @param key          the object's name
 * @param size         stored size in bytes
 * @param lastModified when the store completed the object
 * @param etag         the store's entity tag, or empty where the store has none
 */
public record ObjectInfo(ObjectKey key, long size, Instant lastModified, String etag) {
    public ObjectInfo {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(lastModified, "lastModified");
        etag = etag == null ? "" : etag;
    }
}
