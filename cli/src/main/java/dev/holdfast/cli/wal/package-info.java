/**
 * {@code holdfast wal-push} and {@code wal-fetch}: PostgreSQL's {@code archive_command} and
 * {@code restore_command} in a JVM, for hosts where no agent runs, with the same semantics as the
 * agent's control-socket endpoints (they share {@code dev.holdfast.agent.wal}).
 */
package dev.holdfast.cli.wal;
