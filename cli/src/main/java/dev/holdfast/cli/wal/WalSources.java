package dev.holdfast.cli.wal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.holdfast.cli.RepositoryOptions;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.wal.WalLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The few keys of the configuration's {@code sources:} section the WAL commands need:
 * {@code name}, {@code type}, {@code data_dir}. Deliberately lenient about the rest (the agent's
 * typed configuration model validates the section; this is read-only and temporary until the CLI
 * uses that model).
 */
public final class WalSources {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** One configured source. */
    public record Source(String name, String type, Optional<Path> dataDir) {
    }

    private WalSources() {
    }

    /** Every source in {@code file}, in order. */
    public static List<Source> read(Path file) {
        JsonNode root;
        try {
            root = YAML.readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "configuration file " + file + " cannot be read: " + e.getMessage());
        }
        List<Source> out = new ArrayList<>();
        JsonNode sources = root == null ? null : root.get("sources");
        if (sources == null || sources.isNull()) {
            return out;
        }
        if (!sources.isArray()) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, file + ": 'sources' must be a list of mappings");
        }
        for (int i = 0; i < sources.size(); i++) {
            JsonNode s = sources.get(i);
            if (!s.isObject() || !s.path("name").isTextual() || !s.path("type").isTextual()) {
                throw new HoldfastException(ErrorCode.CONFIG_INVALID, file + ": 'sources[" + i + "]' must have a name and a type");
            }
            String name = s.get("name").asText();
            try {
                WalLayout.checkSource(name);
            } catch (HoldfastException e) {
                throw new HoldfastException(ErrorCode.CONFIG_INVALID, file + ": 'sources[" + i + "].name': " + e.getMessage());
            }
            Optional<Path> dataDir = s.path("data_dir").isTextual() ? Optional.of(Path.of(s.get("data_dir").asText())) : Optional.empty();
            out.add(new Source(name, s.get("type").asText(), dataDir));
        }
        return out;
    }

    /**
     * The PostgreSQL source a WAL command works on: {@code --source} if given (it need not be in the
     * configuration: a restore host may fetch another host's WAL), else the configuration's only
     * {@code postgres} source. With {@code --repo} and no configuration, {@code --source} is required.
     */
    public static Source resolve(RepositoryOptions options, String sourceOption) {
        Optional<Path> config = options.configFileInUse();
        if (config.isEmpty()) {
            if (sourceOption == null) {
                throw new HoldfastException(ErrorCode.USAGE, "--repo without a configuration needs --source NAME");
            }
            return new Source(WalLayout.checkSource(sourceOption), "postgres", Optional.empty());
        }
        List<Source> postgres = read(config.get()).stream().filter(s -> s.type().equals("postgres")).toList();
        if (sourceOption != null) {
            WalLayout.checkSource(sourceOption);
            return postgres.stream().filter(s -> s.name().equals(sourceOption)).findFirst()
                    .orElse(new Source(sourceOption, "postgres", Optional.empty()));
        }
        if (postgres.size() == 1) {
            return postgres.get(0);
        }
        throw new HoldfastException(ErrorCode.USAGE, postgres.isEmpty()
                ? config.get() + " has no postgres source; pass --source NAME"
                : config.get() + " has several postgres sources " + postgres.stream().map(Source::name).toList() + "; pass --source NAME");
    }
}
