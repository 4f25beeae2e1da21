package dev.holdfast.cli.files;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.config.FilesSourceConfig;
import dev.holdfast.agent.config.SourceConfig;
import dev.holdfast.agent.files.FilesManifest;
import dev.holdfast.agent.files.FilesRestore;
import dev.holdfast.agent.files.FilesSnapshot;
import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.cli.backup.BackupCommand;
import dev.holdfast.repository.Repository;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;

/**
 * {@code holdfast backup --source NAME} and {@code holdfast restore --source NAME --target DIR
 * [--backup ID|latest] [--path P]} for a {@code type: files} source: the commands hand over here
 * when {@code --source} names one.
 */
public final class FilesCli {
    private FilesCli() {
    }

    /** The configured files source {@code name}, when {@code name} is given and names one in the configuration in use. */
    public static Optional<FilesSourceConfig> source(RepositoryOptions repository, String name) {
        if (name == null) {
            return Optional.empty();
        }
        Optional<Path> file = repository.configFileInUse();
        if (file.isEmpty()) {
            return Optional.empty();
        }
        AgentConfig config = AgentConfig.load(file.get());
        for (SourceConfig s : config.sources()) {
            if (s.name().equals(name) && s instanceof FilesSourceConfig f) {
                return Optional.of(f);
            }
        }
        return Optional.empty();
    }

    /**
     * Whether {@code name} is a files source for a restore: configured here as one, or (not configured
     * here: a restore host may restore another host's source) found under {@code files/<name>/} in the repository.
     */
    public static boolean isFilesSourceForRestore(RepositoryOptions repository, String name) {
        if (name == null) {
            return false;
        }
        Optional<Path> file = repository.configFileInUse();
        if (file.isPresent()) {
            for (SourceConfig s : AgentConfig.load(file.get()).sources()) {
                if (s.name().equals(name)) {
                    return s instanceof FilesSourceConfig;
                }
            }
        }
        if (!dev.holdfast.agent.config.SourceConfig.NAME.matcher(name).matches()) {
            return false;
        }
        try (Repository repo = repository.open(Ambient.clock(), Ambient.random())) {
            return !dev.holdfast.repository.store.Futures.await(repo.store().list("files/" + name + "/", Optional.empty(), 1)).objects().isEmpty();
        }
    }

    /**
     * What {@code holdfast list} shows of files source {@code name}: {@code snapshots} (every id, oldest
     * first, with its stored size), {@code latest} (the newest snapshot's counts) and {@code tailed}
     * (every tailed file: path, generations, bytes shipped). Blocking.
     */
    public static ObjectNode listJson(Repository repo, String name) {
        ObjectNode n = Json.object();
        ArrayNode snaps = n.putArray("snapshots");
        String prefix = dev.holdfast.agent.files.FilesLayout.snapshotsPrefix(name);
        for (var o : dev.holdfast.repository.store.Futures.await(repo.store().listAll(prefix))) {
            String id = o.key().value().substring(prefix.length());
            if (dev.holdfast.agent.files.FilesLayout.isSnapshotId(id)) {
                snaps.addObject().put("id", id).put("stored_bytes", o.size());
            }
        }
        if (snaps.isEmpty()) {
            n.putNull("latest");
        } else {
            FilesManifest m = new dev.holdfast.agent.files.FilesCatalog(repo).load(name, snaps.get(snaps.size() - 1).get("id").asText());
            n.putObject("latest").put("id", m.id()).put("host", m.host()).put("started_at", m.startedAt().toString())
                    .put("finished_at", m.finishedAt().toString()).put("entries", m.entries().size())
                    .put("files", m.entries().stream().filter(e -> e.type() == dev.holdfast.agent.files.FileEntry.Type.FILE).count())
                    .put("bytes", m.bytes()).put("excluded", m.excluded().size());
        }
        ArrayNode tailed = n.putArray("tailed");
        for (var gens : new dev.holdfast.agent.files.TailStreams(repo).list(name).values()) {
            var last = gens.lastEntry().getValue();
            long bytes = gens.values().stream().mapToLong(g -> g.segments().isEmpty() ? 0 : g.segments().get(g.segments().size() - 1).end()).sum();
            tailed.addObject().put("path", last.path()).put("generations", gens.size()).put("bytes", bytes);
        }
        return n;
    }

