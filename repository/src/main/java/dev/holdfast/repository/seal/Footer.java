package dev.holdfast.repository.seal;

import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * The authenticated summary at the end of every sealed object (docs/format.md section 6.3).
 *
 * @param plaintextLength bytes of plaintext
 * @param dataSegments    number of data segments
 * @param crc32c          CRC32C of the plaintext
 * @param sha256          SHA-256 of the plaintext, when the writer computed it
 */
public record Footer(long plaintextLength, long dataSegments, int crc32c, Optional<byte[]> sha256) {
    static final int PLAINTEXT_LENGTH = 61;
    /** Bytes the footer segment occupies at the end of every object: length prefix, body, tag. */
    public static final int SEGMENT_LENGTH = 4 + PLAINTEXT_LENGTH + 16;

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(PLAINTEXT_LENGTH);
        b.put(SegmentCodec.TYPE_FOOTER).put((byte) (sha256.isPresent() ? 1 : 0));
        b.putLong(plaintextLength).putLong(dataSegments).putInt(crc32c);
        b.put(sha256.orElse(new byte[32]));
        return b.array();
    }

    static Footer decode(ByteBuffer plain, String what) {
        if (plain.remaining() != PLAINTEXT_LENGTH || plain.get() != SegmentCodec.TYPE_FOOTER) {
            throw ObjectHeader.integrity(what, "has a malformed footer");
        }
        int flags = plain.get() & 0xff;
        long length = plain.getLong();
        long segments = plain.getLong();
        int crc = plain.getInt();
        byte[] sha = new byte[32];
        plain.get(sha);
        boolean reservedZero = true;
        while (plain.hasRemaining()) {
            reservedZero &= plain.get() == 0;
        }
        if ((flags & ~1) != 0 || !reservedZero || length < 0 || segments < 0) {
            throw ObjectHeader.integrity(what, "has a malformed footer");
        }
        return new Footer(length, segments, crc, (flags & 1) != 0 ? Optional.of(sha) : Optional.empty());
    }

    /** SHA-256 as lowercase hex, or empty. */
    public Optional<String> sha256Hex() {
        return sha256.map(java.util.HexFormat.of()::formatHex);
    }

    @Override
    public String toString() {
        return "Footer[length=" + plaintextLength + ", segments=" + dataSegments + ", crc32c="
                + String.format("%08x", crc32c) + ", sha256=" + sha256Hex().orElse("none") + "]";
    }
}
