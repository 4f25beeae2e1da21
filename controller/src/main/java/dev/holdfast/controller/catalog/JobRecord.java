package dev.holdfast.controller.catalog;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * A job the controller asked an agent to run.
 *
 * @param id job id @param host the agent @param source @param kind backup (later: verify, restore, drill)
 * @param type full | incr | logical @param tag schedule tag or adhoc @param state see {@link JobState}
 * @param trigger "schedule" or "api" (with the actor in {@code requestedBy}) @param requestedBy actor
 * @param scheduledFor the scheduled time it runs for (schedule jobs) @param createdAt @param dispatchedAt
 * @param startedAt @param finishedAt @param progressDone bytes @param progressTotal bytes, 0 unknown
 * @param phase the agent's last reported phase @param backupId the backup it produced
 * @param errorCode stable code when failed @param errorMessage @param result extra result fields (bytes, lsn, ...)
 */
public record JobRecord(String id, String host, String source, String kind, String type, String tag, JobState state,
                        String trigger, String requestedBy, Optional<Instant> scheduledFor, Instant createdAt,
                        Optional<Instant> dispatchedAt, Optional<Instant> startedAt, Optional<Instant> finishedAt,
                        long progressDone, long progressTotal, String phase, Optional<String> backupId,
                        Optional<String> errorCode, Optional<String> errorMessage, Map<String, String> result) {
    public JobRecord {
        result = Map.copyOf(result);
    }
}
