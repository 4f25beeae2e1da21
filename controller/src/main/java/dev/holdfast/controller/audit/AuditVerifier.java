package dev.holdfast.controller.audit;

import dev.holdfast.controller.catalog.AuditEntry;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Verifies audit chains and names the first broken link, as a {@link HoldfastException} with code
 * {@code audit_chain_broken} whose message says which entry and what: {@code "entry seq 42: mac
 * mismatch (edited or reordered)"}, {@code "seq 17 missing (deleted) between 16 and 18"}, {@code
 * "log truncated after seq 99: the recorded head is seq 120"}. Pure: no I/O, no clock.
 *
 * <p>Order of checks, so that the earliest damage is the one named: entries are walked oldest
 * first; at each, its sequence number (gap: deleted; out of order: reordered), then its mac
 * recomputed from the previous entry's; after the last entry, the recorded end (trailer or head).
 */
public final class AuditVerifier {
    private AuditVerifier() {
    }

    /** What a verified run covered. @param count entries verified @param lastMac the last one's mac (the start's prev when none) */
    public record Verified(long firstSeq, long lastSeq, long count, AuditMac lastMac) {
    }

    /**
     * Verifies a run of entries that must be {@code firstSeq, firstSeq + 1, ...}, the first chained
     * to {@code prev}. With {@code prev} empty the run's start is unknown (an export without its
     * trailer): the first entry's own mac anchors the rest, and the first entry's seq is taken as
     * given. {@code where} prefixes messages (e.g. the file name); may be empty.
     */
    public static Verified run(AuditKey key, List<AuditEntry> entries, long firstSeq, Optional<AuditMac> prev, String where) {
        String at = where.isEmpty() ? "" : where + ": ";
        Set<Long> present = new HashSet<>();
        entries.forEach(e -> present.add(e.record().seq()));
        long expected = prev.isPresent() || entries.isEmpty() ? firstSeq : entries.get(0).record().seq();
        long start = expected;
        AuditMac last = prev.orElse(null);
        for (int i = 0; i < entries.size(); i++) {
            AuditEntry e = entries.get(i);
            long seq = e.record().seq();
            if (seq != expected) {
                if (seq < expected) {
                    throw broken(at + "entry seq " + seq + " is out of order after seq " + (expected - 1) + " (reordered or duplicated)");
                }
                if (present.contains(expected)) {
                    throw broken(at + "entry seq " + seq + " is out of order: seq " + expected + " belongs here (reordered)");
                }
                throw broken(at + missing(expected, seq - 1) + " (deleted) between " + (expected - 1) + " and " + seq);
            }
            if (e.mac().isEmpty()) {
                throw broken(at + "entry seq " + seq + ": no mac (edited)");
            }
            if (last != null && !AuditChain.link(key, last, e.record()).equals(e.mac().get())) {
                throw broken(at + "entry seq " + seq + ": mac mismatch (edited or reordered)");
            }
            last = e.mac().get();
            expected++;
        }
        return new Verified(start, expected - 1, expected - start, last == null ? AuditMac.GENESIS : last);
    }

    /**
     * Verifies one export (entries and trailer): the trailer's key id and mac, the entries from the
     * trailer's first seq chained to its prev mac, and that they end exactly at its last seq with its
     * last mac. Whether the export starts where it should (the chain's genesis, or the previous
     * export's end) is the caller's check.
     */
    public static Verified export(AuditKey key, AuditJsonl.Parsed export, String where) {
        String at = where.isEmpty() ? "" : where + ": ";
        if (export.trailer().isEmpty()) {
            Verified v = run(key, export.entries().stream().map(AuditJsonl.Line::entry).toList(), 0, Optional.empty(), where);
            throw broken(at + (v.count() == 0 ? "log truncated: no entry and no trailer line"
                    : "log truncated after seq " + v.lastSeq() + ": no trailer line (a complete export ends with one)"));
        }
        AuditJsonl.Trailer t = export.trailer().get();
        if (!t.keyId().equals(key.id())) {
            throw new HoldfastException(ErrorCode.AUDIT_KEY_MISMATCH, at + "the export's chain is made with key " + t.keyId()
                    + ", the key given is " + key.id());
        }
        if (!AuditChain.trailer(key, t.firstSeq(), t.lastSeq(), t.prevMac(), t.lastMac()).equals(t.mac())
                || t.count() != Math.max(0, t.lastSeq() - t.firstSeq() + 1)) {
            throw broken(at + "trailer: mac mismatch (edited)");
        }
        List<AuditEntry> entries = export.entries().stream().map(AuditJsonl.Line::entry).toList();
        Verified v = run(key, entries, t.firstSeq(), Optional.of(t.prevMac()), where);
        if (v.lastSeq() < t.lastSeq()) {
            throw broken(at + truncated(v, t.firstSeq()) + ": the recorded head is seq " + t.lastSeq());
        }
        if (v.lastSeq() > t.lastSeq()) {
            throw broken(at + "entry seq " + (t.lastSeq() + 1) + " is after the recorded head seq " + t.lastSeq() + " (appended)");
        }
        if (!v.lastMac().equals(t.lastMac())) {
            throw broken(at + "entry seq " + v.lastSeq() + ": mac differs from the trailer's (edited)");
        }
        return v;
    }

    /** "log truncated after seq N", or "before seq F" when not one entry is left. */
    public static String truncated(Verified v, long firstSeq) {
        return v.count() == 0 ? "log truncated before seq " + firstSeq : "log truncated after seq " + v.lastSeq();
    }

    static String missing(long from, long to) {
        return from == to ? "seq " + from + " missing" : "seqs " + from + " to " + to + " missing";
    }

    static HoldfastException broken(String message) {
        return new HoldfastException(ErrorCode.AUDIT_CHAIN_BROKEN, message);
    }
}
