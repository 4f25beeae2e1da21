package dev.holdfast.bench;

/**
 * One benchmark configuration over the in-memory corpus. A pass calls {@link #begin} on the driver
 * thread, then {@link #process} once per segment from the pool's threads (segments are claimed in
 * increasing order from a shared counter, so with one thread they run strictly in order), then
 * {@link #end} on the driver thread. All three are inside the timed region.
 */
interface Workload {
    /** The line's label, e.g. {@code raw zstd-3}. */
    String label();

    /** The zstd level this line is compared at, or 0 when it has none (AES-GCM alone). */
    int level();

    /** Which line this is, for the comparisons. */
    Kind kind();

    enum Kind { RAW_ZSTD, GCM, SEALED_NO_DIGEST, SEALED_CRC, SEALED_SHA, END_TO_END_CRC, END_TO_END_SHA }

    void begin(long pass);

    /** Processes segment {@code i}; returns the bytes it produced (kept so nothing is optimised away). */
    long process(int i);

    /** Finishes the pass; returns extra bytes produced (e.g. the footer). */
    long end();

    /** Whether this workload drives its own threads (then {@link #runPass} replaces the pool). */
    default boolean selfDriven() {
        return false;
    }

    /** For self-driven workloads: runs a whole pass and returns the output bytes. */
    default long runPass(long pass) {
        throw new UnsupportedOperationException();
    }

    /** Called after each pass, outside the timed region (e.g. to delete what the pass stored). */
    default void afterPass() {
    }
}
