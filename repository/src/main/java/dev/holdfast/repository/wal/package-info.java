/**
 * PostgreSQL WAL in the repository: positions ({@link dev.holdfast.repository.wal.Lsn}), file
 * names, where each file lives ({@link dev.holdfast.repository.wal.WalLayout}), and reading a
 * listing back ({@link dev.holdfast.repository.wal.WalIndex}). docs/format.md section 11 is the
 * specification; the agent's stream and archive modes write it, fetch, list and verify read it.
 */
package dev.holdfast.repository.wal;
