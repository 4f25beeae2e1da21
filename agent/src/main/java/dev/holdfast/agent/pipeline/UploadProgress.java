package dev.holdfast.agent.pipeline;

/**
 * How far one upload has got. Both counts only grow.
 *
 * @param plaintextBytesRead  bytes taken from the source so far
 * @param storedBytesUploaded bytes of the sealed object (header, segments, footer) the store has
 *                            acknowledged: completed parts, or the whole object when it fits in
 *                            one part. Bytes still buffered for a part are not counted.
 */
public record UploadProgress(long plaintextBytesRead, long storedBytesUploaded) {
    public static final UploadProgress NONE = new UploadProgress(0, 0);
}
