package dev.holdfast.agent.postgres.stream;

import java.time.Duration;

/**
 * What a stream-mode source needs from its configuration.
 *
 * @param slot            the physical replication slot (created when missing)
 * @param partialInterval the longest received WAL should wait to be durable: a part is started when the
 *                        oldest WAL not in one, plus the recent upload time, reaches it (only when new
 *                        WAL arrived); so about one part per interval, and the RPO stays within it
 *                        while the store keeps its usual pace
 * @param synchronous     upload a part as soon as WAL arrives, so that a server listing this agent in
 *                        {@code synchronous_standby_names} waits for the repository (RPO 0)
 * @param applicationName the name PostgreSQL shows in {@code pg_stat_replication} and matches
 *                        against {@code synchronous_standby_names}
 */
public record StreamSettings(String slot, Duration partialInterval, boolean synchronous, String applicationName) {
    /** Status updates go at least this often, well inside the server's wal_sender_timeout (60 s by default). */
    static final Duration STATUS_INTERVAL = Duration.ofSeconds(10);
    /** Complete-segment uploads in flight before the replication connection is paused (memory bound). */
    static final int MAX_SEGMENT_UPLOADS = 2;
    /** After this many parts of one segment, the next part restates the segment from offset 0 (bounded chains). */
    static final int PARTS_BEFORE_RESTATE = 64;
    /**
     * The share of {@code partial_interval} a part aims to be durable within (age of the oldest WAL
     * plus the expected upload time), leaving the rest for uploads slower than the recent average.
     */
    static final double AIM = 0.8;
    /**
     * Parts uploading at once: a second part may start while a slow one is still in flight, so one
     * slow PUT does not hold back the WAL that arrives behind it.
     */
    static final int MAX_PARTS_IN_FLIGHT = 2;
    /** How often a session checks whether a part is due. */
    static final Duration TICK = Duration.ofMillis(50);
    /** The upload time assumed before any part was uploaded. */
    static final Duration INITIAL_UPLOAD_ESTIMATE = Duration.ofMillis(200);
}
