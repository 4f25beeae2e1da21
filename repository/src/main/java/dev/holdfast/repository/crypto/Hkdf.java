package dev.holdfast.repository.crypto;

import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;

/** HKDF-SHA256 (RFC 5869), from BouncyCastle: the JDK 17 API has no HKDF. */
public final class Hkdf {
    private Hkdf() {
    }

    /** Derives {@code length} bytes; {@code salt} may be null (HKDF then uses a zero salt). */
    public static byte[] sha256(byte[] ikm, byte[] salt, byte[] info, int length) {
        HKDFBytesGenerator g = new HKDFBytesGenerator(new SHA256Digest());
        g.init(new HKDFParameters(ikm, salt, info));
        byte[] out = new byte[length];
        g.generateBytes(out, 0, length);
        return out;
    }
}
