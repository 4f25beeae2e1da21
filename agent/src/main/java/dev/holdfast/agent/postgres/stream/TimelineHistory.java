package dev.holdfast.agent.postgres.stream;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.wal.Lsn;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A parsed timeline history file ({@code 00000002.history}): for each ancestor timeline, the
 * position where it ended and the next began. Lines are {@code <parent tli> <tab> <switch LSN>
 * <tab> <reason>}; blank lines and {@code #} comments are skipped, as PostgreSQL does.
 */
record TimelineHistory(int timeline, List<Entry> entries) {
    /** Timeline {@code parent} ended at {@code switchPoint}. */
    record Entry(int parent, Lsn switchPoint) {
    }

    static TimelineHistory parse(int timeline, byte[] content) {
        List<Entry> entries = new ArrayList<>();
        for (String raw : new String(content, StandardCharsets.US_ASCII).split("\n")) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\\s+", 3);
            try {
                entries.add(new Entry(Integer.parseUnsignedInt(f[0]), Lsn.parse(f[1])));
            } catch (RuntimeException e) {
                throw new HoldfastException(ErrorCode.SOURCE_ERROR, "timeline " + timeline + " history has a malformed line: '" + line + "'");
            }
        }
        return new TimelineHistory(timeline, List.copyOf(entries));
    }

    /** Where timeline {@code tli} (an ancestor) ended; empty for this history's own timeline. */
    java.util.Optional<Lsn> endOf(int tli) {
        return entries.stream().filter(e -> e.parent() == tli).map(Entry::switchPoint).findFirst();
    }

    /** The timeline holding {@code lsn} in this history (the child of the last ancestor ending at or before it). */
    int timelineOf(Lsn lsn) {
        for (Entry e : entries) {
            if (lsn.compareTo(e.switchPoint()) < 0) {
                return e.parent();
            }
        }
        return timeline;
    }

    /** The timeline that follows {@code tli} in this history. */
    int childOf(int tli) {
        for (int i = 0; i < entries.size(); i++) {
            if (entries.get(i).parent() == tli) {
                return i + 1 < entries.size() ? entries.get(i + 1).parent() : timeline;
            }
        }
        return timeline;
    }
}
