package dev.holdfast.controller.catalog;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * The outcome of the latest verification of one backup, keyed like {@link BackupRecord} by
 * (source, system id, backup id). A newer verification replaces it.
 *
 * @param at          when the run checked it
 * @param ok          true: nothing wrong; false: at least one error (see the error)
 * @param errorCode   the stable code of the failure ({@code integrity_failure}, {@code wal_gap}, ...) when not ok
 * @param errorMessage the first error's message (no secrets: object keys and LSNs only) when not ok
 * @param dataRead    whether packs of this backup were read and decrypted in that run (a full
 *                    read, or its share of the rotating sample), not only their structure checked
 * @param bytesRead   bytes of this backup's own packs read in that run (stored size)
 * @param jobId       the verify job that produced it
 */
public record VerificationRecord(String source, String systemId, String backupId, Instant at, boolean ok, Optional<String> errorCode,
                                 Optional<String> errorMessage, boolean dataRead, long bytesRead, String jobId) {
    public VerificationRecord {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(systemId, "systemId");
        Objects.requireNonNull(backupId, "backupId");
        Objects.requireNonNull(at, "at");
        Objects.requireNonNull(errorCode, "errorCode");
        Objects.requireNonNull(errorMessage, "errorMessage");
        Objects.requireNonNull(jobId, "jobId");
    }

    /** {@code ok} or {@code failed}, as the API shows it. */
    public String state() {
        return ok ? "ok" : "failed";
    }
}
