package dev.holdfast.controller.api;

import dev.holdfast.controller.catalog.JobRecord;
import io.vertx.core.Future;

/** What {@code POST /verify/{id}} asks of the controller's verification service (docs/api.md). */
@FunctionalInterface
public interface VerifyRequests {
    /**
     * Starts verifying backup {@code backupId} of {@code source}; the future holds the verify job
     * (state {@code running}) once recorded, or fails with {@code object_not_found} when the
     * repository has no such backup.
     */
    Future<JobRecord> requestVerify(String source, String backupId, boolean readData, Actor actor, String requestId);
}
