package dev.holdfast.controller.catalog;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A mutable copy of a {@link JobRecord}'s changing fields, for read-modify-write updates:
 * {@code JobChange.of(job).state(RUNNING).startedAt(now).build()}.
 */
public final class JobChange {
    private final JobRecord base;
    private JobState state;
    private Optional<Instant> dispatchedAt;
    private Optional<Instant> startedAt;
    private Optional<Instant> finishedAt;
    private long progressDone;
    private long progressTotal;
    private String phase;
    private Optional<String> backupId;
    private Optional<String> errorCode;
    private Optional<String> errorMessage;
    private final Map<String, String> result;

    private JobChange(JobRecord j) {
        base = j;
        state = j.state();
        dispatchedAt = j.dispatchedAt();
        startedAt = j.startedAt();
        finishedAt = j.finishedAt();
        progressDone = j.progressDone();
        progressTotal = j.progressTotal();
        phase = j.phase();
        backupId = j.backupId();
        errorCode = j.errorCode();
        errorMessage = j.errorMessage();
        result = new HashMap<>(j.result());
    }

    public static JobChange of(JobRecord j) {
        return new JobChange(j);
    }

    public JobChange state(JobState s) {
        state = s;
        return this;
    }

    public JobChange dispatchedAt(Instant t) {
        dispatchedAt = Optional.of(t);
        return this;
    }

    public JobChange startedAtIfAbsent(Instant t) {
        if (startedAt.isEmpty()) {
            startedAt = Optional.of(t);
        }
        return this;
    }

    public JobChange startedAt(Instant t) {
        startedAt = Optional.of(t);
        return this;
    }

    public JobChange finishedAt(Instant t) {
        finishedAt = Optional.of(t);
        return this;
    }

    public JobChange progress(long done, long total, String p) {
        progressDone = done;
        progressTotal = total;
        phase = p;
        return this;
    }

    public JobChange backupId(String id) {
        backupId = Optional.of(id);
        return this;
    }

    public JobChange error(String code, String message) {
        errorCode = Optional.of(code);
        errorMessage = Optional.of(message);
        return this;
    }

    public JobChange result(String key, String value) {
        result.put(key, value);
        return this;
    }

    public JobRecord build() {
        return new JobRecord(base.id(), base.host(), base.source(), base.kind(), base.type(), base.tag(), state, base.trigger(),
                base.requestedBy(), base.scheduledFor(), base.createdAt(), dispatchedAt, startedAt, finishedAt, progressDone,
                progressTotal, phase, backupId, errorCode, errorMessage, result);
    }
}
