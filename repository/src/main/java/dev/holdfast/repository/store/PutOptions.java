package dev.holdfast.repository.store;

import java.util.Optional;

/**
 * How a new object is stored. Stores that cannot honour an option they were asked for fail the
 * write with {@code STORE_ERROR} rather than silently ignoring it (an unlocked "immutable" backup
 * is worse than a failed one); the filesystem store accepts {@link #DEFAULT} only, plus a storage
 * class, which it ignores because it has just one.
 *
 * @param storageClass e.g. {@code STANDARD_IA}; empty for the store's default
 * @param lock         Object Lock retention; empty for none
 * @param legalHold    whether to place a legal hold
 */
public record PutOptions(Optional<String> storageClass, Optional<ObjectLock> lock, boolean legalHold) {
    public static final PutOptions DEFAULT = new PutOptions(Optional.empty(), Optional.empty(), false);

    public boolean requiresObjectLock() {
        return lock.isPresent() || legalHold;
    }
}
