package dev.holdfast.agent.postgres.logical;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.backup.BackupLayout;
import dev.holdfast.repository.backup.BackupType;
import dev.holdfast.repository.backup.LogicalManifest;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finding and reading the logical dumps of a source in a repository: only complete ones (those
 * with a manifest) are listed. Blocking.
 */
public final class LogicalBackups {
    /** What {@code --backup latest} means. */
    public static final String LATEST = "latest";
    private static final Logger LOG = LoggerFactory.getLogger(LogicalBackups.class);

    private LogicalBackups() {
    }

    /**
     * Every complete logical dump of {@code source} (of every cluster ever backed up under that
     * name), oldest first. A manifest that cannot be read even from its copy fails the listing.
     */
    public static List<LogicalManifest> list(Repository repository, String source) {
        List<LogicalManifest> out = new ArrayList<>();
        for (BackupLayout layout : layouts(repository, source)) {
            out.add(read(repository, layout));
        }
        out.sort(Comparator.comparing(LogicalManifest::id));
        return out;
    }

    /** The layouts of the complete logical dumps of {@code source}, from the manifests' names alone. */
    private static List<BackupLayout> layouts(Repository repository, String source) {
        List<BackupLayout> out = new ArrayList<>();
        for (ObjectInfo o : Futures.await(repository.store().listAll(BackupLayout.sourcePrefix(source)))) {
            // backups/<source>/<system-id>/<id>/manifest
            String[] parts = o.key().value().split("/");
            if (parts.length != 5 || !parts[4].equals(BackupLayout.MANIFEST)) {
                continue;
            }
            BackupId id;
            try {
                id = BackupId.parse(parts[3]);
            } catch (HoldfastException e) {
                continue; // not a backup's directory
            }
            if (id.type() == BackupType.LOGICAL) {
                out.add(new BackupLayout(source, parts[2], id));
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
        for (BackupLayout layout : layouts(repository, source)) {
            if (layout.toString().endsWith("/" + id + "/")) {
                return read(repository, layout);
            }
        }
        throw new HoldfastException(ErrorCode.OBJECT_NOT_FOUND,
                "source '" + source + "' has no complete logical backup " + id + " (an incomplete one has no manifest)");
    }

    /**
     * Reads the manifest of the backup at {@code layout}, falling back to {@code manifest.copy} when
     * the primary is missing or fails authentication or validation (a newer format is not a damaged
     * manifest: that fails at once). The manifest must describe the backup it is stored as.
     */
    public static LogicalManifest read(Repository repository, BackupLayout layout) {
        HoldfastException first = null;
        for (ObjectKey key : List.of(layout.manifest(), layout.manifestCopy())) {
            try {
                LogicalManifest m = LogicalManifest.fromJson(readAll(repository, key), "'" + key + "'");
                if (!layout(m).toString().equals(layout.toString())) {
                    // Sealing binds the object to its name, so only a writer with the keys could put it there.
                    throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "'" + key + "' describes backup " + m.id() + " of source '"
                            + m.source() + "', cluster " + m.systemId() + ", not the one it is stored as");
                }
                if (first != null) {
                    LOG.warn("{}; used {}", first.getMessage(), key);
                }
                return m;
            } catch (HoldfastException e) {
                if (e.code() == ErrorCode.FORMAT_UNSUPPORTED) {
                    throw e;
                }
                if (first == null) {
                    first = e;
                }
            }
        }
        throw first;
    }

    private static byte[] readAll(Repository repository, ObjectKey key) {
        try (InputStream in = repository.open(key)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "reading '" + key + "': " + e.getMessage(), e);
        }
    }

    /** The layout of a backup described by its manifest. */
    static BackupLayout layout(LogicalManifest m) {
        return new BackupLayout(m.source(), m.systemId(), m.id());
    }
}
