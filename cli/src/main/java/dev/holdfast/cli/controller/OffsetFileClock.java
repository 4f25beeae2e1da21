package dev.holdfast.cli.controller;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;

/**
 * A test hook ({@code HOLDFAST_TEST_CLOCK_OFFSET_FILE}): the base clock plus a number of seconds
 * read from a file, re-read at most every 100 ms. A missing or unparsable file means no offset.
 * Process tests move a running controller's time to a scheduled slot with it; production never
 * sets the variable.
 */
final class OffsetFileClock extends Clock {
    private final Clock base;
    private final Path file;
    private volatile long offsetMillis;
    private volatile long readAt;
    private volatile boolean read;

    OffsetFileClock(Clock base, Path file) {
        this.base = base;
        this.file = file;
    }

    @Override
    public ZoneId getZone() {
        return base.getZone();
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return new OffsetFileClock(base.withZone(zone), file);
    }

    @Override
    public Instant instant() {
        long now = base.millis();
        if (!read || now - readAt >= 100 || now < readAt) {
            read = true;
            readAt = now;
            try {
                offsetMillis = (long) (Double.parseDouble(Files.readString(file, StandardCharsets.US_ASCII).trim()) * 1000);
            } catch (IOException | NumberFormatException e) {
                offsetMillis = 0;
            }
        }
        return base.instant().plusMillis(offsetMillis);
    }
}
