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
 * </pre>
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

    public static String snapshotId(Instant at) {
        return ID.format(at);
    }
}
