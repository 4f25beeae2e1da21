package dev.holdfast.cli.repo;

import dev.holdfast.cli.Ambient;
import dev.holdfast.cli.Json;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.cli.Version;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryConfig;
import dev.holdfast.repository.RepositoryLocation;
import dev.holdfast.repository.crypto.KeyFile;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code holdfast repo init}: a new repository at the configured location; refuses a non-empty one. */
@Command(name = "init", mixinStandardHelpOptions = true, description = {
        "Create a repository at the configured URL, keyed by the key file's current master key.",
        "Refuses a location that already holds objects."})
public final class RepoInitCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repository;

    @Option(names = "--segment-size", paramLabel = "BYTES", defaultValue = "1048576",
            description = "Default plaintext bytes per sealed segment: a power of two, 65536-16777216 (default ${DEFAULT-VALUE}).")
    int segmentSize;

    @Option(names = "--compression-level", paramLabel = "N", defaultValue = "3", description = "Default zstd level, 1-19 (default ${DEFAULT-VALUE}).")
    int level;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        RepositoryLocation loc = repository.location();
        KeyFile keys = KeyFile.load(loc.keyFile());
        // Validate the defaults before touching the store.
        new RepositoryConfig(new byte[16], Ambient.clock().instant(), "", segmentSize, level);
        try (Repository repo = Repository.init(loc.openStore(Ambient.clock()), keys, segmentSize, level,
                "holdfast " + Version.version(), Ambient.clock(), Ambient.random())) {
            var w = spec.commandLine().getOut();
            if (json) {
                Json.print(w, Json.object().put("repository_id", repo.config().repositoryIdHex()).put("url", loc.url().toString())
                        .put("key_id", repo.masterKeyId()).put("segment_size", segmentSize).put("compression_level", level));
            } else {
                w.println("created repository " + repo.config().repositoryIdHex() + " at " + repo.store().describe()
                        + ", keyed by master key " + repo.masterKeyId());
            }
        }
        return 0;
    }
}
