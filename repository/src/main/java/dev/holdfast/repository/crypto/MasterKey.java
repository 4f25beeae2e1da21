package dev.holdfast.repository.crypto;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * One master key version (the key-encryption key). docs/format.md section 5.1.
 *
 * <p>The raw key never leaves this class except as the derived wrapping key; {@link #toString()}
 * prints only the id.
 */
public final class MasterKey {
    public static final int KEY_BYTES = 32;
    private static final byte[] ID_LABEL = "holdfast/v1/master-key-id".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] WRAP_INFO = "holdfast/v1/key-wrap".getBytes(StandardCharsets.US_ASCII);

    private final String id;
    private final Instant createdAt;
    private final byte[] key;

    MasterKey(byte[] key, Instant createdAt) {
        if (key.length != KEY_BYTES) {
            throw new IllegalArgumentException("a master key is " + KEY_BYTES + " bytes");
        }
        this.key = key.clone();
        this.createdAt = Objects.requireNonNull(createdAt, "createdAt");
        this.id = idOf(this.key);
    }

    /** The id derived from a key: {@code "mk-" || hex(HMAC-SHA256(key, label)[0..8])}. */
    static String idOf(byte[] key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] h = mac.doFinal(ID_LABEL);
            return "mk-" + HexFormat.of().formatHex(h, 0, 8);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    public String id() {
        return id;
    }

    public Instant createdAt() {
        return createdAt;
    }

    /** The AES key that wraps data keys, derived so the master key itself is never used directly. */
    byte[] wrappingKey() {
        return Hkdf.sha256(key, null, WRAP_INFO, 32);
    }

    /** Raw bytes, for the key file writer and the escrow export only. */
    byte[] exportBytes() {
        return key.clone();
    }

    @Override
    public String toString() {
        return "MasterKey[" + id + "]";
    }
}
