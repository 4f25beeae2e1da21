package dev.holdfast.repository.backup;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.wal.Lsn;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A base backup's manifest (docs/format.md section 12): what was copied, where each file's bytes
 * are, and the WAL range that makes the copy consistent. Immutable; {@link #toJson()} and
 * {@link #fromJson} are the on-bucket form, and both validate, so a manifest that names an unsafe
 * path or an impossible range can be neither written nor read.
 */
public record BackupManifest(BackupId id, Optional<String> tag, Optional<BackupId> parent, String source, String systemId,
                             int serverVersionNum, long walSegmentSize, int timeline, Lsn startLsn, Lsn stopLsn,
                             Instant startedAt, Instant finishedAt, String backupLabel, Optional<String> tablespaceMap,
                             List<Tablespace> tablespaces, List<String> directories, List<FileEntry> files, long storedBytes) {
    public static final int FORMAT = 1;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern HEX = Pattern.compile("[0-9a-f]+");
    private static final Pattern PACK = Pattern.compile("pack-\\d{6}");

    /** A tablespace: its OID (the link name under {@code pg_tblspc/}) and where it was on the source host. */
    public record Tablespace(long oid, String location) {
    }

    /**
     * One file. Its bytes are {@code size} bytes at {@code offset} in pack {@code pack} of backup
     * {@code from} (this backup when empty).
     */
    public record FileEntry(String path, long size, Instant mtime, int mode, String crc32c, String sha256, Optional<BackupId> from,
                            String pack, long offset) {
    }

    public BackupManifest {
        tablespaces = List.copyOf(tablespaces);
        directories = List.copyOf(directories);
        files = List.copyOf(files);
        validate(id, parent, startLsn, stopLsn, directories, files);
    }

    /** The sum of the files' sizes. */
    public long bytes() {
        long n = 0;
        for (FileEntry f : files) {
            n += f.size();
        }
        return n;
    }

    private static void validate(BackupId id, Optional<BackupId> parent, Lsn start, Lsn stop, List<String> directories,
                                 List<FileEntry> files) {
        if (!id.type().physical()) {
            throw invalid(id, "it is a logical dump, whose manifest is a LogicalManifest");
        }
        if (id.type() == BackupType.INCR && parent.isEmpty()) {
            throw invalid(id, "an incremental backup names its parent");
        }
        if (id.type() == BackupType.FULL && parent.isPresent()) {
            throw invalid(id, "a full backup has no parent");
        }
        if (parent.isPresent() && parent.get().compareTo(id) >= 0) {
            throw invalid(id, "its parent " + parent.get() + " is not older");
        }
        if (!start.isValid() || stop.compareTo(start) < 0) {
            throw invalid(id, "the WAL range " + start + " - " + stop + " is impossible");
        }
        for (String d : directories) {
            checkPath(id, d);
        }
        Set<String> seen = new HashSet<>();
        for (FileEntry f : files) {
            checkPath(id, f.path());
            if (!seen.add(f.path())) {
                throw invalid(id, "file '" + f.path() + "' is listed twice");
            }
            if (f.size() < 0 || f.offset() < 0) {
                throw invalid(id, "file '" + f.path() + "' has a negative size or offset");
            }
            if (!PACK.matcher(f.pack()).matches()) {
                throw invalid(id, "file '" + f.path() + "' names pack '" + f.pack() + "'");
            }
            if (f.crc32c().length() != 8 || !HEX.matcher(f.crc32c()).matches()
                    || f.sha256().length() != 64 || !HEX.matcher(f.sha256()).matches()) {
                throw invalid(id, "file '" + f.path() + "' has malformed checksums");
            }
            if (f.from().isPresent() && (id.type() == BackupType.FULL || f.from().get().compareTo(id) >= 0)) {
                throw invalid(id, "file '" + f.path() + "' refers to backup " + f.from().get() + ", which this one cannot");
            }
        }
    }

    /**
     * A path relative to the data directory: {@code /}-separated segments, none empty, {@code .} or
     * {@code ..}, no NUL or control character. A restore writes only such paths, below its target.
     */
    static void checkPath(BackupId id, String path) {
        if (path == null || path.isEmpty() || path.startsWith("/") || path.endsWith("/") || path.length() > 4096) {
            throw invalid(id, "path '" + path + "' is not a relative path");
        }
        for (String seg : path.split("/", -1)) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) {
                throw invalid(id, "path '" + path + "' has an empty, '.' or '..' segment");
            }
        }
        for (int i = 0; i < path.length(); i++) {
            if (path.charAt(i) < 0x20 || path.charAt(i) == 0x7f) {
                throw invalid(id, "path has a control character");
            }
        }
    }

    private static HoldfastException invalid(BackupId id, String what) {
        return new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "backup " + id + ": manifest invalid: " + what);
    }

    public byte[] toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("format", FORMAT);
        n.put("id", id.toString());
        n.put("type", id.type().token());
        putOptional(n, "tag", tag);
        putOptional(n, "parent", parent.map(BackupId::toString));
        n.put("source", source);
        n.put("system_identifier", systemId);
        n.put("server_version_num", serverVersionNum);
        n.put("wal_segment_size", walSegmentSize);
        n.put("timeline", timeline);
        n.put("start_lsn", startLsn.toString());
        n.put("stop_lsn", stopLsn.toString());
        n.put("started_at", startedAt.toString());
        n.put("finished_at", finishedAt.toString());
        n.put("backup_label", backupLabel);
        putOptional(n, "tablespace_map", tablespaceMap);
        ArrayNode ts = n.putArray("tablespaces");
        for (Tablespace t : tablespaces) {
            ts.addObject().put("oid", t.oid()).put("location", t.location());
        }
        ArrayNode ds = n.putArray("directories");
        directories.forEach(ds::add);
        n.put("bytes", bytes());
        n.put("stored_bytes", storedBytes);
        ArrayNode fs = n.putArray("files");
        for (FileEntry f : files) {
            ObjectNode o = fs.addObject();
            o.put("path", f.path()).put("size", f.size()).put("mtime", f.mtime().toString()).put("mode", f.mode())
                    .put("crc32c", f.crc32c()).put("sha256", f.sha256());
            f.from().ifPresent(b -> o.put("from", b.toString()));
            o.put("pack", f.pack()).put("offset", f.offset());
        }
        return (n.toString() + "\n").getBytes(StandardCharsets.UTF_8);
    }

    private static void putOptional(ObjectNode n, String key, Optional<String> value) {
        if (value.isPresent()) {
            n.put(key, value.get());
        } else {
            n.putNull(key);
        }
    }

    /** Reads a manifest; {@code where} names it in errors. Fails with {@code format_unsupported} for a newer format. */
    public static BackupManifest fromJson(byte[] bytes, String where) {
        JsonNode n;
        try {
            n = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + ": the manifest is not valid JSON", e);
        }
        int format = n.path("format").asInt(-1);
        if (format != FORMAT) {
            throw new HoldfastException(ErrorCode.FORMAT_UNSUPPORTED, where + ": manifest format " + n.path("format")
                    + " (this build reads " + FORMAT + ")");
        }
        if (BackupType.LOGICAL.token().equals(n.path("type").asText())) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + ": a logical dump's manifest, not a base backup's"
                    + " (dispatch on BackupManifests.typeOf)");
        }
        try {
            BackupId id = BackupId.parse(text(n, "id"));
            if (!id.type().token().equals(text(n, "type"))) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + ": type and id disagree");
            }
            List<Tablespace> ts = new ArrayList<>();
            for (JsonNode t : n.path("tablespaces")) {
                ts.add(new Tablespace(t.path("oid").asLong(), text(t, "location")));
            }
            List<String> dirs = new ArrayList<>();
            for (JsonNode d : n.path("directories")) {
                dirs.add(d.asText());
            }
            List<FileEntry> files = new ArrayList<>();
            for (JsonNode f : n.path("files")) {
                files.add(new FileEntry(text(f, "path"), f.path("size").asLong(-1), Instant.parse(text(f, "mtime")), f.path("mode").asInt(),
                        text(f, "crc32c"), text(f, "sha256"), optional(f, "from").map(BackupId::parse), text(f, "pack"),
                        f.path("offset").asLong(-1)));
            }
            BackupManifest m = new BackupManifest(id, optional(n, "tag"), optional(n, "parent").map(BackupId::parse), text(n, "source"),
                    text(n, "system_identifier"), n.path("server_version_num").asInt(), n.path("wal_segment_size").asLong(),
                    n.path("timeline").asInt(), Lsn.parse(text(n, "start_lsn")), Lsn.parse(text(n, "stop_lsn")),
                    Instant.parse(text(n, "started_at")), Instant.parse(text(n, "finished_at")), text(n, "backup_label"),
                    optional(n, "tablespace_map"), ts, dirs, files, n.path("stored_bytes").asLong());
            if (n.path("bytes").asLong(-1) != m.bytes()) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + ": 'bytes' is not the sum of the files' sizes");
            }
            return m;
        } catch (HoldfastException e) {
            throw e.code() == ErrorCode.INTEGRITY_FAILURE ? e
                    : new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + ": the manifest is malformed: " + e.getMessage(), e);
        }
    }

    /** A required string field (manifests of every type read their fields through these two). */
    static String text(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.isTextual()) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "'" + key + "' is missing or not a string");
        }
        return v.asText();
    }

    /** An optional string field: empty when missing or null. */
    static Optional<String> optional(JsonNode n, String key) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v.asText());
    }
}
