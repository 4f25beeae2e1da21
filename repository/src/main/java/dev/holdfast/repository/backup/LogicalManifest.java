package dev.holdfast.repository.backup;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
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
 * A logical dump's manifest (docs/format.md section 12.1): one {@code pg_dump --format=custom}
 * object per database, with the plaintext size and SHA-256 a restore checks before it hands the
 * dump to {@code pg_restore}. Immutable; {@link #toJson()} and {@link #fromJson} are the on-bucket
 * form and both validate, so a manifest naming an unsafe database or object name, or claiming
 * totals its entries do not add up to, can be neither written nor read.
 *
 * @param id               the backup's id; its type is {@link BackupType#LOGICAL}
 * @param tag              the operator's label ({@code --tag}); printable, at most 128 characters
 * @param source           the source's name
 * @param systemId         the dumped cluster's system identifier (decimal)
 * @param serverVersionNum the server's {@code server_version_num}
 * @param startedAt        when the first {@code pg_dump} started
 * @param finishedAt       when the last one finished
 * @param databases        the dumps, in the order they were taken; names unique, at least one
 */
public record LogicalManifest(BackupId id, Optional<String> tag, String source, String systemId, int serverVersionNum,
                              Instant startedAt, Instant finishedAt, List<Database> databases) {
    public static final int FORMAT = 1;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern DUMP = Pattern.compile("dump-\\d{6}");

    /**
     * One database's dump.
     *
     * @param name        the database's name on the source (a PostgreSQL identifier: 1-63 bytes, no control character)
     * @param object      the dump's object under the backup's prefix, {@code dump-NNNNNN}
     * @param bytes       the dump's plaintext size (what {@code pg_dump} wrote)
     * @param storedBytes the sealed object's size in the store
     * @param sha256      the SHA-256 of the plaintext, lower-case hex
     * @param encoding    the database's encoding ({@code pg_encoding_to_char}), used when a restore creates its target
     * @param collate     the database's {@code datcollate}
     * @param ctype       the database's {@code datctype}
     */
    public record Database(String name, String object, long bytes, long storedBytes, String sha256, String encoding, String collate,
                           String ctype) {
    }

    public LogicalManifest {
        databases = List.copyOf(databases);
        validate(id, tag, source, systemId, startedAt, finishedAt, databases);
    }

    /** The sum of the dumps' plaintext sizes. */
    public long bytes() {
        return databases.stream().mapToLong(Database::bytes).sum();
    }

    /** The sum of the dumps' stored sizes. */
    public long storedBytes() {
        return databases.stream().mapToLong(Database::storedBytes).sum();
    }

    /** The dump of database {@code name}, if this backup has one. */
    public Optional<Database> database(String name) {
        return databases.stream().filter(d -> d.name().equals(name)).findFirst();
    }

    /** The names of the dumped databases, in manifest order. */
    public List<String> databaseNames() {
        return databases.stream().map(Database::name).toList();
    }

    private static void validate(BackupId id, Optional<String> tag, String source, String systemId, Instant startedAt,
                                 Instant finishedAt, List<Database> databases) {
        if (id.type() != BackupType.LOGICAL) {
            throw invalid(id, "its id is not a logical dump's");
        }
        tag.ifPresent(t -> checkTag(id, t));
        try {
            new BackupLayout(source, systemId, id); // the source and system id become path segments
        } catch (HoldfastException e) {
            throw invalid(id, e.getMessage());
        }
        if (finishedAt.isBefore(startedAt)) {
            throw invalid(id, "it finished before it started");
        }
        if (databases.isEmpty()) {
            throw invalid(id, "it lists no database");
        }
        Set<String> names = new HashSet<>();
        Set<String> objects = new HashSet<>();
        for (Database d : databases) {
            checkDatabaseName(id, d.name());
            if (!names.add(d.name())) {
                throw invalid(id, "database '" + d.name() + "' is listed twice");
            }
            if (d.object() == null || !DUMP.matcher(d.object()).matches() || !objects.add(d.object())) {
                throw invalid(id, "database '" + d.name() + "' names object '" + d.object() + "' (expected a dump-NNNNNN of its own)");
            }
            if (d.bytes() < 0 || d.storedBytes() < 0) {
                throw invalid(id, "database '" + d.name() + "' has a negative size");
            }
            if (d.sha256() == null || !SHA256.matcher(d.sha256()).matches()) {
                throw invalid(id, "database '" + d.name() + "' has a malformed sha256");
            }
            for (String setting : new String[] {d.encoding(), d.collate(), d.ctype()}) {
                if (setting == null || !printable(setting, 128)) {
                    throw invalid(id, "database '" + d.name() + "' has a malformed encoding or locale");
                }
            }
        }
    }

    /**
     * A database name a restore may pass to {@code pg_restore} and quote into SQL: 1-63 bytes
     * (PostgreSQL's NAMEDATALEN - 1) without control characters.
     */
    public static void checkDatabaseName(BackupId id, String name) {
        if (name == null || name.isEmpty() || name.getBytes(StandardCharsets.UTF_8).length > 63 || !printable(name, 63)) {
            throw invalid(id, "database name '" + (name == null ? null : name.replaceAll("\\p{Cntrl}", "?"))
                    + "' is not 1-63 bytes of printable characters");
        }
    }

    private static void checkTag(BackupId id, String tag) {
        if (tag.isEmpty() || !printable(tag, 128)) {
            throw invalid(id, "the tag is not 1-128 printable characters");
        }
    }

    private static boolean printable(String s, int max) {
        if (s.length() > max) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                return false;
            }
        }
        return true;
    }

    private static HoldfastException invalid(BackupId id, String what) {
        return new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "backup " + id + ": manifest invalid: " + what);
    }

    public byte[] toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("format", FORMAT);
        n.put("id", id.toString());
        n.put("type", id.type().token());
        if (tag.isPresent()) {
            n.put("tag", tag.get());
        } else {
            n.putNull("tag");
        }
        n.put("source", source);
        n.put("system_identifier", systemId);
        n.put("server_version_num", serverVersionNum);
        n.put("started_at", startedAt.toString());
        n.put("finished_at", finishedAt.toString());
        n.put("bytes", bytes());
        n.put("stored_bytes", storedBytes());
        ArrayNode ds = n.putArray("databases");
        for (Database d : databases) {
            ds.addObject().put("name", d.name()).put("object", d.object()).put("bytes", d.bytes()).put("stored_bytes", d.storedBytes())
                    .put("sha256", d.sha256()).put("encoding", d.encoding()).put("collate", d.collate()).put("ctype", d.ctype());
        }
        return (n.toString() + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Reads a logical manifest; {@code where} names it in errors. Fails with
     * {@code format_unsupported} for a newer format and {@code integrity_failure} for anything
     * malformed, inconsistent or unsafe (including a physical backup's manifest).
     */
    public static LogicalManifest fromJson(byte[] bytes, String where) {
        JsonNode n = BackupManifests.parse(bytes, where);
        int format = n.path("format").asInt(-1);
        if (format != FORMAT) {
            throw new HoldfastException(ErrorCode.FORMAT_UNSUPPORTED, where + ": manifest format " + n.path("format")
                    + " (this build reads " + FORMAT + ")");
        }
        try {
            BackupId id = BackupId.parse(BackupManifest.text(n, "id"));
            if (!id.type().token().equals(BackupManifest.text(n, "type"))) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + ": type and id disagree");
            }
            List<Database> dbs = new ArrayList<>();
            for (JsonNode d : n.path("databases")) {
                dbs.add(new Database(BackupManifest.text(d, "name"), BackupManifest.text(d, "object"), d.path("bytes").asLong(-1), d.path("stored_bytes").asLong(-1),
                        BackupManifest.text(d, "sha256"), BackupManifest.text(d, "encoding"), BackupManifest.text(d, "collate"), BackupManifest.text(d, "ctype")));
            }
            LogicalManifest m = new LogicalManifest(id, BackupManifest.optional(n, "tag"),
                    BackupManifest.text(n, "source"), BackupManifest.text(n, "system_identifier"), n.path("server_version_num").asInt(),
                    Instant.parse(BackupManifest.text(n, "started_at")), Instant.parse(BackupManifest.text(n, "finished_at")), dbs);
            if (n.path("bytes").asLong(-1) != m.bytes() || n.path("stored_bytes").asLong(-1) != m.storedBytes()) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + ": 'bytes' or 'stored_bytes' is not the sum of the databases'");
            }
            return m;
        } catch (HoldfastException e) {
            throw e.code() == ErrorCode.INTEGRITY_FAILURE ? e
                    : new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + ": the manifest is malformed: " + e.getMessage(), e);
        }
    }
}
