package dev.holdfast.agent.files;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.seal.OpeningInputStream;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/** Reads a source's snapshot manifests from the repository. Blocking. */
public final class FilesCatalog {
    private final Repository repository;

    public FilesCatalog(Repository repository) {
        this.repository = repository;
    }

    /** The source's snapshot ids, oldest first. */
    public List<String> ids(String source) {
        String prefix = FilesLayout.snapshotsPrefix(source);
        return Futures.await(repository.store().listAll(prefix)).stream().map(ObjectInfo::key).map(ObjectKey::value)
                .map(k -> k.substring(prefix.length())).filter(FilesLayout::isSnapshotId).sorted().toList();
    }

    public Optional<FilesManifest> latest(String source) {
        List<String> ids = ids(source);
        return ids.isEmpty() ? Optional.empty() : Optional.of(load(source, ids.get(ids.size() - 1)));
    }

    /** Snapshot {@code id}, or the newest for {@code latest}; {@code NOT_FOUND} when there is none. */
    public FilesManifest resolve(String source, String id) {
        if (id.equals("latest")) {
            return latest(source).orElseThrow(() -> new HoldfastException(ErrorCode.NOT_FOUND, "source " + source + " has no files snapshot"));
        }
        if (!FilesLayout.isSnapshotId(id)) {
            throw new HoldfastException(ErrorCode.USAGE, "'" + id + "' is not a files snapshot id (e.g. 20261124T090000.123Z) or latest");
        }
        if (Futures.await(repository.store().head(FilesLayout.snapshot(source, id))).isEmpty()) {
            throw new HoldfastException(ErrorCode.NOT_FOUND, "source " + source + " has no files snapshot " + id);
        }
        return load(source, id);
    }

    public FilesManifest load(String source, String id) {
        ObjectKey key = FilesLayout.snapshot(source, id);
        try (OpeningInputStream in = repository.open(key)) {
            FilesManifest m = FilesManifest.parse(in.readAllBytes(), "snapshot " + key);
            if (!m.id().equals(id) || !m.source().equals(source)) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "snapshot " + key + " names another snapshot (" + m.source() + "/" + m.id() + ")");
            }
            return m;
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "cannot read snapshot " + key + ": " + e.getMessage(), e);
        }
    }
}
