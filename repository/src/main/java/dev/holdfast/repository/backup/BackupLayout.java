package dev.holdfast.repository.backup;

import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.wal.WalLayout;

/**
 * Where one backup lives: {@code backups/<source>/<system-id>/<backup-id>/} with its manifest and
 * its data: packs for a base backup, one dump per database for a logical dump (docs/format.md
 * section 12).
 */
public final class BackupLayout {
    public static final String ROOT = "backups";
    public static final String MANIFEST = "manifest";
    public static final String MANIFEST_COPY = "manifest.copy";
    /**
     * The marker retention writes before it deletes a backup's manifest (docs/format.md section 7):
     * the backup is being removed; readers and verify treat it as gone.
     */
    public static final String PRUNING = "pruning";

    private final ObjectKey prefix;

    public BackupLayout(String source, String systemId, BackupId id) {
        // The source and system id follow the WAL area's rules (one validation for both).
        new WalLayout(source, systemId);
        this.prefix = ObjectKey.of(ROOT + "/" + source + "/" + systemId + "/" + id);
    }

    /** The listing prefix of every backup of every cluster ever backed up under a source name. */
    public static String sourcePrefix(String source) {
        return ROOT + "/" + WalLayout.checkSource(source) + "/";
    }

    /** The listing prefix of every backup of one cluster under a source. */
    public static String clusterPrefix(String source, String systemId) {
        new WalLayout(source, systemId);
        return ROOT + "/" + source + "/" + systemId + "/";
    }

    public ObjectKey manifest() {
        return prefix.resolve(MANIFEST);
    }

    public ObjectKey manifestCopy() {
        return prefix.resolve(MANIFEST_COPY);
    }

    /** The retention marker ({@link #PRUNING}). */
    public ObjectKey pruning() {
        return prefix.resolve(PRUNING);
    }

    /** Pack number {@code n} (from 1). */
    public ObjectKey pack(int n) {
        if (n < 1 || n > 999_999) {
            throw new IllegalArgumentException("pack number out of range: " + n);
        }
        return prefix.resolve(packName(n));
    }

    public static String packName(int n) {
        return String.format("pack-%06d", n);
    }

    /** Dump number {@code n} (from 1) of a logical backup. */
    public ObjectKey dump(int n) {
        return prefix.resolve(dumpName(n));
    }

    public static String dumpName(int n) {
        if (n < 1 || n > 999_999) {
            throw new IllegalArgumentException("dump number out of range: " + n);
        }
        return String.format("dump-%06d", n);
    }

    /** The object {@code name} ({@code pack-NNNNNN}, {@code dump-NNNNNN}, as a manifest names it) of this backup. */
    public ObjectKey object(String name) {
        return prefix.resolve(name);
    }

    /** The listing prefix of this backup's objects, ending in {@code /}. */
    public String prefix() {
        return prefix + "/";
    }

    @Override
    public String toString() {
        return prefix + "/";
    }
}
