/**
 * PostgreSQL WAL in the agent: {@link dev.holdfast.agent.wal.WalRepository}, the asynchronous
 * services over one cluster's WAL area (docs/format.md section 11) that archive mode and stream
 * mode both write through; {@link dev.holdfast.agent.wal.WalArchiver}, archive mode's
 * {@code archive_command} handler with look-ahead at {@code archive_status/*.ready}; and
 * {@link dev.holdfast.agent.wal.WalFetcher}, {@code restore_command}'s fetch with prefetch.
 *
 * <p>Nothing here depends on the daemon: every collaborator (Vert.x, repository, pipeline,
 * clock, meter registry) is passed to the constructors, and no blocking call runs on an event loop.
 */
package dev.holdfast.agent.wal;
