package dev.holdfast.repository.wal;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.store.ObjectKey;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where one PostgreSQL cluster's WAL lives in a repository: {@code wal/<source>/<system-id>/}.
 * docs/format.md, "WAL", is the specification.
 *
 * <ul>
 *   <li>{@code cluster.json}: the cluster descriptor ({@link WalClusterInfo}), written before any WAL;
 *   <li>{@code TTTTTTTTXXXXXXXXYYYYYYYY}: a complete segment;
 *   <li>{@code TTTTTTTTXXXXXXXXYYYYYYYY.part-SSSSSSSS-EEEEEEEE}: bytes [S, E) of a segment that was
 *       being filled (stream mode), offsets in hex;
 *   <li>{@code TTTTTTTT.history}, {@code <segment>.partial}, {@code <segment>.XXXXXXXX.backup}:
 *       PostgreSQL's own files under their own names.
 * </ul>
 *
 * <p>The system identifier is part of the path so that a cluster re-created under the same source
 * name (a new {@code initdb}) can never mix its WAL with the old one's.
 */
public final class WalLayout {
    public static final String ROOT = "wal";
    public static final String DESCRIPTOR = "cluster.json";
    private static final Pattern SOURCE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,62}");
    private static final Pattern SYSTEM_ID = Pattern.compile("[0-9]{1,20}");
    private static final Pattern PART = Pattern.compile("([0-9A-F]{24})\\.part-([0-9A-F]{8})-([0-9A-F]{8})");

    private final String source;
    private final String systemId;
    private final ObjectKey prefix;

    public WalLayout(String source, String systemId) {
        this.source = checkSource(source);
        if (systemId == null || !SYSTEM_ID.matcher(systemId).matches()) {
            throw new HoldfastException(ErrorCode.USAGE, "invalid PostgreSQL system identifier '" + systemId + "': expected decimal digits");
        }
        this.systemId = systemId;
        this.prefix = ObjectKey.of(ROOT + "/" + source + "/" + systemId);
    }

    /** Validates a source name (it becomes a path segment): 1-63 of {@code [A-Za-z0-9_-]}, starting alphanumeric. */
    public static String checkSource(String source) {
        if (source == null || !SOURCE.matcher(source).matches()) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID,
                    "invalid source name '" + source + "': expected 1-63 of [A-Za-z0-9_-], starting with a letter or digit");
        }
        return source;
    }

    /** {@code wal/<source>/}: every system identifier ever shipped under this source name. */
    public static String sourcePrefix(String source) {
        return ROOT + "/" + checkSource(source) + "/";
    }

    public String source() {
        return source;
    }

    public String systemId() {
        return systemId;
    }

    /** The listing prefix, with its trailing slash. */
    public String listPrefix() {
        return prefix + "/";
    }

    public ObjectKey descriptor() {
        return prefix.resolve(DESCRIPTOR);
    }

    public ObjectKey segment(WalSegmentName segment) {
        return prefix.resolve(segment.toString());
    }

    public ObjectKey history(int timeline) {
        return prefix.resolve(WalFileName.historyName(timeline));
    }

    /** A PostgreSQL file under its own name (archive mode, fetch). */
    public ObjectKey file(WalFileName file) {
        return prefix.resolve(file.name());
    }

    /** A stream-mode part holding bytes [start, end) of {@code segment}. */
    public ObjectKey part(WalSegmentName segment, long start, long end) {
        if (start < 0 || end <= start || end > 0xFFFFFFFFL) {
            throw new IllegalArgumentException("bad part range [" + start + ", " + end + ")");
        }
        return prefix.resolve(String.format("%s.part-%08X-%08X", segment, start, end));
    }

    /** The listing prefix of one segment's parts. */
    public String partPrefix(WalSegmentName segment) {
        return listPrefix() + segment + ".part-";
    }

    /**
     * Classifies an object found under {@link #listPrefix()}; {@code null} for names this version
     * does not know (they are left alone).
     */
    public WalObject classify(ObjectKey key, long storedSize, java.time.Instant lastModified) {
        String k = key.toString();
        if (!k.startsWith(listPrefix())) {
            return null;
        }
        String name = k.substring(listPrefix().length());
        if (name.contains("/")) {
            return null;
        }
        if (name.equals(DESCRIPTOR)) {
            return new WalObject(WalObject.Type.DESCRIPTOR, key, name, null, 0, 0, 0, storedSize, lastModified);
        }
        Matcher m = PART.matcher(name);
        if (m.matches()) {
            WalSegmentName seg = WalSegmentName.parse(m.group(1));
            long s = Long.parseLong(m.group(2), 16);
            long e = Long.parseLong(m.group(3), 16);
            if (e <= s) {
                return null;
            }
            return new WalObject(WalObject.Type.PART, key, name, seg, seg.timeline(), s, e, storedSize, lastModified);
        }
        WalFileName file;
        try {
            file = WalFileName.parse(name);
        } catch (HoldfastException e) {
            return null;
        }
        WalObject.Type type = switch (file.kind()) {
            case SEGMENT -> WalObject.Type.SEGMENT;
            case HISTORY -> WalObject.Type.HISTORY;
            case PARTIAL -> WalObject.Type.PG_PARTIAL;
            case BACKUP_HISTORY -> WalObject.Type.BACKUP_HISTORY;
        };
        WalSegmentName seg = file.kind() == WalFileName.Kind.SEGMENT || file.kind() == WalFileName.Kind.PARTIAL ? file.segment() : null;
        return new WalObject(type, key, name, seg, file.timeline(), 0, 0, storedSize, lastModified);
    }

    @Override
    public String toString() {
        return listPrefix();
    }
}
