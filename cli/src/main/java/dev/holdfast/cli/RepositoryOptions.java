package dev.holdfast.cli;

import dev.holdfast.cli.config.ConfigFile;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryLocation;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.ObjectStore;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * How a command finds its repository: {@code --config FILE} (default {@code $HOLDFAST_CONFIG}, then
 * {@code /etc/holdfast/agent.yaml}), or {@code --repo URL --key-file FILE} for break-glass use.
 */
public final class RepositoryOptions {
    public static final Path DEFAULT_CONFIG = Path.of("/etc/holdfast/agent.yaml");

    @Option(names = "--config", paramLabel = "FILE", description = "Configuration file (default: $HOLDFAST_CONFIG, then /etc/holdfast/agent.yaml).")
    Path config;

    @Option(names = "--repo", paramLabel = "URL", description = "Repository URL (file:///path or s3://bucket/prefix), instead of a configuration file.")
    String repo;

    @Option(names = "--key-file", paramLabel = "FILE", description = "Master key file (overrides the configuration's key_file).")
    Path keyFile;

    @Option(names = "--endpoint", paramLabel = "URL", description = "S3-compatible endpoint, with --repo s3://...")
    String endpoint;

    @Option(names = "--region", description = "S3 region, with --repo s3://...")
    String region;

    @Option(names = "--path-style", description = "Use path-style S3 addressing, with --repo s3://...")
    boolean pathStyle;

    /** Resolves the location from the options, the environment and the default file. */
    public RepositoryLocation location() {
        if (repo != null) {
            if (keyFile == null) {
                throw new HoldfastException(ErrorCode.USAGE, "--repo needs --key-file FILE");
            }
            URI url = RepositoryLocation.parseUrl(repo);
            Optional<URI> ep = Optional.ofNullable(endpoint).map(RepositoryLocation::parseUrl);
            return new RepositoryLocation(url, ep, Optional.ofNullable(region), pathStyle, keyFile, Optional.empty(), Optional.empty());
        }
        Path file = configFile();
        RepositoryLocation loc = ConfigFile.repository(file);
        if (keyFile != null) {
            loc = new RepositoryLocation(loc.url(), loc.endpoint(), loc.region(), loc.pathStyle(), keyFile, loc.accessKeyId(), loc.secretAccessKey());
        }
        return loc;
    }

    /** The key file alone (commands that do not touch the repository). */
    public Path keyFilePath() {
        return keyFile != null ? keyFile : location().keyFile();
    }

    /**
     * The configuration file in use, or empty with {@code --repo} (break-glass use without one).
     * Fails like {@link #location()} when neither is given.
     */
    public Optional<Path> configFileInUse() {
        return repo != null ? Optional.empty() : Optional.of(configFile());
    }

    private Path configFile() {
        return resolveConfig(config).orElseThrow(() -> new HoldfastException(ErrorCode.USAGE, "no repository given: pass --config FILE,"
                + " set HOLDFAST_CONFIG, or pass --repo URL --key-file FILE (" + DEFAULT_CONFIG + " does not exist)"));
    }

    /** The configuration file: {@code explicit} (--config), else $HOLDFAST_CONFIG, else the default file when it exists. */
    public static Optional<Path> resolveConfig(Path explicit) {
        if (explicit != null) {
            return Optional.of(explicit);
        }
        String env = System.getenv("HOLDFAST_CONFIG");
        if (env != null && !env.isBlank()) {
            return Optional.of(Path.of(env));
        }
        return Files.exists(DEFAULT_CONFIG) ? Optional.of(DEFAULT_CONFIG) : Optional.empty();
    }

    /** Opens the store only (no key needed). */
    public ObjectStore openStore(Clock clock) {
        return location().openStore(clock);
    }

    /** Opens the repository with its key file. */
    public Repository open(Clock clock, SecureRandom random) {
        RepositoryLocation loc = location();
        KeyFile keys = KeyFile.load(loc.keyFile());
        ObjectStore store = loc.openStore(clock);
        try {
            return Repository.open(store, keys, clock, random);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }
}
