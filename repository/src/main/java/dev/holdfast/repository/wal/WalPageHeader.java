package dev.holdfast.repository.wal;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.Optional;

/**
 * The long page header that starts every WAL segment file (PostgreSQL's
 * {@code XLogLongPageHeaderData}, src/include/access/xlog_internal.h), in the server's byte order
 * (little-endian on every platform Holdfast supports):
 *
 * <pre>
 * offset size field
 *   0     2   xlp_magic        WAL format magic, one per major version (0xD110 for 15)
 *   2     2   xlp_info         flags; XLP_LONG_HEADER (0x0002) is set on a segment's first page
 *   4     4   xlp_tli          timeline of the first record on the page
 *   8     8   xlp_pageaddr     LSN of this page: the segment's start
 *  16     4   xlp_rem_len      bytes of a record continued from the previous segment
 *  20     4   (padding to 8)
 *  24     8   xlp_sysid        system identifier, as pg_control_system() prints it
 *  32     4   xlp_seg_size     the cluster's WAL segment size
 *  36     4   xlp_xlog_blcksz  WAL page size
 * </pre>
 *
 * Checked against a segment written by PostgreSQL 15's initdb. This is what archive mode learns the
 * cluster's identity from: the segment itself, so a segment of another cluster can be refused
 * before it is stored.
 */
public record WalPageHeader(int magic, int info, int timeline, Lsn pageAddress, long systemId, long segmentSize, int blockSize) {
    /** Bytes of the long header. */
    public static final int LENGTH = 40;
    public static final int XLP_LONG_HEADER = 0x0002;

    /** {@code XLOG_PAGE_MAGIC} per major version, from each release's xlog_internal.h. */
    private static final Map<Integer, Integer> MAJOR_BY_MAGIC = Map.of(
            0xD097, 10, 0xD098, 11, 0xD101, 12, 0xD106, 13, 0xD10D, 14, 0xD110, 15, 0xD113, 16, 0xD116, 17);

    /**
     * Parses the first {@link #LENGTH} bytes of a segment file; {@code INTEGRITY_FAILURE} naming
     * {@code what} when they are too short or not a long page header.
     */
    public static WalPageHeader parse(ByteBuffer bytes, String what) {
        ByteBuffer b = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < LENGTH) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, what + " is too short (" + b.remaining()
                    + " bytes) to start with a WAL page header");
        }
        int p = b.position();
        int magic = b.getShort(p) & 0xffff;
        int info = b.getShort(p + 2) & 0xffff;
        int tli = b.getInt(p + 4);
        long pageAddr = b.getLong(p + 8);
        long sysid = b.getLong(p + 24);
        long segSize = b.getInt(p + 32) & 0xFFFFFFFFL;
        int blcksz = b.getInt(p + 36);
        if ((info & XLP_LONG_HEADER) == 0) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, what + " does not start with a WAL long page header"
                    + " (xlp_info " + String.format("0x%04X", info) + " lacks XLP_LONG_HEADER)");
        }
        return new WalPageHeader(magic, info, tli, Lsn.of(pageAddr), sysid, segSize, blcksz);
    }

    /** The system identifier in decimal, as {@code pg_control_system()} and the repository layout print it. */
    public String systemIdText() {
        return Long.toUnsignedString(systemId);
    }

    /** The PostgreSQL major version whose WAL format this magic is, when known. */
    public Optional<Integer> majorVersion() {
        return Optional.ofNullable(MAJOR_BY_MAGIC.get(magic));
    }

    /**
     * Checks that this header starts the segment file {@code name} of {@code fileSize} bytes: the
     * page address is the segment's start LSN and the file is exactly one segment long.
     * {@code SOURCE_MISMATCH} otherwise (the file is not the segment its name says).
     */
    public void checkStarts(WalSegmentName name, long fileSize, String what) {
        if (segmentSize < (1 << 20) || segmentSize > (1 << 30) || Long.bitCount(segmentSize) != 1) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, what + ": its page header gives an impossible WAL segment size "
                    + segmentSize);
        }
        if (fileSize != segmentSize) {
            throw new HoldfastException(ErrorCode.SOURCE_MISMATCH, what + " is " + fileSize + " bytes but its page header says the"
                    + " cluster's WAL segment size is " + segmentSize);
        }
        Lsn expected = name.startLsn(segmentSize);
        if (!pageAddress.equals(expected)) {
            throw new HoldfastException(ErrorCode.SOURCE_MISMATCH, what + " starts at LSN " + pageAddress + " by its page header,"
                    + " not at " + expected + " as its name says");
        }
    }
}
