package dev.holdfast.repository.wal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * The cluster descriptor, {@code wal/<source>/<system-id>/cluster.json} (sealed JSON): what a
 * reader needs before it can interpret the WAL objects beside it, above all the segment size (a
 * partial segment is padded to it on fetch). Written create-if-absent before the first WAL object;
 * an existing descriptor that disagrees is an error, never overwritten.
 */
public record WalClusterInfo(String systemId, long walSegmentSize, int serverVersionNum) {
    public static final int FORMAT = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    public WalClusterInfo {
        WalSegmentName.checkSize(walSegmentSize);
    }

    public byte[] toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("format", FORMAT);
        n.put("system_identifier", systemId);
        n.put("wal_segment_size", walSegmentSize);
        n.put("server_version_num", serverVersionNum);
        return (n.toString() + "\n").getBytes(StandardCharsets.UTF_8);
    }

    public static WalClusterInfo fromJson(byte[] bytes, String where) {
        try {
            JsonNode n = JSON.readTree(bytes);
            int format = n.path("format").asInt(-1);
            if (format != FORMAT) {
                throw new HoldfastException(ErrorCode.FORMAT_UNSUPPORTED,
                        where + ": cluster descriptor format " + n.path("format") + " (this build reads " + FORMAT + ")");
            }
            return new WalClusterInfo(n.path("system_identifier").asText(), n.path("wal_segment_size").asLong(),
                    n.path("server_version_num").asInt());
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + ": cluster descriptor is not valid JSON", e);
        }
    }

    /** Whether two descriptors describe the same cluster (the server version may move within a major). */
    public boolean compatibleWith(WalClusterInfo other) {
        return systemId.equals(other.systemId) && walSegmentSize == other.walSegmentSize
                && serverVersionNum / 10000 == other.serverVersionNum / 10000;
    }
}
