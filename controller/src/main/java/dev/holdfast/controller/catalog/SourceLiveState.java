package dev.holdfast.controller.catalog;

import java.time.Instant;
import java.util.Optional;

/**
 * A source's live state as of a heartbeat. @param reportedAt when the controller received it
 * @param rpoSeconds seconds since the last durable WAL/AOF byte, -1 unknown @param lagSeconds -1 unknown
 * @param lastDurableLsn X/X or "" @param lastDurableAt when the last WAL became durable
 * @param state streaming | archiving | idle | failing @param detail human text
 */
public record SourceLiveState(Instant reportedAt, double rpoSeconds, double lagSeconds, String lastDurableLsn,
                              Optional<Instant> lastDurableAt, String state, String detail) {
}
