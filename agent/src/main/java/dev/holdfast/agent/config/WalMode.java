package dev.holdfast.agent.config;

import java.util.Locale;

/** How a PostgreSQL source receives WAL (INTERFACE.md, {@code wal.mode}). */
public enum WalMode {
    /** A physical replication connection with a slot; the flush position is reported once durable. */
    STREAM,
    /** PostgreSQL's {@code archive_command} hands each segment to the agent's control socket. */
    ARCHIVE;

    /** The configuration spelling: {@code stream} or {@code archive}. */
    public String value() {
        return name().toLowerCase(Locale.ROOT);
    }
}
