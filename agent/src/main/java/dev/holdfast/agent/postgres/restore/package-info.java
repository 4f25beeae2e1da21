/**
 * Restoring PostgreSQL base backups: where a restore may write ({@link RestoreTarget}, checked
 * before anything is written), the restore itself ({@link BaseRestore}: packs downloaded,
 * decrypted and checksummed in parallel, {@code global/pg_control} written last so that a
 * half-written target can never start), the recovery settings for point-in-time targets
 * ({@link RecoveryTarget}), and a PostgreSQL-format {@code backup_manifest}
 * ({@link PgBackupManifest}) so that {@code pg_verifybackup} checks the result independently.
 */
package dev.holdfast.agent.postgres.restore;
