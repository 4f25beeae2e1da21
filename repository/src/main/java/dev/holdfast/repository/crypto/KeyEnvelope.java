package dev.holdfast.repository.crypto;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.store.ObjectKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A data key wrapped by a master key: the bytes of {@code keys/<master-key-id>/dk-<NNNNNNNN>}.
 * docs/format.md section 5.2.
 */
public final class KeyEnvelope {
    static final String FORMAT = "holdfast-key-envelope";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern NAME = Pattern.compile("keys/(mk-[0-9a-f]{16})/dk-(\\d{8})(\\.copy)?");

    private KeyEnvelope() {
    }

    /** Where the envelope of {@code version} under {@code masterKeyId} lives. */
    public static ObjectKey name(String masterKeyId, int version) {
        return ObjectKey.of(String.format("keys/%s/dk-%08d", masterKeyId, version));
    }

    public static ObjectKey copyName(String masterKeyId, int version) {
        return ObjectKey.of(name(masterKeyId, version).value() + ".copy");
    }

    /** A parsed envelope name. */
    public record Name(String masterKeyId, int dataKeyVersion, boolean copy) {
    }

    /** Parses an envelope's object name; empty for anything else under {@code keys/}. */
    public static Optional<Name> parseName(ObjectKey key) {
        Matcher m = NAME.matcher(key.value());
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(new Name(m.group(1), Integer.parseInt(m.group(2)), m.group(3) != null));
    }

    /** Wraps {@code dataKey} under {@code master} for the repository {@code repositoryId} (16 bytes). */
    public static byte[] wrap(DataKey dataKey, MasterKey master, byte[] repositoryId, Instant now, SecureRandom random) {
        byte[] nonce = new byte[Gcm.NONCE_BYTES];
        random.nextBytes(nonce);
        ByteBuffer out = ByteBuffer.allocate(DataKey.KEY_BYTES + Gcm.TAG_BYTES);
        Gcm.get().encrypt(master.wrappingKey(), nonce, aad(repositoryId, master.id(), dataKey.version()),
                ByteBuffer.wrap(dataKey.rawBytes()), out);
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", 1);
        root.put("repository_id", HexFormat.of().formatHex(repositoryId));
        root.put("master_key_id", master.id());
        root.put("data_key_version", dataKey.version());
        root.put("created_at", now.toString());
        root.put("nonce", Base64.getEncoder().encodeToString(nonce));
        root.put("wrapped", Base64.getEncoder().encodeToString(out.array()));
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Unwraps the envelope stored at {@code name}. The master key id and version come from the
     * name, the repository id from the repository's config: never from the envelope's own fields.
     */
    public static DataKey unwrap(byte[] envelope, Name name, MasterKey master, byte[] repositoryId) {
        if (!master.id().equals(name.masterKeyId())) {
            throw new IllegalArgumentException("envelope is for " + name.masterKeyId() + ", not " + master.id());
        }
        String where = "key envelope keys/" + name.masterKeyId() + "/dk-" + String.format("%08d", name.dataKeyVersion())
                + (name.copy() ? ".copy" : "");
        JsonNode root;
        try {
            root = JSON.readTree(envelope);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + " is not valid JSON");
        }
        if (root == null || !FORMAT.equals(root.path("format").asText())) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + " is not a key envelope");
        }
        if (root.path("version").asInt(-1) != 1) {
            throw new HoldfastException(ErrorCode.FORMAT_UNSUPPORTED, where + " has envelope version " + root.path("version")
                    + "; this build reads version 1");
        }
        byte[] nonce;
        byte[] wrapped;
        try {
            nonce = Base64.getDecoder().decode(root.path("nonce").asText(""));
            wrapped = Base64.getDecoder().decode(root.path("wrapped").asText(""));
        } catch (IllegalArgumentException e) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + " has malformed base64");
        }
        if (nonce.length != Gcm.NONCE_BYTES || wrapped.length != DataKey.KEY_BYTES + Gcm.TAG_BYTES) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, where + " has fields of the wrong length");
        }
        ByteBuffer out = ByteBuffer.allocate(DataKey.KEY_BYTES);
        Gcm.get().decrypt(master.wrappingKey(), nonce, aad(repositoryId, master.id(), name.dataKeyVersion()),
                ByteBuffer.wrap(wrapped), out, where);
        return new DataKey(name.dataKeyVersion(), out.array());
    }

    private static byte[] aad(byte[] repositoryId, String masterKeyId, int version) {
        return ("holdfast/v1/key-envelope|" + HexFormat.of().formatHex(repositoryId) + "|" + masterKeyId + "|" + version)
                .getBytes(StandardCharsets.US_ASCII);
    }
}
