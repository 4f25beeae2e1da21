package dev.holdfast.repository.seal;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * Length, CRC32C and (optionally) SHA-256 of a plaintext, fed in order. CRC32C is always on (it
 * costs under 5 % of zstd's time); SHA-256 costs about as much as zstd level 3 on this hardware, so
 * it is the caller's choice (docs/format.md section 10). Not thread-safe.
 */
public final class PlaintextDigest {
    private final CRC32C crc = new CRC32C();
    private final MessageDigest sha;
    private long length;

    public PlaintextDigest(boolean sha256) {
        try {
            this.sha = sha256 ? MessageDigest.getInstance("SHA-256") : null;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    /** Feeds {@code data} from position to limit without consuming it. */
    public void update(ByteBuffer data) {
        length += data.remaining();
        crc.update(data.duplicate());
        if (sha != null) {
            sha.update(data.duplicate());
        }
    }

    public long length() {
        return length;
    }

    /** The footer for {@code dataSegments} segments; call once, at the end. */
    public Footer footer(long dataSegments) {
        return new Footer(length, dataSegments, (int) crc.getValue(), sha == null ? Optional.empty() : Optional.of(sha.digest()));
    }
}
