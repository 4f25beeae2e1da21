package dev.holdfast.repository.crypto;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

/**
 * A repository data key: 32 random bytes with a version. Objects are never encrypted with it
 * directly; each object's key is derived from it with the object's random salt
 * (docs/format.md section 5.6). {@link #toString()} prints only the version.
 */
public final class DataKey {
    public static final int KEY_BYTES = 32;
    private static final byte[] OBJECT_KEY_INFO = "holdfast/v1/object-key".getBytes(StandardCharsets.US_ASCII);

    private final int version;
    private final byte[] key;

    DataKey(int version, byte[] key) {
        if (version < 1) {
            throw new IllegalArgumentException("data key versions start at 1");
        }
        if (key.length != KEY_BYTES) {
            throw new IllegalArgumentException("a data key is " + KEY_BYTES + " bytes");
        }
        this.version = version;
        this.key = key.clone();
    }

    public static DataKey generate(int version, SecureRandom random) {
        byte[] k = new byte[KEY_BYTES];
        random.nextBytes(k);
        return new DataKey(version, k);
    }

    public int version() {
        return version;
    }

    /** The per-object AES key for an object with {@code salt} in a repository with {@code repositoryId}. */
    public byte[] objectKey(byte[] salt, byte[] repositoryId) {
        byte[] info = new byte[OBJECT_KEY_INFO.length + repositoryId.length];
        System.arraycopy(OBJECT_KEY_INFO, 0, info, 0, OBJECT_KEY_INFO.length);
        System.arraycopy(repositoryId, 0, info, OBJECT_KEY_INFO.length, repositoryId.length);
        return Hkdf.sha256(key, salt, info, 32);
    }

    /**
     * A purpose key: HKDF-SHA256 of this data key with no salt and info
     * {@code "holdfast/v1/" + purpose} followed by the repository id (docs/format.md, "Files":
     * the content-id key). Distinct purposes give independent keys; none of them is an object key.
     */
    public byte[] purposeKey(String purpose, byte[] repositoryId) {
        byte[] p = ("holdfast/v1/" + purpose).getBytes(StandardCharsets.US_ASCII);
        byte[] info = new byte[p.length + repositoryId.length];
        System.arraycopy(p, 0, info, 0, p.length);
        System.arraycopy(repositoryId, 0, info, p.length, repositoryId.length);
        return Hkdf.sha256(key, null, info, 32);
    }

    byte[] rawBytes() {
        return key;
    }

    @Override
    public String toString() {
        return "DataKey[v" + version + "]";
    }
}
