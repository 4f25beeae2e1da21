/**
 * Backups in the repository: ids, where a backup's packs or dumps and its manifest live, and the
 * manifest models with their validated JSON forms: {@link dev.holdfast.repository.backup.BackupManifest}
 * for physical base backups, {@link dev.holdfast.repository.backup.LogicalManifest} for logical
 * dumps, {@link dev.holdfast.repository.backup.BackupManifests#typeOf} to tell them apart
 * (docs/format.md section 12). The writers (agent) and restores build on this; nothing here does I/O.
 */
package dev.holdfast.repository.backup;
