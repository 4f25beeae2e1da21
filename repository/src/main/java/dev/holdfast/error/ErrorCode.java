package dev.holdfast.error;

import java.util.Locale;

/**
 * Stable error codes, shared by the CLI's exit status, HTTP error bodies and protocol errors.
 *
 * <p>Contract: a code's {@link #code()} string, {@link #exitStatus()} and {@link #httpStatus()}
 * never change once released; new codes may be added. docs/errors.md lists them. Exit statuses stay
 * below 126; {@code wal-fetch} alone maps every failure but "not found" to 126 on purpose, so that
 * PostgreSQL stops recovery rather than end it early (docs/errors.md).
 */
public enum ErrorCode {
    /** A bug or an unexpected condition; the message says what. */
    INTERNAL(1, 500),
    /** The command line was wrong (picocli uses 2 for usage errors too). */
    USAGE(2, 400),
    /** A configuration file or option is invalid. */
    CONFIG_INVALID(3, 400),
    /** A local file could not be read or written. */
    IO_ERROR(4, 500),
    /** An output file or directory already exists and would be overwritten. */
    OUTPUT_EXISTS(5, 409),

    /** No repository at the configured location. */
    REPOSITORY_NOT_FOUND(10, 404),
    /** {@code repo init} on a location that already holds objects. */
    REPOSITORY_NOT_EMPTY(11, 409),
    /** The master key given does not open the repository (wrong key or unknown key id). */
    KEY_MISMATCH(12, 403),
    /** The key file is missing, unreadable, too open (permissions) or malformed. */
    KEY_FILE_INVALID(13, 400),
    /** Authentication of stored data failed: tampering, truncation or corruption. Fails closed. */
    INTEGRITY_FAILURE(14, 422),
    /** The object or repository uses a format version this build cannot read. */
    FORMAT_UNSUPPORTED(15, 422),

    /** The named object does not exist. */
    OBJECT_NOT_FOUND(20, 404),
    /** An object with that name exists already (with different content where that matters). */
    OBJECT_EXISTS(21, 409),
    /** The object store did not answer or answered with a retryable error, after retries. */
    STORE_UNAVAILABLE(22, 503),
    /** The object store refused the credentials or the operation. */
    STORE_ACCESS_DENIED(23, 403),
    /** The object store failed in a way that retrying will not fix. */
    STORE_ERROR(24, 502),

    /** The database (or other source) server could not be reached. */
    SOURCE_UNAVAILABLE(30, 503),
    /** The source server refused the credentials. */
    SOURCE_AUTH_FAILED(31, 403),
    /** The source server refused a request; the message carries its error (SQLSTATE for PostgreSQL). */
    SOURCE_ERROR(32, 502),
    /** WAL needed for continuity is gone from the server and not in the repository: a gap. */
    WAL_GAP(33, 409),
    /** The source is not the cluster the repository's WAL belongs to (system id, segment size, version). */
    SOURCE_MISMATCH(34, 409),
    /** The WAL a base backup needs (start to stop LSN) did not reach the repository in time; no manifest was written. */
    WAL_TIMEOUT(35, 504),
    /** No agent answers on the control socket. */
    AGENT_UNAVAILABLE(40, 503),
    /** A restore target outside {@code restore.allowed_targets}, or escaping it ({@code ..}, a symlink). Nothing was written. */
    TARGET_NOT_ALLOWED(50, 403),
    /** A restore target that is not empty, without {@code --overwrite}. Nothing was written. */
    TARGET_NOT_EMPTY(51, 409),

    /** An API request without a bearer token, or with one the controller does not know. */
    UNAUTHENTICATED(60, 401),
    /** An API request whose token's role may not do this (e.g. an analyst asking to mutate). */
    PERMISSION_DENIED(61, 403),
    /** An API resource (agent, job, policy, ...) that does not exist. */
    NOT_FOUND(62, 404),
    /** A request that conflicts with the current state (e.g. a job for a source another job is running). */
    CONFLICT(63, 409),
    /** Enrolment refused: an unknown, used, expired or other host's token, or a bad request. Audited. */
    ENROLMENT_REFUSED(64, 403),
    /** The controller could not be reached, or refused the agent's link (certificate, revocation). */
    CONTROLLER_UNAVAILABLE(65, 503),
    /** The peer speaks no protocol version this build speaks (docs/protocol.md). */
    PROTOCOL_UNSUPPORTED(66, 400),
    /** An API endpoint that exists in the contract but is not built yet (today: PUT /policies/{name}). */
    NOT_IMPLEMENTED(67, 501),
    /** The object is under S3 Object Lock retention or a legal hold: it cannot be deleted yet. Retention skips it and says so. */
    OBJECT_LOCKED(70, 409),
    /** Retention cannot run: the controller has no {@code repository:} configured, or the policy covers nothing there. */
    RETENTION_UNAVAILABLE(71, 503),
    /** A restore grant the agent refused: bad signature, unknown signer, malformed, or for another host. Nothing was written. */
    GRANT_INVALID(73, 403),
    /** A restore grant past its expiry (or issued in the future beyond the allowed clock skew). Nothing was written. */
    GRANT_EXPIRED(74, 403),
    /** A restore grant whose id this agent has already consumed (a replay). Nothing was written. */
    GRANT_USED(75, 409),
    /** A restore approval the policy does not accept (two-person rule: the requester or a repeat approver). */
    APPROVAL_REFUSED(76, 403),
    /** The audit log's HMAC chain is broken: an entry edited, deleted, reordered, or the log truncated (docs/controller.md "Audit log"). */
    AUDIT_CHAIN_BROKEN(77, 422),
    /** The audit key given is not the key the audit chain was made with (its id differs), or no key is available. */
    AUDIT_KEY_MISMATCH(78, 409);

    private final int exitStatus;
    private final int httpStatus;

    ErrorCode(int exitStatus, int httpStatus) {
        this.exitStatus = exitStatus;
        this.httpStatus = httpStatus;
    }

    /** The stable string form, e.g. {@code object_not_found}, used in JSON error bodies. */
    public String code() {
        return name().toLowerCase(Locale.ROOT);
    }

    public int exitStatus() {
        return exitStatus;
    }

    public int httpStatus() {
        return httpStatus;
    }
}
