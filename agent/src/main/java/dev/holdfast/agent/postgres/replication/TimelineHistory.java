package dev.holdfast.agent.postgres.replication;

import java.nio.charset.StandardCharsets;

/**
 * A timeline history file as {@code TIMELINE_HISTORY} returns it: PostgreSQL's bytes, unchanged.
 *
 * @param fileName {@code TTTTTTTT.history}
 * @param content the file's bytes (the array is the caller's; not copied)
 */
public record TimelineHistory(String fileName, byte[] content) {
    /** The content as text (history files are ASCII). */
    public String text() {
        return new String(content, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "TimelineHistory[" + fileName + ", " + content.length + " bytes]";
    }
}
