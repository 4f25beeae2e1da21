/**
 * Stream mode: continuous WAL over PostgreSQL's physical replication protocol.
 *
 * <p>The agent is a replication client on a physical slot. The segment being filled is uploaded as
 * a new part every {@code partial_interval} (when new WAL arrived; at once in synchronous mode), a
 * finished segment as one complete object whose parts are then deleted (docs/format.md section
 * 11). The position reported to PostgreSQL as flushed is {@link
 * dev.holdfast.agent.postgres.stream.DurableRanges#durable()}: never beyond what is complete in
 * the repository, so the slot keeps everything else on the server. Any upload or connection
 * failure ends the session; the next one resumes from the durable position in the repository
 * (re-streaming from the start of that segment), so nothing in memory is ever the only copy of
 * acknowledged WAL.
 */
package dev.holdfast.agent.postgres.stream;
