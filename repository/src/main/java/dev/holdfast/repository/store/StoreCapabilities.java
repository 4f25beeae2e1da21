package dev.holdfast.repository.store;

/**
 * What a store can do.
 *
 * @param atomicCreate   true when "create only if absent" is enforced by the store itself (S3
 *                       {@code If-None-Match: *}, a hard link on a filesystem); false when the store
 *                       emulates it with a check before the write, which leaves a small race between
 *                       two writers of the same key (docs/format.md, "Write ordering")
 * @param objectLock     whether Object Lock options can be honoured
 * @param minPartSize    smallest part (but the last) a multipart upload accepts
 * @param maxParts       most parts one upload may have
 */
public record StoreCapabilities(boolean atomicCreate, boolean objectLock, long minPartSize, int maxParts) {
}
