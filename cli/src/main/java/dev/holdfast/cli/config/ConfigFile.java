package dev.holdfast.cli.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.RepositoryLocation;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;

/**
 * Reads the agent/controller YAML configuration (INTERFACE.md). Unknown keys, wrong types and
 * impossible values are refused with the file, the key and what was expected; nothing starts
 * half-configured. This build validates the top level and the {@code repository:} section; the
 * other sections are validated by the components that own them.
 */
public final class ConfigFile {
    /** Top-level keys of the agent and controller files. */
    static final List<String> TOP_LEVEL = List.of("host", "repository", "controller", "control_socket", "sources", "restore",
            "metrics", "listen", "data_dir", "catalog", "auth", "policies");

    /** The {@code repository:} keys, declared once: name, whether required, what is expected. */
    public enum RepositoryKey {
        URL("url", true, "file:///absolute/path or s3://bucket/prefix"),
        ENDPOINT("endpoint", false, "an http(s) URL of an S3-compatible endpoint; omit for AWS"),
        REGION("region", false, "an S3 region such as us-east-1"),
        PATH_STYLE("path_style", false, "true or false (default false; most S3-compatible servers need true)"),
        KEY_FILE("key_file", true, "the path of the master key file (holdfast keys init)"),
        ACCESS_KEY_ID("access_key_id", false, "an S3 access key id; omit to use the AWS default credential chain"),
        SECRET_ACCESS_KEY("secret_access_key", false, "the matching secret; omit to use the AWS default credential chain");

        public final String key;
        public final boolean required;
        public final String expected;

        RepositoryKey(String key, boolean required, String expected) {
            this.key = key;
            this.required = required;
            this.expected = expected;
        }
    }

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private ConfigFile() {
    }

    /** Reads {@code file} and returns its repository location. */
    public static RepositoryLocation repository(Path file) {
        JsonNode root = read(file);
        JsonNode repo = root.get("repository");
        if (repo == null || !repo.isObject()) {
            throw invalid(file, "repository", "a mapping with url and key_file");
        }
        for (Iterator<String> it = repo.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (java.util.Arrays.stream(RepositoryKey.values()).noneMatch(d -> d.key.equals(k))) {
                throw new HoldfastException(ErrorCode.CONFIG_INVALID, file + ": unknown key 'repository." + k + "' (expected one of "
                        + java.util.Arrays.stream(RepositoryKey.values()).map(d -> d.key).toList() + ")");
            }
        }
        for (RepositoryKey d : RepositoryKey.values()) {
            JsonNode v = repo.get(d.key);
            if (d.required && (v == null || v.isNull())) {
                throw invalid(file, "repository." + d.key, d.expected + " (it is required)");
            }
            if (v != null && !v.isNull() && d != RepositoryKey.PATH_STYLE && !v.isTextual()) {
                throw invalid(file, "repository." + d.key, d.expected);
            }
        }
        JsonNode ps = repo.get("path_style");
        if (ps != null && !ps.isNull() && !ps.isBoolean()) {
            throw invalid(file, "repository.path_style", RepositoryKey.PATH_STYLE.expected);
        }
        Optional<URI> endpoint = text(repo, "endpoint").map(e -> {
            URI u = RepositoryLocation.parseUrl(e);
            if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) {
                throw invalid(file, "repository.endpoint", RepositoryKey.ENDPOINT.expected);
            }
            return u;
        });
        Path keyFile = Path.of(repo.get("key_file").asText());
        if (!keyFile.isAbsolute()) {
            Path dir = file.toAbsolutePath().getParent();
            keyFile = dir.resolve(keyFile).normalize();
        }
        try {
            return new RepositoryLocation(RepositoryLocation.parseUrl(repo.get("url").asText()), endpoint, text(repo, "region"),
                    ps != null && ps.asBoolean(), keyFile, text(repo, "access_key_id"), text(repo, "secret_access_key"));
        } catch (HoldfastException e) {
            throw new HoldfastException(e.code(), file + ": " + e.getMessage());
        }
    }

    /** Reads and checks the top level of a configuration file. */
    static JsonNode read(Path file) {
        JsonNode root;
        try {
            root = YAML.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "configuration file " + file + " does not exist");
        } catch (IOException e) {
            String msg = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "configuration file " + file + " is not valid YAML: " + msg);
        }
        if (root == null || !root.isObject()) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "configuration file " + file + " must be a YAML mapping");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!TOP_LEVEL.contains(k)) {
                throw new HoldfastException(ErrorCode.CONFIG_INVALID, file + ": unknown key '" + k + "' (expected one of " + TOP_LEVEL + ")");
            }
        }
        return root;
    }

    private static Optional<String> text(JsonNode n, String key) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v.asText());
    }

    private static HoldfastException invalid(Path file, String key, String expected) {
        return new HoldfastException(ErrorCode.CONFIG_INVALID, file + ": '" + key + "' must be " + expected);
    }
}
