package dev.holdfast.protocol;

import java.util.OptionalInt;

/**
 * Protocol version negotiation (docs/protocol.md "Versions"). Each side speaks a contiguous range
 * of versions; the link runs at the highest version in both ranges, or not at all.
 */
public final class ProtocolVersion {
    /** The lowest version this build speaks. */
    public static final int MIN = 1;
    /** The highest version this build speaks. */
    public static final int MAX = 1;

    private ProtocolVersion() {
    }

    /**
     * The version to run, given the peer's range; empty when the ranges do not overlap (or the
     * peer's range is malformed: min 0 or min above max).
     */
    public static OptionalInt negotiate(int peerMin, int peerMax) {
        if (peerMin < 1 || peerMax < peerMin) {
            return OptionalInt.empty();
        }
        int v = Math.min(MAX, peerMax);
        return v >= Math.max(MIN, peerMin) ? OptionalInt.of(v) : OptionalInt.empty();
    }
}
