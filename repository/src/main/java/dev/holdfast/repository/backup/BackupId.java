package dev.holdfast.repository.backup;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A backup's id, {@code YYYYMMDDTHHMMSSZ-<type>[-<n>]} (docs/format.md section 12): the UTC
 * second it started, its type ({@code full}, {@code incr} or {@code logical}), and a counter from
 * 2 for backups started in the same second. Ids of one source sort by start time.
 */
public record BackupId(Instant startedAt, BackupType type, int sequence) implements Comparable<BackupId> {
    private static final Pattern FORM = Pattern.compile("(\\d{8}T\\d{6}Z)-(full|incr|logical)(?:-([2-9]|[1-9]\\d{1,3}))?");
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    public BackupId {
        startedAt = startedAt.truncatedTo(ChronoUnit.SECONDS);
        if (sequence < 1 || sequence > 9999) {
            throw new IllegalArgumentException("sequence out of range: " + sequence);
        }
    }

    /** The first id for a backup started at {@code startedAt}. */
    public static BackupId of(Instant startedAt, BackupType type) {
        return new BackupId(startedAt, type, 1);
    }

    /** The id to try when this one is taken (another backup started in the same second). */
    public BackupId next() {
        return new BackupId(startedAt, type, sequence + 1);
    }

    public static BackupId parse(String text) {
        Matcher m = FORM.matcher(text == null ? "" : text);
        if (!m.matches()) {
            throw new HoldfastException(ErrorCode.USAGE, "invalid backup id '" + text
                    + "': expected YYYYMMDDTHHMMSSZ-full, -incr or -logical, e.g. 20261123T090000Z-full");
        }
        Instant at;
        try {
            at = STAMP.parse(m.group(1), Instant::from);
        } catch (RuntimeException e) {
            throw new HoldfastException(ErrorCode.USAGE, "invalid backup id '" + text + "': not a valid UTC time");
        }
        return new BackupId(at, BackupType.parse(m.group(2)), m.group(3) == null ? 1 : Integer.parseInt(m.group(3)));
    }

    @Override
    public int compareTo(BackupId o) {
        int c = startedAt.compareTo(o.startedAt);
        if (c == 0) {
            c = Integer.compare(sequence, o.sequence);
        }
        return c != 0 ? c : type.compareTo(o.type);
    }

    @Override
    public String toString() {
        return STAMP.format(startedAt) + "-" + type.token() + (sequence == 1 ? "" : "-" + sequence);
    }
}
