package dev.holdfast.agent.config;

import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.RepositoryLocation;
import java.net.URI;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The {@code repository:} section, shared by the agent and controller files (INTERFACE.md) and by
 * every CLI command that takes {@code --config}. A relative {@code key_file} is relative to the
 * configuration file's directory.
 */
public final class RepositorySection {
    /** The {@code repository:} keys, declared once: name, whether required, what is expected. */
    public enum Key {
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

        Key(String key, boolean required, String expected) {
            this.key = key;
            this.required = required;
            this.expected = expected;
        }
    }

    /** The {@code repository:} mapping, from {@link Key}. */
    public static final ConfigSection SECTION;

    static {
        ConfigSection.Builder b = ConfigSection.section("repository",
                "The repository (a directory or an S3 bucket) and the master key that opens it; the same in the agent's and the controller's file.");
        b.key(Key.URL.key, Key.URL.expected, "required", "Where the repository is.");
        b.key(Key.ENDPOINT.key, Key.ENDPOINT.expected, "AWS", "The S3 API endpoint of another provider or a local server.");
        b.key(Key.REGION.key, Key.REGION.expected, "us-east-1", "The S3 region.");
        b.key(Key.PATH_STYLE.key, "true | false", "false", "Address the bucket in the path (most S3-compatible servers need it).");
        b.key(Key.KEY_FILE.key, "path (relative: to this file's directory)", "required",
                "The master key file (`holdfast keys init`), mode 0600; never stored in the repository.");
        b.key(Key.ACCESS_KEY_ID.key, "string", "the AWS default credential chain", "S3 credentials; give both or neither.");
        b.key(Key.SECRET_ACCESS_KEY.key, "string; secret, never shown", "the AWS default credential chain", "The matching secret.");
        SECTION = b.build();
        if (!SECTION.names().equals(Arrays.stream(Key.values()).map(k -> k.key).toList())) {
            throw new AssertionError("repository section and keys differ");
        }
    }

    /** The allowed key names, in declaration order. */
    public static final List<String> KEYS = SECTION.names();

    private RepositorySection() {
    }

    /**
     * The repository location of a configuration file's top level.
     *
     * @throws HoldfastException {@code CONFIG_INVALID} naming the file and the key
     */
    public static RepositoryLocation parse(ConfigNode root) {
        ConfigNode repo = root.mapping("repository", "a mapping with url and key_file");
        repo.allowOnly(KEYS);
        String url = repo.string(Key.URL.key, Key.URL.expected);
        Optional<URI> endpoint = repo.optionalString(Key.ENDPOINT.key, Key.ENDPOINT.expected).map(e -> {
            URI u = parseUrl(repo, Key.ENDPOINT, e);
            if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) {
                throw repo.invalid(Key.ENDPOINT.key, Key.ENDPOINT.expected);
            }
            return u;
        });
        Optional<String> region = repo.optionalString(Key.REGION.key, Key.REGION.expected);
        boolean pathStyle = repo.has(Key.PATH_STYLE.key) && booleanOf(repo);
        Path keyFile = Path.of(repo.string(Key.KEY_FILE.key, Key.KEY_FILE.expected));
        if (!keyFile.isAbsolute()) {
            keyFile = root.file().toAbsolutePath().getParent().resolve(keyFile).normalize();
        }
        Optional<String> accessKeyId = repo.optionalString(Key.ACCESS_KEY_ID.key, Key.ACCESS_KEY_ID.expected);
        Optional<String> secret = repo.optionalString(Key.SECRET_ACCESS_KEY.key, Key.SECRET_ACCESS_KEY.expected);
        URI parsed = parseUrl(repo, Key.URL, url);
        try {
            return new RepositoryLocation(parsed, endpoint, region, pathStyle, keyFile, accessKeyId, secret);
        } catch (HoldfastException e) {
            // RepositoryLocation names the URL (never a secret); add the file and key path.
            throw new HoldfastException(e.code(), root.file() + ": repository: " + e.getMessage());
        }
    }

    private static boolean booleanOf(ConfigNode repo) {
        if (!repo.raw().get(Key.PATH_STYLE.key).isBoolean()) {
            throw repo.invalid(Key.PATH_STYLE.key, Key.PATH_STYLE.expected);
        }
        return repo.raw().get(Key.PATH_STYLE.key).asBoolean();
    }

    private static URI parseUrl(ConfigNode repo, Key key, String value) {
        try {
            return RepositoryLocation.parseUrl(value);
        } catch (HoldfastException e) {
            throw repo.invalid(key.key, key.expected);
        }
    }
}
