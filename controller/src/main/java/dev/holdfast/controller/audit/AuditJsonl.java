package dev.holdfast.controller.audit;

import dev.holdfast.controller.catalog.AuditEntry;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The audit log as JSON lines (docs/format.md section 15.2): one line per entry, oldest first, then
 * one trailer line that closes the range and is authenticated with the audit key, so an export cut
 * short, or cut short and given a new trailer, is detected. The same bytes are the plaintext of the
 * repository's {@code audit/log/...} objects, {@code GET /api/v1/audit?format=jsonl} and
 * {@code holdfast audit export}.
 * <pre>
 * {"seq":1,"at":"2026-11-24T09:00:00.123456Z","request_id":"...","actor":"...","role":"...","action":"...","object":"...","outcome":"ok","detail":"","mac":"&lt;64 hex&gt;"}
 * {"trailer":{"format":"holdfast-audit-log","version":1,"key_id":"ak-...","first_seq":1,"last_seq":1,"count":1,"prev_mac":"...","last_mac":"...","mac":"..."}}
 * </pre>
 */
public final class AuditJsonl {
    public static final String FORMAT = "holdfast-audit-log";

    private AuditJsonl() {
    }

    /**
     * The trailer of an export of entries {@code firstSeq..lastSeq} (none when {@code lastSeq < firstSeq}).
     *
     * @param prevMac the mac of entry {@code firstSeq - 1} ({@link AuditMac#GENESIS} at the chain's start)
     * @param lastMac the mac of entry {@code lastSeq} ({@code prevMac} when the range is empty)
     * @param mac     {@link AuditChain#trailer}
     */
    public record Trailer(String keyId, long firstSeq, long lastSeq, long count, AuditMac prevMac, AuditMac lastMac, AuditMac mac) {
        /** Makes the trailer of a range, with its mac. */
        public static Trailer of(AuditKey key, long firstSeq, long lastSeq, AuditMac prevMac, AuditMac lastMac) {
            return new Trailer(key.id(), firstSeq, lastSeq, Math.max(0, lastSeq - firstSeq + 1), prevMac, lastMac,
                    AuditChain.trailer(key, firstSeq, lastSeq, prevMac, lastMac));
        }
    }

    /** An export read back: its entries with their line numbers, and its trailer if it has one. */
    public record Parsed(List<Line> entries, Optional<Trailer> trailer) {
    }

    /** One entry line. @param line 1-based line number in the export */
    public record Line(int line, AuditEntry entry) {
    }

    /** One entry as a line (with its newline). */
    public static String line(AuditEntry e) {
        AuditRecord a = e.record();
        JsonObject o = new JsonObject().put("seq", a.seq()).put("at", a.at().toString()).put("request_id", a.requestId())
                .put("actor", a.actor()).put("role", a.role()).put("action", a.action()).put("object", a.object())
                .put("outcome", a.outcome()).put("detail", a.detail()).put("mac", e.mac().map(AuditMac::hex).orElse(null));
        return o.encode() + "\n";
    }

    /** The trailer line (with its newline). */
    public static String line(Trailer t) {
        JsonObject o = new JsonObject().put("format", FORMAT).put("version", 1).put("key_id", t.keyId()).put("first_seq", t.firstSeq())
                .put("last_seq", t.lastSeq()).put("count", t.count()).put("prev_mac", t.prevMac().hex()).put("last_mac", t.lastMac().hex())
                .put("mac", t.mac().hex());
        return new JsonObject().put("trailer", o).encode() + "\n";
    }

    /** A whole export: the entries' lines, then the trailer's. */
    public static byte[] export(List<AuditEntry> entries, Trailer trailer) {
        StringBuilder sb = new StringBuilder();
        entries.forEach(e -> sb.append(line(e)));
        sb.append(line(trailer));
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Parses an export. A line that is not an entry or a trailer, a second trailer or a line after
     * the trailer fails with {@code audit_chain_broken} naming the line ({@code where} names the
     * export). Blank lines are not allowed either: an export is exactly what was written.
     */
    public static Parsed parse(byte[] bytes, String where) {
        String text = new String(bytes, StandardCharsets.UTF_8);
        List<Line> entries = new ArrayList<>();
        Optional<Trailer> trailer = Optional.empty();
        String[] lines = text.split("\n", -1);
        int n = lines.length;
        if (n > 0 && lines[n - 1].isEmpty()) {
            n--; // the final newline
        }
        for (int i = 0; i < n; i++) {
            int lineNo = i + 1;
            if (trailer.isPresent()) {
                throw broken(where + " line " + lineNo + ": a line after the trailer (appended)");
            }
            JsonObject o;
            try {
                o = new JsonObject(lines[i]);
            } catch (DecodeException | ClassCastException e) {
                throw broken(where + " line " + lineNo + ": not a JSON object (edited or damaged)");
            }
            try {
                if (o.containsKey("trailer")) {
                    trailer = Optional.of(trailer(o.getJsonObject("trailer"), where + " line " + lineNo));
                } else {
                    entries.add(new Line(lineNo, entry(o)));
                }
            } catch (ClassCastException | IllegalArgumentException | NullPointerException | DateTimeParseException e) {
                throw broken(where + " line " + lineNo + ": not an audit entry (edited or damaged)");
            }
        }
        return new Parsed(entries, trailer);
    }

    private static AuditEntry entry(JsonObject o) {
        AuditRecord r = new AuditRecord(o.getLong("seq"), Instant.parse(o.getString("at")), req(o, "request_id"), req(o, "actor"),
                req(o, "role"), req(o, "action"), req(o, "object"), req(o, "outcome"), req(o, "detail"));
        String mac = o.getString("mac");
        return new AuditEntry(r, mac == null ? Optional.empty() : Optional.of(AuditMac.parse(mac)));
    }

    private static Trailer trailer(JsonObject t, String where) {
        if (!FORMAT.equals(t.getString("format"))) {
            throw broken(where + ": not a " + FORMAT + " trailer");
        }
        if (t.getInteger("version") != 1) {
            throw new HoldfastException(ErrorCode.FORMAT_UNSUPPORTED, where + ": audit log version " + t.getInteger("version")
                    + ", this build reads version 1");
        }
        return new Trailer(req(t, "key_id"), t.getLong("first_seq"), t.getLong("last_seq"), t.getLong("count"),
                AuditMac.parse(t.getString("prev_mac")), AuditMac.parse(t.getString("last_mac")), AuditMac.parse(t.getString("mac")));
    }

    private static String req(JsonObject o, String key) {
        String v = o.getString(key);
        if (v == null) {
            throw new IllegalArgumentException("missing " + key);
        }
        return v;
    }

    static HoldfastException broken(String message) {
        return new HoldfastException(ErrorCode.AUDIT_CHAIN_BROKEN, message);
    }
}
