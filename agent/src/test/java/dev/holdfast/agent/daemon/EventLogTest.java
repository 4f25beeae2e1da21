package dev.holdfast.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.agent.config.AgentConfig.LogLevel;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** Events are single logfmt lines, journald-prefixed under systemd, filtered by level, without secrets. */
class EventLogTest {
    static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-23T10:00:01.250Z"), ZoneOffset.UTC);

    private static String logged(boolean journal, LogLevel level, java.util.function.Consumer<EventLog> body) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        body.accept(new EventLog(new PrintStream(b, true, StandardCharsets.UTF_8), CLOCK, level, journal));
        return b.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aTerminalLineHasTimestampLevelEventContextPairsAndMsgLast() {
        String out = logged(false, LogLevel.INFO, log -> log.with("source", "main")
                .info("segment_stored", "msg", "stored \"it\"\nfine", "name", "000000010000000000000003", "bytes", 16777216));
        assertEquals("ts=2026-11-23T10:00:01.250Z level=info event=segment_stored source=main name=000000010000000000000003 "
                + "bytes=16777216 msg=\"stored \\\"it\\\"\\nfine\"\n", out);
    }

    @Test
    void underJournaldEachLineStartsWithItsPriorityAndHasNoTimestamp() {
        String out = logged(true, LogLevel.DEBUG, log -> {
            log.error("a");
            log.warn("b");
            log.info("c");
            log.debug("d");
        });
        assertEquals("<3>event=a\n<4>event=b\n<6>event=c\n<7>event=d\n", out);
    }

    @Test
    void eventsBelowTheLevelAreDropped() {
        assertEquals("<4>event=b\n", logged(true, LogLevel.WARN, log -> {
            log.info("a");
            log.warn("b");
            log.debug("c");
        }));
    }

    @Test
    void secretsAreRedactedAndFailuresShowTheirCode() {
        String out = logged(false, LogLevel.INFO, log -> log.error("source_failed",
                "conninfo", "host=db password='s3 cret' user=holdfast", "uri", "redis://:hunter2@cache:6379",
                "secret_access_key", "AKIAxyz", "error", new HoldfastException(ErrorCode.SOURCE_UNAVAILABLE, "no server")));
        assertTrue(!out.contains("s3 cret") && !out.contains("hunter2") && !out.contains("AKIAxyz"), out);
        assertTrue(out.contains("conninfo=\"host=db password=**** user=holdfast\""), out);
        assertTrue(out.contains("uri=\"redis://:****@cache:6379\""), out);
        assertTrue(out.contains("error=\"source_unavailable: no server\""), out);
    }
}
