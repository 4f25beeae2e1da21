package dev.holdfast.repository.wal;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A file name PostgreSQL archives or asks to restore ({@code %f}): a segment
 * ({@code 000000010000000000000003}), a timeline history file ({@code 00000002.history}), the
 * {@code .partial} copy of the last segment of a timeline that PostgreSQL archives on promotion, or
 * a backup history file ({@code 000000010000000000000003.00000028.backup}).
 *
 * <p>Anything else is refused: these names become object names, so only these forms can ever
 * reach the repository from {@code archive_command} or {@code restore_command}.
 */
public record WalFileName(Kind kind, String name, int timeline) {
    public enum Kind { SEGMENT, HISTORY, PARTIAL, BACKUP_HISTORY }

    private static final Pattern HISTORY = Pattern.compile("([0-9A-F]{8})\\.history");
    private static final Pattern PARTIAL = Pattern.compile("([0-9A-F]{24})\\.partial");
    private static final Pattern BACKUP = Pattern.compile("([0-9A-F]{24})\\.[0-9A-F]{8}\\.backup");

    public static WalFileName parse(String name) {
        if (WalSegmentName.matches(name)) {
            return new WalFileName(Kind.SEGMENT, name, WalSegmentName.parse(name).timeline());
        }
        Matcher m = HISTORY.matcher(name == null ? "" : name);
        if (m.matches()) {
            int tli = (int) Long.parseLong(m.group(1), 16);
            if (tli > 0) {
                return new WalFileName(Kind.HISTORY, name, tli);
            }
        }
        m = PARTIAL.matcher(name == null ? "" : name);
        if (m.matches()) {
            return new WalFileName(Kind.PARTIAL, name, WalSegmentName.parse(m.group(1)).timeline());
        }
        m = BACKUP.matcher(name == null ? "" : name);
        if (m.matches()) {
            return new WalFileName(Kind.BACKUP_HISTORY, name, WalSegmentName.parse(m.group(1)).timeline());
        }
        throw new HoldfastException(ErrorCode.USAGE, "'" + printable(name) + "' is not a WAL file name PostgreSQL archives"
                + " (a 24-hex-digit segment, TTTTTTTT.history, <segment>.partial or <segment>.XXXXXXXX.backup)");
    }

    public static String historyName(int timeline) {
        return String.format("%08X.history", timeline);
    }

    /** The segment this name is or belongs to; only for {@link Kind#SEGMENT} and {@link Kind#PARTIAL}. */
    public WalSegmentName segment() {
        if (kind == Kind.SEGMENT || kind == Kind.PARTIAL) {
            return WalSegmentName.parse(name.substring(0, 24));
        }
        throw new IllegalStateException(name + " is not a segment");
    }

    private static String printable(String s) {
        if (s == null) {
            return "null";
        }
        String t = s.length() > 80 ? s.substring(0, 80) + "..." : s;
        return t.replaceAll("[^\\x20-\\x7e]", "?");
    }

    @Override
    public String toString() {
        return name;
    }
}
