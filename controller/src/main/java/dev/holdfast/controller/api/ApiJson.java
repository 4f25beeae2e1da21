package dev.holdfast.controller.api;

import dev.holdfast.controller.catalog.AgentRecord;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.controller.catalog.BackupRecord;
import dev.holdfast.controller.catalog.JobRecord;
import dev.holdfast.controller.catalog.SourceLiveState;
import dev.holdfast.controller.catalog.SourceRecord;
import dev.holdfast.controller.catalog.VerificationRecord;
import dev.holdfast.controller.config.ControllerConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The JSON forms of the catalog's records (docs/api.md). Keys are snake_case and stable; times are
 * RFC 3339 UTC ({@link Instant#toString()}), absent values are {@code null}.
 */
final class ApiJson {
    private ApiJson() {
    }

    static String time(Optional<Instant> t) {
        return t.map(Instant::toString).orElse(null);
    }

    static JsonObject agent(AgentRecord a, List<String> sources) {
        return new JsonObject().put("host", a.host()).put("connected", a.connected()).put("last_seen", time(a.lastSeen()))
                .put("agent_version", a.agentVersion()).put("capabilities", new JsonArray(new ArrayList<>(a.capabilities())))
                .put("enrolled_at", a.enrolledAt().toString()).put("certificate_serial", a.certSerial())
                .put("certificate_expires_at", a.certNotAfter() == null ? null : a.certNotAfter().toString())
                .put("sources", new JsonArray(new ArrayList<>(sources)));
    }

    static JsonObject source(SourceRecord s) {
        return new JsonObject().put("host", s.host()).put("name", s.name()).put("type", s.type()).put("system_id", s.systemId())
                .put("server_version", s.serverVersion()).put("wal_mode", s.walMode()).put("live", s.live().map(ApiJson::live).orElse(null));
    }

    static JsonObject live(SourceLiveState l) {
        return new JsonObject().put("rpo_seconds", l.rpoSeconds() < 0 ? null : l.rpoSeconds())
                .put("lag_seconds", l.lagSeconds() < 0 ? null : l.lagSeconds()).put("last_durable_lsn", l.lastDurableLsn())
                .put("last_durable_at", time(l.lastDurableAt())).put("state", l.state()).put("reported_at", l.reportedAt().toString())
                .put("detail", l.detail());
    }

    static JsonObject backup(BackupRecord b) {
        return new JsonObject().put("id", b.id()).put("job_id", b.jobId().orElse(null)).put("host", b.host()).put("source", b.source())
                .put("system_id", b.systemId()).put("type", b.type()).put("tag", b.tag()).put("state", b.state())
                .put("started_at", time(b.startedAt())).put("finished_at", time(b.finishedAt())).put("start_lsn", b.startLsn())
                .put("stop_lsn", b.stopLsn()).put("timeline", b.timeline()).put("parent", b.parent().orElse(null)).put("bytes", b.bytes())
                .put("stored_bytes", b.storedBytes());
    }

    /**
     * A backup's latest verification: {@code state} ok | failed | never, {@code at}, {@code error}
     * ({@code {"code", "message"}} when failed), {@code data_read}, {@code bytes_read}, {@code job_id}.
     */
    static JsonObject verification(Optional<VerificationRecord> v) {
        if (v.isEmpty()) {
            return new JsonObject().put("state", "never").put("at", null).put("error", null).put("data_read", false).put("bytes_read", 0L)
                    .put("job_id", null);
        }
        VerificationRecord r = v.get();
        return new JsonObject().put("state", r.state()).put("at", r.at().toString())
                .put("error", r.ok() ? null : new JsonObject().put("code", r.errorCode().orElse(null)).put("message", r.errorMessage().orElse(null)))
                .put("data_read", r.dataRead()).put("bytes_read", r.bytesRead()).put("job_id", r.jobId());
    }

    /** A backup that is still a job (queued, dispatched or running): no backup id yet, the job's state. */
    static JsonObject pendingBackup(JobRecord j) {
        return new JsonObject().put("id", j.backupId().orElse(null)).put("job_id", j.id()).put("host", j.host()).put("source", j.source())
                .put("type", j.type()).put("tag", j.tag()).put("state", j.state().wire()).put("created_at", j.createdAt().toString())
                .put("started_at", time(j.startedAt())).put("progress", progress(j));
    }

    static JsonObject progress(JobRecord j) {
        return new JsonObject().put("done_bytes", j.progressDone()).put("total_bytes", j.progressTotal() <= 0 ? null : j.progressTotal())
                .put("phase", j.phase());
    }

    static JsonObject job(JobRecord j) {
        JsonObject error = j.errorCode().isPresent() || j.errorMessage().isPresent()
                ? new JsonObject().put("code", j.errorCode().orElse(null)).put("message", j.errorMessage().orElse(null)) : null;
        return new JsonObject().put("id", j.id()).put("host", j.host()).put("source", j.source()).put("kind", j.kind()).put("type", j.type())
                .put("tag", j.tag()).put("state", j.state().wire()).put("trigger", j.trigger()).put("requested_by", j.requestedBy())
                .put("scheduled_for", time(j.scheduledFor())).put("created_at", j.createdAt().toString())
                .put("dispatched_at", time(j.dispatchedAt())).put("started_at", time(j.startedAt()))
                .put("finished_at", time(j.finishedAt())).put("progress", progress(j)).put("backup_id", j.backupId().orElse(null))
                .put("error", error).put("result", new JsonObject(new TreeMap<String, Object>(j.result())));
    }

    /**
     * A drill job as {@code GET /drills} lists it: the job's fields, and from its result the backup
     * it restored, {@code rto_seconds}, {@code rpo_seconds}, {@code restored_to} (null until measured)
     * and the {@code checks}.
     */
    static JsonObject drill(JobRecord j) {
        JsonObject o = job(j);
        o.remove("result");
        o.put("backup", blankToNull(j.result().get("backup"))).put("rto_seconds", number(j.result().get("rto_seconds")))
                .put("rpo_seconds", number(j.result().get("rpo_seconds"))).put("restored_to", blankToNull(j.result().get("restored_to")));
        String checks = j.result().get("checks");
        o.put("checks", checks == null || checks.isEmpty() ? new io.vertx.core.json.JsonArray() : new io.vertx.core.json.JsonArray(checks));
        return o;
    }

    private static String blankToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    private static Double number(String s) {
        try {
            return s == null || s.isEmpty() ? null : Double.valueOf(s);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    static JsonObject audit(AuditRecord a) {
        return new JsonObject().put("seq", a.seq()).put("at", a.at().toString()).put("request_id", a.requestId()).put("actor", a.actor())
                .put("role", a.role()).put("action", a.action()).put("object", a.object()).put("outcome", a.outcome())
                .put("detail", a.detail());
    }

    /** An entry with its chain mac (hex; null for an entry that predates the chain). */
    static JsonObject audit(dev.holdfast.controller.catalog.AuditEntry e) {
        return audit(e.record()).put("mac", e.mac().map(dev.holdfast.controller.audit.AuditMac::hex).orElse(null));
    }

    static JsonObject policy(ControllerConfig.Policy p) {
        JsonObject schedules = new JsonObject();
        List<String> tags = new ArrayList<>(p.schedules().keySet());
        List<String> usual = List.of("daily", "weekly", "monthly");
        tags.sort((a, b) -> {
            int ia = usual.indexOf(a);
            int ib = usual.indexOf(b);
            ia = ia < 0 ? usual.size() : ia;
            ib = ib < 0 ? usual.size() : ib;
            return ia != ib ? Integer.compare(ia, ib) : a.compareTo(b);
        });
        for (String tag : tags) {
            ControllerConfig.Schedule s = p.schedules().get(tag);
            schedules.put(tag, new JsonObject().put("cron", s.cron()).put("type", s.type()));
        }
        ControllerConfig.Retention r = p.retention();
        List<String> targets = p.restore().allowedTargets().stream().map(Path::toString).toList();
        return new JsonObject().put("name", p.name()).put("sources", new JsonArray(new ArrayList<>(p.sources())))
                .put("schedules", schedules).put("time_zone", p.timeZone().getId()).put("jitter_seconds", p.jitter().toSeconds())
                .put("retention", new JsonObject().put("daily", r.daily()).put("weekly", r.weekly()).put("monthly", r.monthly())
                        .put("pitr_window_seconds", r.pitrWindow().toSeconds())
                        .put("lock", r.lock().map(m -> m.name().toLowerCase(java.util.Locale.ROOT)).orElse(null))
                        .put("interval_seconds", r.interval().toSeconds()))
                .put("restore", new JsonObject().put("approvals", p.restore().approvals())
                        .put("allowed_targets", new JsonArray(new ArrayList<>(targets))));
    }

    static JsonObject error(String code, String message, String requestId) {
        return new JsonObject().put("error", new JsonObject().put("code", code).put("message", message).put("request_id", requestId));
    }
}
