package dev.holdfast.repository;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.seal.ObjectHeader;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * The repository's {@code config} object (docs/format.md section 4): plaintext, nothing secret.
 *
 * @param repositoryId     16 random bytes, bound into every envelope and object key
 * @param segmentSize      default plaintext bytes per segment for new objects
 * @param compressionLevel default zstd level for new objects
 */
public record RepositoryConfig(byte[] repositoryId, Instant createdAt, String createdBy, int segmentSize, int compressionLevel) {
    public static final String FORMAT = "holdfast-repository";
    public static final int VERSION = 1;
    public static final int DEFAULT_SEGMENT_SIZE = 1 << 20;
    public static final int DEFAULT_LEVEL = 3;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern ID = Pattern.compile("[0-9a-f]{32}");

    public RepositoryConfig {
        repositoryId = repositoryId.clone();
        if (repositoryId.length != 16) {
            throw new IllegalArgumentException("repository id is 16 bytes");
        }
        if (!ObjectHeader.validSegmentSize(segmentSize)) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "segment size must be a power of two from 64 KiB to 16 MiB, not " + segmentSize);
        }
        if (compressionLevel < 1 || compressionLevel > 19) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "compression level must be 1-19, not " + compressionLevel);
        }
    }

    public String repositoryIdHex() {
        return HexFormat.of().formatHex(repositoryId);
    }

    public byte[] toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("format", FORMAT);
        n.put("version", VERSION);
        n.put("repository_id", repositoryIdHex());
        n.put("created_at", createdAt.toString());
        n.put("created_by", createdBy);
        n.put("segment_size", segmentSize);
        n.put("compression_level", compressionLevel);
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(n);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Parses a config object; {@code where} names it in errors. */
    public static RepositoryConfig parse(byte[] bytes, String where) {
        JsonNode n;
        try {
            n = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + " is not valid JSON");
        }
        if (n == null || !FORMAT.equals(n.path("format").asText())) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + " is not a Holdfast repository config");
        }
        int version = n.path("version").asInt(-1);
        if (version != VERSION) {
            throw new HoldfastException(ErrorCode.FORMAT_UNSUPPORTED, "repository format version " + n.path("version")
                    + " (in " + where + ") is not supported; this build reads version " + VERSION);
        }
        String id = n.path("repository_id").asText("");
        if (!ID.matcher(id).matches()) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + " has a malformed repository_id");
        }
        Instant created;
        try {
            created = Instant.parse(n.path("created_at").asText(""));
        } catch (DateTimeParseException e) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + " has a malformed created_at");
        }
        return new RepositoryConfig(HexFormat.of().parseHex(id), created, n.path("created_by").asText(""),
                n.path("segment_size").asInt(DEFAULT_SEGMENT_SIZE), n.path("compression_level").asInt(DEFAULT_LEVEL));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RepositoryConfig c && java.util.Arrays.equals(toJson(), c.toJson());
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(toJson());
    }
}
