package dev.holdfast.repository.store;

import java.time.Instant;
import java.util.Objects;

/**
 * S3 Object Lock settings applied when an object is created.
 *
 * @param mode        GOVERNANCE (privileged users may lift it) or COMPLIANCE (nobody may, until it expires)
 * @param retainUntil the object cannot be deleted or overwritten before this instant
 */
public record ObjectLock(Mode mode, Instant retainUntil) {
    public enum Mode { GOVERNANCE, COMPLIANCE }

    public ObjectLock {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(retainUntil, "retainUntil");
    }
}
