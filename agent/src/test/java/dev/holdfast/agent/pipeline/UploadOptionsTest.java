package dev.holdfast.agent.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class UploadOptionsTest {

    @Test
    void defaultsAreOneMebibyteSegmentsZstdThreeSha256AndEightMebibyteParts() {
        UploadOptions o = new UploadOptions();
        assertEquals(1024 * 1024, o.getSegmentSize());
        assertEquals(3, o.getZstdLevel());
        assertEquals(Runtime.getRuntime().availableProcessors(), o.getThreads());
        assertTrue(o.isSha256());
        assertEquals(8 * 1024 * 1024, o.getPartSize());
        assertEquals(2, o.getMaxInFlightParts());
        assertEquals(0, o.getMaxSegmentsInFlight());
        assertEquals("holdfast-seal", o.getWorkerPoolName());
    }

    @Test
    void segmentsInFlightDefaultToTwicePerThreadPlusTwo() {
        assertEquals(6, new UploadOptions().setThreads(2).effectiveMaxSegmentsInFlight());
        assertEquals(4, new UploadOptions().setThreads(1).effectiveMaxSegmentsInFlight());
        assertEquals(3, new UploadOptions().setThreads(8).setMaxSegmentsInFlight(3).effectiveMaxSegmentsInFlight());
    }

    @Test
    void settersRejectValuesTheFormatOrPipelineCannotUse() {
        UploadOptions o = new UploadOptions();
        assertThrows(IllegalArgumentException.class, () -> o.setSegmentSize(100_000));
        assertThrows(IllegalArgumentException.class, () -> o.setSegmentSize(32 * 1024));
        assertThrows(IllegalArgumentException.class, () -> o.setSegmentSize(32 * 1024 * 1024));
        assertThrows(IllegalArgumentException.class, () -> o.setZstdLevel(0));
        assertThrows(IllegalArgumentException.class, () -> o.setZstdLevel(20));
        assertThrows(IllegalArgumentException.class, () -> o.setThreads(0));
        assertThrows(IllegalArgumentException.class, () -> o.setPartSize(0));
        assertThrows(IllegalArgumentException.class, () -> o.setMaxInFlightParts(0));
        assertThrows(IllegalArgumentException.class, () -> o.setMaxSegmentsInFlight(-1));
        assertThrows(IllegalArgumentException.class, () -> o.setWorkerPoolName(" "));
        assertEquals(new UploadOptions(), o, "a rejected value changes nothing");
    }

    @Test
    void theCopyIsIndependentAndEqual() {
        UploadOptions o = new UploadOptions().setSegmentSize(64 * 1024).setZstdLevel(1).setThreads(3).setSha256(false)
                .setPartSize(5 * 1024 * 1024).setMaxInFlightParts(4).setMaxSegmentsInFlight(9)
                .setWorkerPoolName("p");
        UploadOptions copy = new UploadOptions(o);
        assertEquals(o, copy);
        assertEquals(o.hashCode(), copy.hashCode());
        copy.setThreads(4);
        assertNotEquals(o, copy);
        assertEquals(3, o.getThreads());
        assertFalse(o.toString().isEmpty());
    }
}
