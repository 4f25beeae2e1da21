/**
 * Base backups in the repository: ids, where a backup's packs and manifest live, and the manifest
 * model with its validated JSON form (docs/format.md section 12). The writer (agent) and restore
 * build on this; nothing here does I/O.
 */
package dev.holdfast.repository.backup;
