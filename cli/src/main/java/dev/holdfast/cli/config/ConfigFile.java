package dev.holdfast.cli.config;

import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.config.ConfigNode;
import dev.holdfast.agent.config.RepositorySection;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.RepositoryLocation;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The {@code repository:} section of an agent or controller configuration file, for the commands
 * that take {@code --config}. Unknown top-level keys (of either file), unknown repository keys,
 * wrong types and impossible values are refused with the file, the key and what was expected. The
 * agent's own sections are validated in full by {@link AgentConfig#load} when the agent starts;
 * the parsing of {@code repository:} itself lives in {@link RepositorySection}, shared by both.
 */
public final class ConfigFile {
    /** Top-level keys of the agent and controller files. */
    static final List<String> TOP_LEVEL;

    static {
        Set<String> keys = new LinkedHashSet<>(AgentConfig.KEYS);
        keys.addAll(List.of("listen", "data_dir", "catalog", "auth", "policies"));
        TOP_LEVEL = List.copyOf(keys);
    }

    private ConfigFile() {
    }

    /**
     * Reads {@code file} and returns its repository location.
     *
     * @throws HoldfastException {@code CONFIG_INVALID} naming the file and key
     */
    public static RepositoryLocation repository(Path file) {
        ConfigNode root = ConfigNode.read(file);
        root.allowOnly(TOP_LEVEL);
        return RepositorySection.parse(root);
    }
}
