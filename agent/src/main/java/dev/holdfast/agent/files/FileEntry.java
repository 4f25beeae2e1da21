package dev.holdfast.agent.files;

import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One entry of a files snapshot (docs/format.md, "Files"): an absolute path on the source host.
 *
 * @param path    absolute, normalised path (no {@code .}, {@code ..} or empty segments)
 * @param type    file, dir or symlink
 * @param mode    permission bits with set-uid, set-gid and sticky ({@code 07777}); 0 for symlinks
 * @param uid     numeric owner
 * @param gid     numeric group
 * @param owner   owner's name on the source host (or the number when it has none)
 * @param group   group's name on the source host (or the number)
 * @param mtime   modification time
 * @param size    bytes (files); 0 otherwise
 * @param content the content id (files), see {@link ContentIds}
 * @param target  the link's target as stored in the link (symlinks), never resolved
 * @param inode   inode number at snapshot time (change detection only, not restored)
 * @param ctime   status-change time at snapshot time (change detection only)
 */
public record FileEntry(String path, Type type, int mode, long uid, long gid, String owner, String group, Instant mtime, long size,
                        Optional<String> content, Optional<String> target, long inode, Instant ctime) {
    public enum Type {
        FILE("file"), DIR("dir"), SYMLINK("symlink");

        public final String token;

        Type(String token) {
            this.token = token;
        }

        static Type parse(String s) {
            for (Type t : values()) {
                if (t.token.equals(s)) {
                    return t;
                }
            }
            throw new IllegalArgumentException("unknown entry type '" + s + "'");
        }
    }

    public FileEntry {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(mtime, "mtime");
        Objects.requireNonNull(ctime, "ctime");
        if (type == Type.FILE && content.isEmpty()) {
            throw new IllegalArgumentException("a file entry needs its content id");
        }
        if (type == Type.SYMLINK && target.isEmpty()) {
            throw new IllegalArgumentException("a symlink entry needs its target");
        }
    }

    /** The same entry with another content id. */
    FileEntry withContent(String id) {
        return new FileEntry(path, type, mode, uid, gid, owner, group, mtime, size, Optional.of(id), target, inode, ctime);
    }

    /** Whether {@code o} records the same thing for a restore (ignores inode and ctime). */
    public boolean sameAs(FileEntry o) {
        return path.equals(o.path) && type == o.type && mode == o.mode && uid == o.uid && gid == o.gid && owner.equals(o.owner)
                && group.equals(o.group) && mtime.equals(o.mtime) && size == o.size && content.equals(o.content) && target.equals(o.target);
    }

    JsonObject toJson() {
        JsonObject j = new JsonObject().put("path", path).put("type", type.token).put("mode", String.format("%04o", mode))
                .put("uid", uid).put("gid", gid).put("owner", owner).put("group", group).put("mtime", mtime.toString());
        if (type == Type.FILE) {
            j.put("size", size).put("content", content.get());
        }
        target.ifPresent(t -> j.put("target", t));
        return j.put("inode", inode).put("ctime", ctime.toString());
    }

    static FileEntry fromJson(JsonObject j) {
        Type type = Type.parse(j.getString("type"));
        return new FileEntry(j.getString("path"), type, Integer.parseInt(j.getString("mode"), 8), j.getLong("uid"), j.getLong("gid"),
                j.getString("owner"), j.getString("group"), Instant.parse(j.getString("mtime")), j.getLong("size", 0L),
                Optional.ofNullable(j.getString("content")), Optional.ofNullable(j.getString("target")), j.getLong("inode", 0L),
                Instant.parse(j.getString("ctime", j.getString("mtime"))));
    }
}
