package dev.holdfast.controller.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.holdfast.controller.catalog.AuditEntry;
import dev.holdfast.controller.catalog.AuditRecord;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The verifier on exports built here: it passes an untouched one and names the first broken link of a tampered one. */
class AuditVerifierTest {
    static final AuditKey KEY = AuditKey.of("0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII));

    /** A chain of entries firstSeq..lastSeq, the first chained to prev. */
    static List<AuditEntry> chain(long firstSeq, long lastSeq, AuditMac prev) {
        List<AuditEntry> out = new ArrayList<>();
        AuditMac p = prev;
        for (long s = firstSeq; s <= lastSeq; s++) {
            AuditRecord r = new AuditRecord(s, Instant.parse("2026-11-24T09:00:00Z").plusSeconds(s), "req-" + s, "admin", "admin",
                    "backup.request", "db1/main", "ok", "entry " + s);
            p = AuditChain.link(KEY, p, r);
            out.add(new AuditEntry(r, Optional.of(p)));
        }
        return out;
    }

    static List<String> lines(List<AuditEntry> entries, AuditMac prev) {
        byte[] bytes = AuditJsonl.export(entries, AuditJsonl.Trailer.of(KEY, entries.get(0).record().seq(),
                entries.get(entries.size() - 1).record().seq(), prev, entries.get(entries.size() - 1).mac().orElseThrow()));
        return new ArrayList<>(List.of(new String(bytes, StandardCharsets.UTF_8).split("\n")));
    }

    static AuditVerifier.Verified verify(List<String> lines) {
        return AuditVerifier.export(KEY, AuditJsonl.parse((String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8), "f"), "f");
    }

    static String failure(List<String> lines) {
        HoldfastException e = assertThrows(HoldfastException.class, () -> verify(lines));
        assertEquals(ErrorCode.AUDIT_CHAIN_BROKEN, e.code(), e.getMessage());
        return e.getMessage();
    }

    @Test
    void anUntouchedExportVerifies() {
        AuditVerifier.Verified v = verify(lines(chain(1, 10, AuditMac.GENESIS), AuditMac.GENESIS));
        assertEquals(1, v.firstSeq());
        assertEquals(10, v.lastSeq());
        assertEquals(10, v.count());
    }

    @Test
    void anExportOfALaterRangeVerifiesFromItsTrailersPrevMac() {
        List<AuditEntry> all = chain(1, 10, AuditMac.GENESIS);
        List<AuditEntry> tail = all.subList(4, 10);
        assertEquals(5, verify(lines(tail, all.get(3).mac().orElseThrow())).firstSeq());
    }

    @Test
    void anEditedFieldIsNamedByItsEntry() {
        List<String> l = lines(chain(1, 10, AuditMac.GENESIS), AuditMac.GENESIS);
        l.set(6, l.get(6).replace("\"actor\":\"admin\"", "\"actor\":\"mallory\""));
        assertEquals("f: entry seq 7: mac mismatch (edited or reordered)", failure(l));
    }

    @Test
    void aDeletedEntryIsNamedWithItsNeighbours() {
        List<String> l = lines(chain(1, 10, AuditMac.GENESIS), AuditMac.GENESIS);
        l.remove(4);
        assertEquals("f: seq 5 missing (deleted) between 4 and 6", failure(l));
    }

    @Test
    void deletingTheFirstEntryIsFound() {
        List<String> l = lines(chain(1, 10, AuditMac.GENESIS), AuditMac.GENESIS);
        l.remove(0);
        assertEquals("f: seq 1 missing (deleted) between 0 and 2", failure(l));
    }

    @Test
    void swappedEntriesAreReportedAsReordered() {
        List<String> l = lines(chain(1, 10, AuditMac.GENESIS), AuditMac.GENESIS);
        Collections.swap(l, 2, 3);
        assertEquals("f: entry seq 4 is out of order: seq 3 belongs here (reordered)", failure(l));
    }

    @Test
    void swappedEntriesWithRenumberedSeqsFailTheirMac() {
        List<String> l = lines(chain(1, 10, AuditMac.GENESIS), AuditMac.GENESIS);
        Collections.swap(l, 2, 3);
        l.set(2, l.get(2).replace("\"seq\":4,", "\"seq\":3,"));
        l.set(3, l.get(3).replace("\"seq\":3,", "\"seq\":4,"));
        assertEquals("f: entry seq 3: mac mismatch (edited or reordered)", failure(l));
    }

    @Test
    void aTruncatedTailUnderTheOriginalTrailerNamesTheRecordedHead() {
        List<String> l = lines(chain(1, 10, AuditMac.GENESIS), AuditMac.GENESIS);
        l.remove(9);
        l.remove(8);
        assertEquals("f: log truncated after seq 8: the recorded head is seq 10", failure(l));
    }

    @Test
    void aFileCutShortLosesItsTrailerAndIsReportedTruncated() {
        List<String> l = lines(chain(1, 10, AuditMac.GENESIS), AuditMac.GENESIS);
        List<String> cut = new ArrayList<>(l.subList(0, 7));
        assertEquals("f: log truncated after seq 7: no trailer line (a complete export ends with one)", failure(cut));
    }

    @Test
    void aTrailerRewrittenForAShorterLogFailsItsMac() {
        List<AuditEntry> entries = chain(1, 10, AuditMac.GENESIS);
        List<String> l = lines(entries, AuditMac.GENESIS);
        List<String> shorter = new ArrayList<>(l.subList(0, 7));
        AuditJsonl.Trailer forged = AuditJsonl.Trailer.of(AuditKey.of(new byte[32]), 1, 7, AuditMac.GENESIS, entries.get(6).mac().orElseThrow());
        shorter.add(AuditJsonl.line(new AuditJsonl.Trailer(KEY.id(), 1, 7, 7, forged.prevMac(), forged.lastMac(), forged.mac())).trim());
        assertEquals("f: trailer: mac mismatch (edited)", failure(shorter));
    }

    @Test
    void anEntryAppendedAfterTheTrailerIsFound() {
        List<String> l = lines(chain(1, 10, AuditMac.GENESIS), AuditMac.GENESIS);
        l.add(l.get(0));
        assertEquals("f line 12: a line after the trailer (appended)", failure(l));
    }

    @Test
    void aDuplicatedEntryIsFound() {
        List<String> l = lines(chain(1, 10, AuditMac.GENESIS), AuditMac.GENESIS);
        l.add(3, l.get(2));
        assertEquals("f: entry seq 3 is out of order after seq 3 (reordered or duplicated)", failure(l));
    }

    @Test
    void theWrongKeyIsAKeyMismatch() {
        List<String> l = lines(chain(1, 3, AuditMac.GENESIS), AuditMac.GENESIS);
        HoldfastException e = assertThrows(HoldfastException.class, () -> AuditVerifier.export(AuditKey.of(new byte[32]),
                AuditJsonl.parse((String.join("\n", l) + "\n").getBytes(StandardCharsets.UTF_8), "f"), "f"));
        assertEquals(ErrorCode.AUDIT_KEY_MISMATCH, e.code());
    }

    @Test
    void aLineThatIsNotJsonIsNamedByItsNumber() {
        List<String> l = lines(chain(1, 3, AuditMac.GENESIS), AuditMac.GENESIS);
        l.set(1, l.get(1).substring(3));
        assertEquals("f line 2: not a JSON object (edited or damaged)", failure(l));
    }
}
