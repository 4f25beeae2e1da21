/**
 * Backups in the repository (docs/format.md section 12): ids, where a backup's packs or dumps and
 * its manifest live, and the manifest models with their validated JSON forms:
 * {@link dev.holdfast.repository.backup.BackupManifest} for physical base backups,
 * {@link dev.holdfast.repository.backup.LogicalManifest} for logical dumps,
 * {@link dev.holdfast.repository.backup.BackupManifests#typeOf} to tell them apart. On them, the
 * blocking readers: {@link dev.holdfast.repository.backup.BackupCatalog} (which backups exist),
 * {@link dev.holdfast.repository.backup.PackReader} (a pack's files, checksums compared),
 * {@link dev.holdfast.repository.backup.BackupSummary} (what {@code list} shows),
 * {@link dev.holdfast.repository.backup.WalReach} (how far the WAL carries a base backup) and
 * {@link dev.holdfast.repository.backup.BackupVerifier} (what {@code verify} checks). The writers
 * (agent) and restores build on this. The model classes do no I/O; the readers block and belong on
 * worker or CLI threads.
 */
package dev.holdfast.repository.backup;
