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
 * @param lockState    the object's Object Lock retention and legal hold as {@link ObjectStore#head}
 *                     reports them; {@link LockState#NONE} from listings (which do not carry it)
 *                     and from stores without object lock (the filesystem)
 */
public record ObjectInfo(ObjectKey key, long size, Instant lastModified, String etag, LockState lockState) {
    public ObjectInfo {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(lastModified, "lastModified");
        etag = etag == null ? "" : etag;
        lockState = lockState == null ? LockState.NONE : lockState;
    }

    /** An object without lock information (listings, stores without object lock). */
    public ObjectInfo(ObjectKey key, long size, Instant lastModified, String etag) {
        this(key, size, lastModified, etag, LockState.NONE);
    }

    /**
     * An object's S3 Object Lock state (HeadObject's {@code x-amz-object-lock-mode},
     * {@code -retain-until-date} and {@code -legal-hold}).
     *
     * @param mode        the retention mode, or null when the object has no retention
     * @param retainUntil until when it cannot be deleted, or null when it has no retention
     * @param legalHold   whether a legal hold is on (it protects the object until lifted, whatever the date)
     */
    public record LockState(ObjectLock.Mode mode, Instant retainUntil, boolean legalHold) {
        public static final LockState NONE = new LockState(null, null, false);

        /** Whether the store refuses to delete the object at {@code now}. */
        public boolean protects(Instant now) {
            return legalHold || (retainUntil != null && retainUntil.isAfter(now));
        }

        /** Why it is protected, for a plan's reason: "legal hold" or "locked (governance) until ...". */
        public String describe() {
            if (legalHold) {
                return "under legal hold";
            }
            return retainUntil == null ? "not locked" : "locked (" + (mode == null ? "retention" : mode.name().toLowerCase(java.util.Locale.ROOT))
                    + ") until " + retainUntil;
        }
    }
}
