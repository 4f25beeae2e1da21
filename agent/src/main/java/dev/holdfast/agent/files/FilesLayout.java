package dev.holdfast.agent.files;

import dev.holdfast.repository.store.ObjectKey;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.regex.Pattern;

/**
 * Object names of the files source (docs/format.md, "Files"):
 * <pre>
 * files/blobs/&lt;cc&gt;/&lt;content id&gt;          one sealed blob per distinct content, shared by every source and host
 * files/&lt;source&gt;/snapshots/&lt;snapshot id&gt;   a sealed JSON manifest
 * files/&lt;source&gt;/tail/&lt;path id&gt;/&lt;gen&gt;/meta                 a tailed file's generation: sealed JSON
 * files/&lt;source&gt;/tail/&lt;path id&gt;/&lt;gen&gt;/&lt;start&gt;-&lt;end&gt;      bytes [start, end) of that generation
 * </pre>
 * A path id is 32 hex digits (a keyed hash of the path, {@link ContentIds#pathId}); {@code gen} is 8
 * decimal digits from {@code 00000001}; {@code start} and {@code end} are 16 decimal digits.
 * A content id is 64 lower-case hex digits (an HMAC-SHA-256, {@link ContentIds}); {@code cc} is its
 * first two. A snapshot id is the UTC time the snapshot began, {@code yyyyMMdd'T'HHmmss.SSS'Z'},
 * so that ids sort in time order.
 */
public final class FilesLayout {
    public static final String ROOT = "files/";
    public static final String BLOBS = "files/blobs/";
    private static final Pattern CONTENT_ID = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern SNAPSHOT_ID = Pattern.compile("[0-9]{8}T[0-9]{6}\\.[0-9]{3}Z");
    private static final DateTimeFormatter ID = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);

    private FilesLayout() {
    }

    public static boolean isContentId(String s) {
        return s != null && CONTENT_ID.matcher(s).matches();
    }

    public static boolean isSnapshotId(String s) {
        return s != null && SNAPSHOT_ID.matcher(s).matches();
    }

    /** The blob holding content {@code contentId}. */
    public static ObjectKey blob(String contentId) {
        if (!isContentId(contentId)) {
            throw new IllegalArgumentException("not a content id");
        }
        return ObjectKey.of(BLOBS + contentId.substring(0, 2) + "/" + contentId);
    }

    /** The prefix of a source's snapshot manifests (ends with '/'). */
    public static String snapshotsPrefix(String source) {
        return ROOT + source + "/snapshots/";
    }

    public static ObjectKey snapshot(String source, String id) {
        if (!isSnapshotId(id)) {
            throw new IllegalArgumentException("not a snapshot id: " + id);
        }
        return ObjectKey.of(snapshotsPrefix(source) + id);
    }

    /** The prefix of a source's tailed files (ends with '/'). */
    public static String tailPrefix(String source) {
        return ROOT + source + "/tail/";
    }

    public static ObjectKey tailMeta(String source, String pathId, int gen) {
        return ObjectKey.of(tailPrefix(source) + pathId + "/" + String.format("%08d", gen) + "/meta");
    }

    public static ObjectKey tailSegment(String source, String pathId, int gen, long start, long end) {
        return ObjectKey.of(tailPrefix(source) + pathId + "/" + String.format("%08d/%016d-%016d", gen, start, end));
    }

    /** A tail object's name parsed: path id, generation, and for a segment its range (else start = end = -1: the meta). */
    public record TailName(String pathId, int gen, long start, long end) {
        public boolean isMeta() {
            return start < 0;
        }
    }

    private static final Pattern TAIL = Pattern.compile("([0-9a-f]{32})/([0-9]{8})/(?:(meta)|([0-9]{16})-([0-9]{16}))");

    /** Parses a name under {@link #tailPrefix}; empty when it is not a tail object. */
    public static java.util.Optional<TailName> parseTail(String source, String key) {
        String prefix = tailPrefix(source);
        if (!key.startsWith(prefix)) {
            return java.util.Optional.empty();
        }
        var m = TAIL.matcher(key.substring(prefix.length()));
        if (!m.matches()) {
            return java.util.Optional.empty();
        }
        int gen = Integer.parseInt(m.group(2));
        if (m.group(3) != null) {
            return java.util.Optional.of(new TailName(m.group(1), gen, -1, -1));
        }
        long start = Long.parseLong(m.group(4));
        long end = Long.parseLong(m.group(5));
        return end > start ? java.util.Optional.of(new TailName(m.group(1), gen, start, end)) : java.util.Optional.empty();
    }

    public static String snapshotId(Instant at) {
        return ID.format(at);
    }
}
