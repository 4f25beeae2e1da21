package dev.holdfast.repository.wal;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;

/**
 * A PostgreSQL write-ahead log position (an {@code XLogRecPtr}): an unsigned 64-bit byte offset
 * into the WAL stream, printed the way PostgreSQL prints it, {@code X/X} in upper-case hex
 * ({@code 0/3000028}).
 *
 * <p>Ordering is unsigned, as in PostgreSQL; {@link #INVALID} (0/0) sorts first.
 */
public record Lsn(long value) implements Comparable<Lsn> {
    public static final Lsn INVALID = new Lsn(0);

    /** Parses {@code X/X} (1-8 hex digits each side); throws {@link ErrorCode#USAGE} naming the text. */
    public static Lsn parse(String text) {
        if (text != null) {
            int slash = text.indexOf('/');
            if (slash > 0 && slash <= 8 && text.length() - slash - 1 >= 1 && text.length() - slash - 1 <= 8) {
                try {
                    long hi = Long.parseLong(text.substring(0, slash), 16);
                    long lo = Long.parseLong(text.substring(slash + 1), 16);
                    return new Lsn((hi << 32) | lo);
                } catch (NumberFormatException e) {
                    // fall through to the error below
                }
            }
        }
        throw new HoldfastException(ErrorCode.USAGE, "invalid LSN '" + text + "': expected PostgreSQL's X/X form in hex, e.g. 0/3000028");
    }

    public static Lsn of(long value) {
        return value == 0 ? INVALID : new Lsn(value);
    }

    public boolean isValid() {
        return value != 0;
    }

    public Lsn plus(long bytes) {
        return new Lsn(value + bytes);
    }

    /** Bytes from {@code other} to this position (may be negative). */
    public long minus(Lsn other) {
        return value - other.value;
    }

    /** The start of the segment holding this position, for a segment size in bytes (a power of two). */
    public Lsn segmentStart(long segmentSize) {
        return new Lsn(value - Long.remainderUnsigned(value, segmentSize));
    }

    /** Offset of this position inside its segment. */
    public long segmentOffset(long segmentSize) {
        return Long.remainderUnsigned(value, segmentSize);
    }

    /** The segment number (PostgreSQL's {@code XLogSegNo}). */
    public long segmentNumber(long segmentSize) {
        return Long.divideUnsigned(value, segmentSize);
    }

    public static Lsn max(Lsn a, Lsn b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    public static Lsn min(Lsn a, Lsn b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    @Override
    public int compareTo(Lsn o) {
        return Long.compareUnsigned(value, o.value);
    }

    @Override
    public String toString() {
        return String.format("%X/%X", value >>> 32, value & 0xFFFFFFFFL);
    }
}
