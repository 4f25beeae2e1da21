package dev.holdfast.agent.wal;

/** How a create-if-absent WAL write ended (both mean the file is durable in the repository). */
public enum PutOutcome {
    /** This call created the object. */
    STORED,
    /** The object existed with the same plaintext (SHA-256 of the stored footer equal); nothing was written. */
    ALREADY_STORED
}
