package dev.holdfast.controller.audit;

import dev.holdfast.controller.catalog.AuditRecord;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * The audit chain (docs/format.md section 15.1): each entry's mac is
 * <pre>mac(n) = HMAC-SHA256(audit key, mac(n-1) || canonical(entry n))</pre>
 * with {@code mac(first - 1)} the {@linkplain AuditMac#GENESIS genesis value} (32 zero bytes), and
 * <pre>canonical = 0x01 || u64(seq) || i64(at, microseconds since the epoch)
 *             || str(request_id) || str(actor) || str(role) || str(action) || str(object) || str(outcome) || str(detail)
 * str(s)    = u32(length of UTF-8(s)) || UTF-8(s)</pre>
 * (big-endian). Length prefixes make the encoding unambiguous: no two different entries encode
 * alike, whatever characters their fields hold. Times count in microseconds, the catalog's
 * precision, so an entry read back from the catalog verifies exactly.
 *
 * <p>An export's trailer is authenticated the same way (section 15.2):
 * <pre>trailer mac = HMAC-SHA256(key, "holdfast/v1/audit-trailer" || u64(first_seq) || u64(last_seq) || prev_mac || last_mac)</pre>
 * so that nobody without the key can shorten an export and write a matching trailer.
 */
public final class AuditChain {
    static final byte VERSION = 1;
    private static final byte[] TRAILER = "holdfast/v1/audit-trailer".getBytes(StandardCharsets.US_ASCII);

    private AuditChain() {
    }

    /** The mac of {@code entry} (its {@code seq} and {@code at} as stored), chained to {@code prev}. */
    public static AuditMac link(AuditKey key, AuditMac prev, AuditRecord entry) {
        return AuditMac.of(key.hmac(prev.bytes(), canonical(entry)));
    }

    /** The canonical encoding of an entry (see the class comment). */
    public static byte[] canonical(AuditRecord e) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(128);
        out.write(VERSION);
        out.writeBytes(ByteBuffer.allocate(16).putLong(e.seq()).putLong(micros(e.at())).array());
        for (String s : new String[] {e.requestId(), e.actor(), e.role(), e.action(), e.object(), e.outcome(), e.detail()}) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            out.writeBytes(ByteBuffer.allocate(4).putInt(b.length).array());
            out.writeBytes(b);
        }
        return out.toByteArray();
    }

    /** The trailer's mac over the range it closes. */
    public static AuditMac trailer(AuditKey key, long firstSeq, long lastSeq, AuditMac prev, AuditMac last) {
        return AuditMac.of(key.hmac(TRAILER, ByteBuffer.allocate(16).putLong(firstSeq).putLong(lastSeq).array(), prev.bytes(), last.bytes()));
    }

    /** Microseconds since the epoch, the catalog's precision (finer digits are dropped as the catalog drops them). */
    public static long micros(Instant i) {
        return Math.addExact(Math.multiplyExact(i.getEpochSecond(), 1_000_000L), i.getNano() / 1000);
    }
}
