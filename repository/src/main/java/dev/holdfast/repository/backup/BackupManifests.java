package dev.holdfast.repository.backup;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.IOException;

/**
 * What is common to every kind of manifest under {@code backups/}: enough to tell a physical base
 * backup's ({@link BackupManifest}) from a logical dump's ({@link LogicalManifest}) before reading
 * it in full, so that {@code list} and {@code verify} can dispatch on it.
 */
public final class BackupManifests {
    private static final ObjectMapper JSON = new ObjectMapper();

    private BackupManifests() {
    }

    /**
     * The {@code "type"} of a manifest's (unsealed) JSON. Checks nothing else: the caller then reads
     * it with {@link BackupManifest#fromJson} or {@link LogicalManifest#fromJson}, which validate.
     *
     * @throws HoldfastException {@code format_unsupported} for a newer format; {@code integrity_failure}
     *                           when it is not JSON or has no known type
     */
    public static BackupType typeOf(byte[] json) {
        JsonNode n = parse(json, "manifest");
        if (n.path("format").asInt(-1) > BackupManifest.FORMAT) {
            throw new HoldfastException(ErrorCode.FORMAT_UNSUPPORTED, "manifest format " + n.path("format")
                    + " (this build reads " + BackupManifest.FORMAT + ")");
        }
        JsonNode type = n.get("type");
        if (type == null || !type.isTextual()) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "manifest: 'type' is missing or not a string");
        }
        try {
            return BackupType.parse(type.asText());
        } catch (HoldfastException e) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "manifest: unknown type '" + type.asText() + "'");
        }
    }

    /** Parses a manifest's JSON into a tree; {@code integrity_failure} naming {@code where} when it is not a JSON object. */
    static JsonNode parse(byte[] bytes, String where) {
        JsonNode n;
        try {
            n = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + ": the manifest is not valid JSON", e);
        }
        if (n == null || !n.isObject()) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + ": the manifest is not a JSON object");
        }
        return n;
    }
}
