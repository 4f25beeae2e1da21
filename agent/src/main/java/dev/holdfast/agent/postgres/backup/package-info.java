/**
 * PostgreSQL base backups (docs/format.md section 12, docs/postgresql.md): one SQL session holds
 * {@code pg_backup_start}/{@code pg_backup_stop} while parallel workers stream the data directory
 * (PostgreSQL's own exclusions applied) into packs of sealed objects; the manifest is written only
 * once the WAL from the backup's start to its stop LSN is durable in the repository, so a backup
 * is either complete and restorable or has no manifest. Incremental backups store only what
 * changed since their parent. Blocking code: run it on its own threads, never an event loop.
 */
package dev.holdfast.agent.postgres.backup;
