package dev.holdfast.repository.backup;

import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.wal.WalLayout;

/**
 * Where one base backup lives: {@code backups/<source>/<system-id>/<backup-id>/} with its packs
 * and its manifest (docs/format.md section 12).
 */
public final class BackupLayout {
    public static final String ROOT = "backups";
    public static final String MANIFEST = "manifest";
    public static final String MANIFEST_COPY = "manifest.copy";

    private final ObjectKey prefix;

    public BackupLayout(String source, String systemId, BackupId id) {
        // The source and system id follow the WAL area's rules (one validation for both).
        new WalLayout(source, systemId);
        this.prefix = ObjectKey.of(ROOT + "/" + source + "/" + systemId + "/" + id);
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

    @Override
    public String toString() {
        return prefix + "/";
    }
}
