package dev.holdfast.agent.pipeline;

import dev.holdfast.repository.seal.SegmentCodec;
import java.nio.ByteBuffer;

/**
 * Seals one data segment on a worker thread. The seam between the pipeline and
 * {@link SegmentCodec#sealData}, so tests can observe which threads seal and inject failures.
 */
@FunctionalInterface
interface SegmentSealer {
    SegmentSealer CODEC = (codec, index, plaintext) -> codec.sealData(index, plaintext);

    /** Returns the framed segment; must not consume or modify {@code plaintext}. */
    ByteBuffer seal(SegmentCodec codec, long index, ByteBuffer plaintext);
}
