package dev.holdfast.controller.catalog;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A restore request and its grant. Everything the grant says is fixed at request time (the backup
 * is resolved then, never "latest" later); approvals, the grant and the outcome are added as the
 * request moves on. {@code revision} guards concurrent changes ({@link Catalog#updateRestore}).
 *
 * @param host          the agent that restores (the target host)
 * @param backupHost    the host whose backup is restored
 * @param backupAsked   what the requester asked: {@code latest} or a backup id
 * @param targetKind    latest | immediate | time | lsn @param targetValue the time or LSN, else ""
 * @param approvals     the actors who approved, in order
 * @param grant         the signed grant (serialized {@code RestoreGrant}, base64), once approved
 * @param errorCode     the stable code of a refusal or failure
 */
public record RestoreRecord(String id, String host, String source, String backupHost, String backupAsked, String backupId,
                            String systemId, String targetKind, String targetValue, String targetPath, String policy,
                            int approvalsRequired, String requestedBy, List<String> approvals, RestoreState state, Instant createdAt,
                            Optional<Instant> approvedAt, Optional<String> grantId, Optional<Instant> grantExpiresAt,
                            Optional<String> grant, Optional<Instant> grantSentAt, Optional<Instant> startedAt,
                            Optional<Instant> finishedAt, long progressDone, long progressTotal, String phase,
                            Optional<String> errorCode, Optional<String> errorMessage, long revision) {
    public RestoreRecord {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(state, "state");
        approvals = List.copyOf(approvals);
    }

    /** A copy in another state, one revision on. */
    public RestoreRecord withState(RestoreState s) {
        return new RestoreRecord(id, host, source, backupHost, backupAsked, backupId, systemId, targetKind, targetValue, targetPath,
                policy, approvalsRequired, requestedBy, approvals, s, createdAt, approvedAt, grantId, grantExpiresAt, grant, grantSentAt,
                startedAt, finishedAt, progressDone, progressTotal, phase, errorCode, errorMessage, revision + 1);
    }

    /** A copy with one more approval. */
    public RestoreRecord withApproval(String actor) {
        List<String> a = new ArrayList<>(approvals);
        a.add(actor);
        return new RestoreRecord(id, host, source, backupHost, backupAsked, backupId, systemId, targetKind, targetValue, targetPath,
                policy, approvalsRequired, requestedBy, a, state, createdAt, approvedAt, grantId, grantExpiresAt, grant, grantSentAt,
                startedAt, finishedAt, progressDone, progressTotal, phase, errorCode, errorMessage, revision + 1);
    }

    /** A copy approved at {@code at}, carrying its signed grant. */
    public RestoreRecord withGrant(Instant at, String id2, Instant expires, String signedGrant) {
        return new RestoreRecord(id, host, source, backupHost, backupAsked, backupId, systemId, targetKind, targetValue, targetPath,
                policy, approvalsRequired, requestedBy, approvals, RestoreState.APPROVED, createdAt, Optional.of(at), Optional.of(id2),
                Optional.of(expires), Optional.of(signedGrant), grantSentAt, startedAt, finishedAt, progressDone, progressTotal, phase,
                errorCode, errorMessage, revision + 1);
    }

    public RestoreRecord withGrantSent(Instant at) {
        return new RestoreRecord(id, host, source, backupHost, backupAsked, backupId, systemId, targetKind, targetValue, targetPath,
                policy, approvalsRequired, requestedBy, approvals, state, createdAt, approvedAt, grantId, grantExpiresAt, grant,
                Optional.of(at), startedAt, finishedAt, progressDone, progressTotal, phase, errorCode, errorMessage, revision + 1);
    }

    /** A copy running, with the agent's progress. */
    public RestoreRecord withProgress(Instant at, long done, long total, String ph) {
        return new RestoreRecord(id, host, source, backupHost, backupAsked, backupId, systemId, targetKind, targetValue, targetPath,
                policy, approvalsRequired, requestedBy, approvals, RestoreState.RUNNING, createdAt, approvedAt, grantId, grantExpiresAt,
                grant, grantSentAt, Optional.of(startedAt.orElse(at)), finishedAt, done, total, ph, errorCode, errorMessage, revision + 1);
    }

    /** A copy finished in {@code s}, with the error of a refusal or failure (empty code: none). */
    public RestoreRecord finished(RestoreState s, Instant at, String code, String message) {
        return finished(s, at, code, message, 0);
    }

    /**
     * A copy finished in {@code s}; when done, its progress is complete and at least the
     * {@code bytes} the agent's result reports (a restore faster than the progress interval sends
     * no byte counts before its result).
     */
    public RestoreRecord finished(RestoreState s, Instant at, String code, String message, long bytes) {
        boolean done = s == RestoreState.DONE;
        long total = done ? Math.max(progressTotal, bytes) : progressTotal;
        return new RestoreRecord(id, host, source, backupHost, backupAsked, backupId, systemId, targetKind, targetValue, targetPath,
                policy, approvalsRequired, requestedBy, approvals, s, createdAt, approvedAt, grantId, grantExpiresAt, grant, grantSentAt,
                startedAt, Optional.of(at), done ? Math.max(progressDone, total) : progressDone, total,
                s == RestoreState.DONE ? "done" : phase, code.isEmpty() ? Optional.empty() : Optional.of(code),
                code.isEmpty() ? Optional.empty() : Optional.of(message), revision + 1);
    }

    /** The catalog's stored form (JSON; times as epoch microseconds). */
    JsonObject document() {
        return new JsonObject().put("source", source).put("backup_host", backupHost).put("backup_asked", backupAsked)
                .put("backup_id", backupId).put("system_id", systemId).put("target_kind", targetKind).put("target_value", targetValue)
                .put("target_path", targetPath).put("policy", policy).put("approvals_required", approvalsRequired)
                .put("requested_by", requestedBy).put("approvals", new JsonArray(new ArrayList<>(approvals)))
                .put("approved_us", us(approvedAt)).put("grant_id", grantId.orElse(null)).put("grant_expires_us", us(grantExpiresAt))
                .put("grant", grant.orElse(null)).put("grant_sent_us", us(grantSentAt)).put("started_us", us(startedAt))
                .put("finished_us", us(finishedAt)).put("progress_done", progressDone).put("progress_total", progressTotal)
                .put("phase", phase).put("error_code", errorCode.orElse(null)).put("error_message", errorMessage.orElse(null));
    }

    static RestoreRecord of(String id, String host, String state, long createdUs, long revision, JsonObject d) {
        List<String> approvals = new ArrayList<>();
        d.getJsonArray("approvals", new JsonArray()).forEach(a -> approvals.add(String.valueOf(a)));
        return new RestoreRecord(id, host, d.getString("source"), d.getString("backup_host"), d.getString("backup_asked"),
                d.getString("backup_id"), d.getString("system_id"), d.getString("target_kind"), d.getString("target_value"),
                d.getString("target_path"), d.getString("policy"), d.getInteger("approvals_required"), d.getString("requested_by"),
                approvals, RestoreState.ofWire(state), R2dbcCatalog.ofMicros(createdUs), at(d, "approved_us"),
                Optional.ofNullable(d.getString("grant_id")), at(d, "grant_expires_us"), Optional.ofNullable(d.getString("grant")),
                at(d, "grant_sent_us"), at(d, "started_us"), at(d, "finished_us"), d.getLong("progress_done", 0L),
                d.getLong("progress_total", 0L), d.getString("phase", ""), Optional.ofNullable(d.getString("error_code")),
                Optional.ofNullable(d.getString("error_message")), revision);
    }

    private static Long us(Optional<Instant> i) {
        return i.map(R2dbcCatalog::micros).orElse(null);
    }

    private static Optional<Instant> at(JsonObject d, String key) {
        Long v = d.getLong(key);
        return v == null ? Optional.empty() : Optional.of(R2dbcCatalog.ofMicros(v));
    }

    @Override
    public String toString() {
        // The grant is public-key signed and names no secret, but it is long: left out.
        return "RestoreRecord[id=" + id + ", host=" + host + ", source=" + source + ", backup=" + backupId + ", state=" + state.wire()
                + ", revision=" + revision + "]";
    }
}
