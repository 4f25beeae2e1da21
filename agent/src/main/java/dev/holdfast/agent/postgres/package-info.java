/**
 * The PostgreSQL source of the agent: continuous WAL in stream mode ({@code stream/}, over the
 * replication protocol of {@code replication/}) or archive mode ({@code dev.holdfast.agent.wal}),
 * and the control-socket endpoints behind {@code holdfast-wal-push} and {@code holdfast-wal-fetch}.
 * docs/postgresql.md is the operator's guide.
 */
package dev.holdfast.agent.postgres;
