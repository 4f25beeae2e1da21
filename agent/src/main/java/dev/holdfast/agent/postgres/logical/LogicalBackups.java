package dev.holdfast.agent.postgres.logical;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupCatalog;
import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.backup.BackupLayout;
import dev.holdfast.repository.backup.BackupType;
import dev.holdfast.repository.backup.LogicalManifest;
import dev.holdfast.repository.wal.WalLayout;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Finding and reading the logical dumps of a source in a repository: only complete ones (those
 * with a manifest) are listed. Blocking.
 */
public final class LogicalBackups {
    /** What {@code --backup latest} means. */
    public static final String LATEST = "latest";

    private LogicalBackups() {
    }

    /**
     * Every complete logical dump of {@code source} (of every cluster ever backed up under that
     * name), oldest first. A manifest that cannot be read even from its copy fails the listing.
     */
    public static List<LogicalManifest> list(Repository repository, String source) {
        List<LogicalManifest> out = new ArrayList<>();
        for (BackupLayout layout : layouts(repository, source, Optional.empty())) {
            out.add(read(repository, layout));
        }
        out.sort(Comparator.comparing(LogicalManifest::id));
        return out;
    }

    /** The layouts of the complete logical dumps of {@code source} (only {@code id}, when given). */
    private static List<BackupLayout> layouts(Repository repository, String source, Optional<BackupId> id) {
        BackupCatalog catalog = new BackupCatalog(repository);
        List<BackupLayout> out = new ArrayList<>();
        for (String systemId : catalog.systemIds(WalLayout.checkSource(source))) {
            for (BackupCatalog.Entry e : catalog.list(source, systemId).values()) {
                if (e.complete() && e.id().type() == BackupType.LOGICAL && id.map(e.id()::equals).orElse(true)) {
                    out.add(new BackupLayout(source, systemId, e.id()));
                }
            }
        }
        return out;
    }

    /**
     * The logical dump {@code idOrLatest} of {@code source}: an id ({@code ...-logical[-n]}) or
     * {@value #LATEST}, the newest complete one.
     *
     * @throws HoldfastException {@code usage} for an id that is not a logical dump's;
     *         {@code object_not_found} when there is no such (complete) backup
     */
    public static LogicalManifest find(Repository repository, String source, String idOrLatest) {
        if (LATEST.equals(idOrLatest)) {
            List<LogicalManifest> all = list(repository, source);
            if (all.isEmpty()) {
                throw new HoldfastException(ErrorCode.OBJECT_NOT_FOUND, "source '" + source + "' has no complete logical backup in "
                        + repository.store().describe());
            }
            return all.get(all.size() - 1);
        }
        BackupId id = BackupId.parse(idOrLatest);
        if (id.type() != BackupType.LOGICAL) {
            throw new HoldfastException(ErrorCode.USAGE, "backup " + id + " is a physical base backup, not a logical dump");
        }
        List<BackupLayout> found = layouts(repository, source, Optional.of(id));
        if (found.isEmpty()) {
            throw new HoldfastException(ErrorCode.OBJECT_NOT_FOUND,
                    "source '" + source + "' has no complete logical backup " + id + " (an incomplete one has no manifest)");
        }
        if (found.size() > 1) {
            throw new HoldfastException(ErrorCode.USAGE, "source '" + source + "' has backup " + id + " for several clusters: " + found);
        }
        return read(repository, found.get(0));
    }

    /**
     * Reads the manifest of the backup at {@code layout} ({@code manifest}, else {@code manifest.copy}
     * when the first cannot be read: {@link BackupCatalog#readManifestBytes}); it must describe the
     * backup it is stored as.
     */
    public static LogicalManifest read(Repository repository, BackupLayout layout) {
        LogicalManifest m = LogicalManifest.fromJson(new BackupCatalog(repository).readManifestBytes(layout), "backup " + layout);
        if (!layout(m).toString().equals(layout.toString())) {
            // Sealing binds an object to its name, so only a writer holding the keys could have put it there.
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "the manifest of " + layout + " describes backup " + m.id()
                    + " of source '" + m.source() + "', cluster " + m.systemId() + ", not the one it is stored as");
        }
        return m;
    }

    /** The layout of a backup described by its manifest. */
    static BackupLayout layout(LogicalManifest m) {
        return new BackupLayout(m.source(), m.systemId(), m.id());
    }
}
