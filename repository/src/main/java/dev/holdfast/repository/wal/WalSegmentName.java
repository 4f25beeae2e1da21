package dev.holdfast.repository.wal;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.util.regex.Pattern;

/**
 * A WAL segment file name, {@code TTTTTTTTXXXXXXXXYYYYYYYY}: timeline, then the segment number
 * split as PostgreSQL's {@code XLogFileName} does, as "log id" (segment number / segments per 4 GiB)
 * and "segment in log id". The split depends on the segment size, so converting to or from an
 * {@link Lsn} needs it; the name alone sorts correctly within a timeline.
 */
public record WalSegmentName(int timeline, long logId, long segmentInLog) implements Comparable<WalSegmentName> {
    private static final Pattern FORM = Pattern.compile("[0-9A-F]{24}");
    private static final long FOUR_GIB = 0x1_0000_0000L;

    public WalSegmentName {
        if (timeline <= 0) {
            throw new IllegalArgumentException("timeline must be positive: " + Integer.toUnsignedString(timeline));
        }
        if (logId < 0 || logId > 0xFFFFFFFFL || segmentInLog < 0 || segmentInLog > 0xFFFFFFFFL) {
            throw new IllegalArgumentException("segment name parts out of range");
        }
    }

    /** Whether {@code text} has the 24-upper-case-hex-digit form of a segment name. */
    public static boolean matches(String text) {
        return text != null && FORM.matcher(text).matches();
    }

    public static WalSegmentName parse(String text) {
        if (!matches(text)) {
            throw new HoldfastException(ErrorCode.USAGE,
                    "invalid WAL segment name '" + text + "': expected 24 upper-case hex digits, e.g. 000000010000000000000003");
        }
        int tli = (int) Long.parseLong(text.substring(0, 8), 16);
        if (tli == 0) {
            throw new HoldfastException(ErrorCode.USAGE, "invalid WAL segment name '" + text + "': timeline 0");
        }
        return new WalSegmentName(tli, Long.parseLong(text.substring(8, 16), 16), Long.parseLong(text.substring(16, 24), 16));
    }

    /** The segment holding {@code lsn} on {@code timeline}. */
    public static WalSegmentName of(int timeline, Lsn lsn, long segmentSize) {
        return ofNumber(timeline, lsn.segmentNumber(checkSize(segmentSize)), segmentSize);
    }

    public static WalSegmentName ofNumber(int timeline, long segmentNumber, long segmentSize) {
        long perLog = FOUR_GIB / checkSize(segmentSize);
        return new WalSegmentName(timeline, segmentNumber / perLog, segmentNumber % perLog);
    }

    /** PostgreSQL's segment number ({@code XLogSegNo}). */
    public long segmentNumber(long segmentSize) {
        return logId * (FOUR_GIB / checkSize(segmentSize)) + segmentInLog;
    }

    /** The LSN of this segment's first byte. */
    public Lsn startLsn(long segmentSize) {
        return new Lsn(segmentNumber(segmentSize) * segmentSize);
    }

    /** The next segment on the same timeline. */
    public WalSegmentName next(long segmentSize) {
        return ofNumber(timeline, segmentNumber(segmentSize) + 1, segmentSize);
    }

    /** The same segment number on another timeline. */
    public WalSegmentName onTimeline(int otherTimeline) {
        return new WalSegmentName(otherTimeline, logId, segmentInLog);
    }

    /**
     * Validates a WAL segment size as PostgreSQL does: a power of two from 1 MiB to 1 GiB.
     */
    public static long checkSize(long segmentSize) {
        if (segmentSize < (1 << 20) || segmentSize > (1 << 30) || Long.bitCount(segmentSize) != 1) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID,
                    "invalid WAL segment size " + segmentSize + ": PostgreSQL uses a power of two from 1 MiB to 1 GiB");
        }
        return segmentSize;
    }

    @Override
    public int compareTo(WalSegmentName o) {
        int c = Integer.compareUnsigned(timeline, o.timeline);
        if (c == 0) {
            c = Long.compare(logId, o.logId);
        }
        return c != 0 ? c : Long.compare(segmentInLog, o.segmentInLog);
    }

    @Override
    public String toString() {
        return String.format("%08X%08X%08X", timeline, logId, segmentInLog);
    }
}
