package dev.holdfast.repository.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class WalPageHeaderTest {
    /** The first 40 bytes of 000000010000000000000006, written by PostgreSQL 15's initdb --wal-segsize=1. */
    private static final byte[] PG15 = HexFormat.of().parseHex(
            "10d10700010000000000600000000000101b000000000000734f111127fe046b0000100000200000");

    @Test
    void readsTheLongHeaderPostgresql15Writes() {
        WalPageHeader h = WalPageHeader.parse(ByteBuffer.wrap(PG15), "test");
        assertEquals(0xD110, h.magic());
        assertEquals(Optional.of(15), h.majorVersion());
        assertEquals(1, h.timeline());
        assertEquals(Lsn.parse("0/600000"), h.pageAddress());
        assertEquals("7711567905708658547", h.systemIdText());
        assertEquals(1 << 20, h.segmentSize());
        assertEquals(8192, h.blockSize());
        h.checkStarts(WalSegmentName.parse("000000010000000000000006"), 1 << 20, "test");
    }

    @Test
    void aFileThatIsNotTheSegmentItsNameSaysIsRefused() {
        WalPageHeader h = WalPageHeader.parse(ByteBuffer.wrap(PG15), "test");
        HoldfastException e = assertThrows(HoldfastException.class,
                () -> h.checkStarts(WalSegmentName.parse("000000010000000000000007"), 1 << 20, "f"));
        assertEquals(ErrorCode.SOURCE_MISMATCH, e.code());
        e = assertThrows(HoldfastException.class, () -> h.checkStarts(WalSegmentName.parse("000000010000000000000006"), 16 << 20, "f"));
        assertEquals(ErrorCode.SOURCE_MISMATCH, e.code());
    }

    @Test
    void aShortPageHeaderOrShortInputIsRefused() {
        byte[] shortHeader = PG15.clone();
        shortHeader[2] = 0x05;  // XLP_LONG_HEADER cleared
        assertEquals(ErrorCode.INTEGRITY_FAILURE, assertThrows(HoldfastException.class,
                () -> WalPageHeader.parse(ByteBuffer.wrap(shortHeader), "f")).code());
        assertEquals(ErrorCode.INTEGRITY_FAILURE, assertThrows(HoldfastException.class,
                () -> WalPageHeader.parse(ByteBuffer.wrap(new byte[39]), "f")).code());
    }
}
