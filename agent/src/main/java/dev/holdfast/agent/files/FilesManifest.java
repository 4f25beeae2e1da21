package dev.holdfast.agent.files;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A files snapshot's manifest: sealed JSON at {@code files/<source>/snapshots/<id>}
 * (docs/format.md, "Files"). Entries are sorted by path.
 *
 * @param excluded secrets (and other files) left out, with the reason; paths only, never content
 */
public record FilesManifest(int format, String id, String source, String host, Instant startedAt, Instant finishedAt, List<String> paths,
                            List<String> exclude, List<FileEntry> entries, List<Excluded> excluded, long bytes) {
    public static final int FORMAT = 1;
    public static final String KIND = "files-snapshot";

    /** A path left out, and why ({@code secret: ...}, {@code unreadable: ...}, {@code changed while read}, {@code unsupported type}). */
    public record Excluded(String path, String reason) {
    }

    public FilesManifest {
        Objects.requireNonNull(id, "id");
        paths = List.copyOf(paths);
        exclude = List.copyOf(exclude);
        entries = List.copyOf(entries);
        excluded = List.copyOf(excluded);
    }

    /** Whether {@code o} would restore exactly the same tree (entries equal, ignoring inode and ctime). */
    public boolean sameTree(FilesManifest o) {
        if (entries.size() != o.entries.size()) {
            return false;
        }
        for (int i = 0; i < entries.size(); i++) {
            if (!entries.get(i).sameAs(o.entries.get(i))) {
                return false;
            }
        }
        return true;
    }

    public byte[] toBytes() {
        JsonArray es = new JsonArray();
        entries.forEach(e -> es.add(e.toJson()));
        JsonArray ex = new JsonArray();
        excluded.forEach(e -> ex.add(new JsonObject().put("path", e.path()).put("reason", e.reason())));
        JsonObject j = new JsonObject().put("format", format).put("kind", KIND).put("id", id).put("source", source).put("host", host)
                .put("started_at", startedAt.toString()).put("finished_at", finishedAt.toString()).put("paths", new JsonArray(paths))
                .put("exclude", new JsonArray(exclude)).put("bytes", bytes).put("entries", es).put("excluded", ex);
        return j.encode().getBytes(StandardCharsets.UTF_8);
    }

    public static FilesManifest parse(byte[] bytes, String what) {
        try {
            JsonObject j = new JsonObject(new String(bytes, StandardCharsets.UTF_8));
            if (!KIND.equals(j.getString("kind"))) {
                throw new IllegalArgumentException("not a files snapshot");
            }
            int format = j.getInteger("format");
            if (format != FORMAT) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, what + " has format " + format + ", this version reads " + FORMAT);
            }
            List<FileEntry> entries = new ArrayList<>();
            for (Object o : j.getJsonArray("entries")) {
                entries.add(FileEntry.fromJson((JsonObject) o));
            }
            List<Excluded> excluded = new ArrayList<>();
            for (Object o : j.getJsonArray("excluded", new JsonArray())) {
                JsonObject e = (JsonObject) o;
                excluded.add(new Excluded(e.getString("path"), e.getString("reason")));
            }
            return new FilesManifest(format, j.getString("id"), j.getString("source"), j.getString("host"), Instant.parse(j.getString("started_at")),
                    Instant.parse(j.getString("finished_at")), strings(j.getJsonArray("paths")), strings(j.getJsonArray("exclude")), entries,
                    excluded, j.getLong("bytes", 0L));
        } catch (HoldfastException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, what + " is not a valid files snapshot manifest: " + e.getMessage(), e);
        }
    }

    private static List<String> strings(JsonArray a) {
        List<String> l = new ArrayList<>();
        if (a != null) {
            a.forEach(o -> l.add((String) o));
        }
        return l;
    }
}
