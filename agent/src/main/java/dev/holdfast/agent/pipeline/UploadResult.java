package dev.holdfast.agent.pipeline;

import dev.holdfast.repository.store.ObjectKey;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * A completed upload: the object is visible in the store with exactly these properties (the
 * checksums are the ones sealed into its footer).
 *
 * @param key             the object's name
 * @param plaintextLength bytes read from the source
 * @param storedLength    bytes of the stored object: header, data segments and footer
 * @param segments        data segments, {@code ceil(plaintextLength / segmentSize)}
 * @param crc32c          CRC32C (Castagnoli) of the plaintext
 * @param sha256          SHA-256 of the plaintext as lowercase hex, or empty when not computed
 * @param duration        from {@link UploadPipeline#upload} to the object becoming visible
 */
public record UploadResult(ObjectKey key, long plaintextLength, long storedLength, long segments, int crc32c,
                           Optional<String> sha256, Duration duration) {
    public UploadResult {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(sha256, "sha256");
        Objects.requireNonNull(duration, "duration");
    }

    /** CRC32C as 8 lowercase hex digits, the form manifests and logs use. */
    public String crc32cHex() {
        return String.format("%08x", crc32c);
    }
}
