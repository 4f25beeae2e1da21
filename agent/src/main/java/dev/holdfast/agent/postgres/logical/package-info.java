/**
 * Logical dumps of a PostgreSQL source: {@link dev.holdfast.agent.postgres.logical.LogicalBackup}
 * runs {@code pg_dump --format=custom} per database and streams each dump straight into a sealed
 * repository object (zstd + AES-GCM, never a local file), then writes the
 * {@link dev.holdfast.repository.backup.LogicalManifest}; {@link dev.holdfast.agent.postgres.logical.LogicalBackups}
 * finds complete ones; {@link dev.holdfast.agent.postgres.logical.LogicalRestore} verifies a dump
 * in full (fail closed) before it pipes it into {@code pg_restore --single-transaction}. The
 * client programs get the connection through their environment only, never a password on a
 * command line. docs/postgresql.md "Logical dumps" is the operator's guide, docs/format.md
 * section 12.1 the manifest.
 */
package dev.holdfast.agent.postgres.logical;
