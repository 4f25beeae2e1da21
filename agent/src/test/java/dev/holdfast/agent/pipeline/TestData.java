package dev.holdfast.agent.pipeline;

import java.nio.charset.StandardCharsets;

/**
 * Deterministic test content addressed by offset, so a large stream can be generated, and later
 * checked, a chunk at a time without holding it in memory.
 */
final class TestData {
    private static final byte[] PHRASE = "The quick brown fox jumps over the lazy dog; pack my box with five dozen jugs. "
            .getBytes(StandardCharsets.US_ASCII);

    private TestData() {
    }

    /** Random-looking (incompressible) or text-like (zstd shrinks it several times) bytes. */
    enum Kind { RANDOM, COMPRESSIBLE }

    static void fill(long seed, Kind kind, long offset, byte[] dst, int off, int len) {
        for (int i = 0; i < len; i++) {
            long x = offset + i;
            if (kind == Kind.RANDOM) {
                dst[off + i] = (byte) (mix(seed + (x >>> 3)) >>> ((x & 7) << 3));
            } else {
                long shift = mix(seed ^ (x >>> 12)) & 0xff;
                dst[off + i] = PHRASE[(int) ((x + shift) % PHRASE.length)];
            }
        }
    }

    static byte[] bytes(long seed, Kind kind, int length) {
        byte[] b = new byte[length];
        fill(seed, kind, 0, b, 0, length);
        return b;
    }

    /** SplitMix64's finalizer. */
    static long mix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