    /** Takes a snapshot now; prints what was left out on {@code err} and the result on {@code out}. */
    public static int backup(RepositoryOptions repository, FilesSourceConfig source, boolean json, PrintWriter out, PrintWriter err) {
        AgentConfig config = AgentConfig.load(repository.configFileInUse().orElseThrow());
        try (Repository repo = repository.open(Ambient.clock(), Ambient.random())) {
            FilesSnapshot.Result r = new FilesSnapshot(repo, source, config.host(), Ambient.clock(), 4).run(text -> {
                err.println("holdfast: " + text);
                err.flush();
            });
            FilesManifest m = r.manifest();
            long files = m.entries().stream().filter(e -> e.type() == dev.holdfast.agent.files.FileEntry.Type.FILE).count();
            if (json) {
                ObjectNode n = Json.object();
                n.put("id", m.id()).put("type", "files").put("source", m.source()).put("host", m.host()).put("stored", r.stored());
                n.put("started_at", m.startedAt().toString()).put("finished_at", m.finishedAt().toString());
                n.put("entries", m.entries().size()).put("files", files).put("bytes", m.bytes());
                n.put("files_uploaded", r.filesUploaded()).put("bytes_uploaded", r.bytesUploaded()).put("stored_bytes", r.storedBytes());
                n.put("files_read", r.filesHashed()).put("complete", true);
                ArrayNode secrets = n.putArray("secrets_excluded");
                r.secrets().forEach(s -> secrets.addObject().put("path", s.path()).put("reason", s.reason()));
                ArrayNode excluded = n.putArray("excluded");
                m.excluded().forEach(s -> excluded.addObject().put("path", s.path()).put("reason", s.reason()));
                out.println(n);
            } else {
                out.printf("files snapshot %s %s: %d entries, %d files, %s; uploaded %d new contents (%s); %d secrets left out%n", m.id(),
                        r.stored() ? "stored" : "unchanged (not stored again)", m.entries().size(), files, BackupCommand.Progress.size(m.bytes()),
                        r.filesUploaded(), BackupCommand.Progress.size(r.bytesUploaded()), r.secrets().size());
            }
            out.flush();
            return 0;
        }
    }

    /** Restores a snapshot (or one path of it) into {@code target}. */
    public static int restore(RepositoryOptions repository, String source, String backup, Optional<String> path, Path target,
                              boolean overwrite, boolean json, PrintWriter out, PrintWriter err) {
        AgentConfig config = AgentConfig.load(repository.configFileInUse().orElseThrow(() -> new dev.holdfast.error.HoldfastException(
                dev.holdfast.error.ErrorCode.USAGE, "restore needs the agent's configuration (--config FILE): it holds restore.allowed_targets")));
        try (Repository repo = repository.open(Ambient.clock(), Ambient.random())) {
            FilesRestore.Result r = new FilesRestore(repo, Ambient.random()).restore(new FilesRestore.Options(source, backup, path, target,
                    config.restore().allowedTargets(), overwrite), text -> {
                err.println("holdfast: " + text);
                err.flush();
            });
            if (json) {
                ObjectNode n = Json.object();
                n.put("restored", r.manifest().id()).put("type", "files").put("source", source).put("target", r.target().toString());
                n.put("path", path.orElse(null)).put("files", r.files()).put("dirs", r.dirs()).put("symlinks", r.symlinks()).put("tailed", r.tailed())
                        .put("bytes", r.bytes());
                n.put("owners_applied", r.ownersApplied());
                ArrayNode w = n.putArray("warnings");
                r.warnings().forEach(w::add);
                out.println(n);
            } else {
                out.printf("restored files snapshot %s of %s%s into %s: %d files, %d directories, %d links, %d tailed files, %s%n", r.manifest().id(),
                        source, path.map(p -> " (" + p + ")").orElse(""), r.target(), r.files(), r.dirs(), r.symlinks(), r.tailed(),
                        BackupCommand.Progress.size(r.bytes()));
            }
            out.flush();
            return 0;
        }
    }
}
