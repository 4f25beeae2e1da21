package dev.holdfast.agent.postgres.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.wal.Lsn;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TimelineHistoryTest {
    @Test
    void parsesPostgresHistoryFiles() {
        String text = "1\t0/3000158\tno recovery target specified\n\n"
                + "2\t0/5000000\tat restore point \"x\"\n";
        TimelineHistory h = TimelineHistory.parse(3, text.getBytes(StandardCharsets.US_ASCII));
        assertEquals(Optional.of(Lsn.parse("0/3000158")), h.endOf(1));
        assertEquals(Optional.of(Lsn.parse("0/5000000")), h.endOf(2));
        assertEquals(Optional.empty(), h.endOf(3));
        assertEquals(1, h.timelineOf(Lsn.parse("0/1000000")));
        assertEquals(2, h.timelineOf(Lsn.parse("0/3000158")));
        assertEquals(3, h.timelineOf(Lsn.parse("0/6000000")));
        assertEquals(2, h.childOf(1));
        assertEquals(3, h.childOf(2));
        assertThrows(HoldfastException.class, () -> TimelineHistory.parse(2, "1 nonsense\n".getBytes(StandardCharsets.US_ASCII)));
    }
}
