package dev.holdfast.repository.seal;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.nio.ByteBuffer;
import java.security.SecureRandom;

/**
 * The 56-byte plaintext header of a sealed object (docs/format.md section 6.1).
 *
 * @param compression     0 none, 1 zstd: the writer's intent
 * @param dataKeyVersion  which data key the object key derives from
 * @param segmentSize     plaintext bytes per data segment
 * @param sha256          whether the footer carries the plaintext's SHA-256 (flags bit 0), so a
 *                        reader knows before reading whether it must hash
 * @param salt            32 random bytes for the object key's derivation
 * @param noncePrefix     7 random bytes
 */
public record ObjectHeader(int compression, int dataKeyVersion, int segmentSize, boolean sha256, byte[] salt, byte[] noncePrefix) {
    public static final int LENGTH = 56;
    public static final int VERSION = 1;
    public static final int MIN_SEGMENT = 64 * 1024;
    public static final int MAX_SEGMENT = 16 * 1024 * 1024;
    static final byte[] MAGIC = {'H', 'F', 'S', 'O'};
    static final int FLAG_SHA256 = 1;

    public ObjectHeader {
        if (salt.length != 32 || noncePrefix.length != 7) {
            throw new IllegalArgumentException("salt is 32 bytes and nonce prefix 7");
        }
        if (!validSegmentSize(segmentSize)) {
            throw new IllegalArgumentException("segment size must be a power of two from 64 KiB to 16 MiB, not " + segmentSize);
        }
        salt = salt.clone();
        noncePrefix = noncePrefix.clone();
    }

    public static boolean validSegmentSize(long size) {
        return size >= MIN_SEGMENT && size <= MAX_SEGMENT && Long.bitCount(size) == 1;
    }

    /** A header with fresh random salt and nonce prefix. */
    public static ObjectHeader fresh(int compression, int dataKeyVersion, int segmentSize, boolean sha256, SecureRandom random) {
        byte[] salt = new byte[32];
        byte[] prefix = new byte[7];
        random.nextBytes(salt);
        random.nextBytes(prefix);
        return new ObjectHeader(compression, dataKeyVersion, segmentSize, sha256, salt, prefix);
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(LENGTH);
        b.put(MAGIC).put((byte) VERSION).put((byte) LENGTH).put((byte) compression).put((byte) (sha256 ? FLAG_SHA256 : 0));
        b.putInt(dataKeyVersion).putInt(segmentSize).put(salt).put(noncePrefix).put((byte) 0);
        return b.array();
    }

    /**
     * Parses and validates a header; every check happens before any key is derived.
     *
     * @param what names the object in error messages
     */
    public static ObjectHeader parse(byte[] bytes, String what) {
        if (bytes.length < LENGTH) {
            throw integrity(what, "is truncated inside its header (" + bytes.length + " of " + LENGTH + " bytes)");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes, 0, LENGTH);
        byte[] magic = new byte[4];
        b.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) {
            throw integrity(what, "is not a sealed Holdfast object (bad magic)");
        }
        int version = b.get() & 0xff;
        if (version != VERSION) {
            throw new HoldfastException(ErrorCode.FORMAT_UNSUPPORTED, what + " has object format version " + version
                    + "; this build reads version " + VERSION);
        }
        int length = b.get() & 0xff;
        int compression = b.get() & 0xff;
        int flags = b.get() & 0xff;
        int keyVersion = b.getInt();
        int segmentSize = b.getInt();
        byte[] salt = new byte[32];
        byte[] prefix = new byte[7];
        b.get(salt).get(prefix);
        int reserved2 = b.get() & 0xff;
        if (length != LENGTH || compression > 1 || (flags & ~FLAG_SHA256) != 0 || reserved2 != 0) {
            throw integrity(what, "has a malformed header");
        }
        if (keyVersion < 1) {
            throw integrity(what, "names data key version " + Integer.toUnsignedString(keyVersion));
        }
        if (!validSegmentSize(segmentSize)) {
            throw integrity(what, "has an invalid segment size " + Integer.toUnsignedString(segmentSize));
        }
        return new ObjectHeader(compression, keyVersion, segmentSize, (flags & FLAG_SHA256) != 0, salt, prefix);
    }

    static HoldfastException integrity(String what, String problem) {
        return new HoldfastException(ErrorCode.INTEGRITY_FAILURE, what + " " + problem);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ObjectHeader h && java.util.Arrays.equals(encode(), h.encode());
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(encode());
    }

    @Override
    public String toString() {
        return "ObjectHeader[v" + VERSION + ", compression=" + compression + ", dataKey=v" + dataKeyVersion
                + ", segmentSize=" + segmentSize + ", sha256=" + sha256 + "]";
    }
}
