package dev.holdfast.agent.pipeline;

import dev.holdfast.repository.store.ObjectKey;
import io.vertx.core.Future;

/**
 * One object being sealed and uploaded by an {@link UploadPipeline}. Its methods may be called from
 * any thread.
 */
public interface Upload {

    /** The object being written. */
    ObjectKey key();

    /**
     * Completes, on the upload's context, once the object is visible in the store; or fails once
     * the upload has been aborted (nothing visible under the key) with the first cause: the
     * {@code HoldfastException} of a store or sealing failure, an {@code IO_ERROR}
     * {@code HoldfastException} wrapping a source error, or a
     * {@link java.util.concurrent.CancellationException} after {@link #cancel()}.
     */
    Future<UploadResult> result();

    /**
     * Stops reading, aborts the upload and fails {@link #result()} with a
     * {@link java.util.concurrent.CancellationException}. Has no effect once the upload has asked
     * the store to make the object visible (too late to take it back) or has already ended.
     */
    void cancel();

    /** The latest progress reported. */
    UploadProgress progress();

    /**
     * The most segments that were in flight at once (being sealed, digested or waiting for their
     * turn to be written); never more than {@link UploadOptions#effectiveMaxSegmentsInFlight()}.
     */
    int peakSegmentsInFlight();
}
