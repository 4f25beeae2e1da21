package dev.holdfast.controller.api;

import dev.holdfast.controller.catalog.JobRecord;
import io.vertx.core.Future;

/**
 * Ad-hoc backups ({@code POST /api/v1/backups}), implemented by the controller's job service.
 *
 * <p>Contract: validates that {@code host} is a known agent with a source {@code source} (else fails
 * with {@code not_found} or {@code conflict}, naming which), inserts a queued backup job and hands it
 * to the dispatcher; the returned job is the one inserted. The API has already checked the fields'
 * shape and the caller's role, and audits the outcome itself: implementations need not audit the
 * request again.
 */
public interface BackupRequests {
    /**
     * @param type      full | incr | logical
     * @param tag       the backup's tag ({@code adhoc} when the caller gave none)
     * @param requestId the API request's id, for the job's own audit trail
     */
    Future<JobRecord> requestBackup(String host, String source, String type, String tag, Actor actor, String requestId);

    /**
     * A restore drill of a postgres source ({@code POST /api/v1/drills}, docs/drill.md), with the same
     * contract: {@code not_found} for an unknown host or source, {@code usage} for a source that is not
     * postgres; the returned job (kind {@code drill}) is the one inserted.
     */
    default Future<JobRecord> requestDrill(String host, String source, Actor actor, String requestId) {
        return Future.failedFuture(new dev.holdfast.error.HoldfastException(dev.holdfast.error.ErrorCode.NOT_IMPLEMENTED,
                "this controller does not run drills"));
    }
}
