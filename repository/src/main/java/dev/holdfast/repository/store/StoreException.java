package dev.holdfast.repository.store;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;

/**
 * A failure of an object store, translated from the vendor's exception at the store's boundary.
 * {@link #retryable()} tells the retry decorator whether trying again can help (5xx, SlowDown,
 * connection resets, timeouts) or not (not found, access denied, precondition failed).
 */
public class StoreException extends HoldfastException {
    private static final long serialVersionUID = 1L;
    private final boolean retryable;

    public StoreException(ErrorCode code, String message, boolean retryable, Throwable cause) {
        super(code, message, cause);
        this.retryable = retryable;
    }

    public static StoreException notFound(ObjectKey key) {
        return new StoreException(ErrorCode.OBJECT_NOT_FOUND, "object '" + key + "' does not exist", false, null);
    }

    public static StoreException exists(ObjectKey key) {
        return new StoreException(ErrorCode.OBJECT_EXISTS, "object '" + key + "' already exists", false, null);
    }

    public boolean retryable() {
        return retryable;
    }
}
