package dev.holdfast.repository;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.fs.FsObjectStore;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a repository lives and how to reach it: the {@code repository:} section of the agent and
 * controller configuration (INTERFACE.md), or {@code --repo URL --key-file FILE} on the command
 * line. {@link #toString()} never prints the secret access key.
 *
 * @param url             {@code file:///absolute/path} or {@code s3://bucket[/prefix]}
 * @param endpoint        an S3-compatible endpoint; empty for AWS
 * @param region          S3 region; empty for the SDK's default chain (then us-east-1)
 * @param pathStyle       path-style S3 addressing (most S3-compatible servers need it)
 * @param keyFile         the master key file
 * @param accessKeyId     explicit S3 credentials; empty for the AWS default chain
 * @param secretAccessKey explicit S3 credentials; empty for the AWS default chain
 */
public record RepositoryLocation(URI url, Optional<URI> endpoint, Optional<String> region, boolean pathStyle,
                                 Path keyFile, Optional<String> accessKeyId, Optional<String> secretAccessKey) {

    public RepositoryLocation {
        Objects.requireNonNull(url, "url");
        Objects.requireNonNull(keyFile, "keyFile");
        String scheme = url.getScheme();
        if ("file".equals(scheme)) {
            if (url.getPath() == null || !url.getPath().startsWith("/")) {
                throw invalid("repository url '" + url + "' must be file:///absolute/path");
            }
        } else if ("s3".equals(scheme)) {
            if (url.getHost() == null || url.getHost().isEmpty()) {
                throw invalid("repository url '" + url + "' must name a bucket: s3://bucket/prefix");
            }
        } else {
            throw invalid("repository url '" + url + "' must start with file:// or s3://");
        }
        if (accessKeyId.isPresent() != secretAccessKey.isPresent()) {
            throw invalid("give both access_key_id and secret_access_key, or neither (to use the AWS default chain)");
        }
    }

    /** Parses a repository URL, naming it in the error. */
    public static URI parseUrl(String url) {
        try {
            return new URI(url);
        } catch (URISyntaxException e) {
            throw invalid("repository url '" + url + "' is not a valid URL: " + e.getReason());
        }
    }

    public boolean isS3() {
        return "s3".equals(url.getScheme());
    }

    /** The bucket of an s3:// URL. */
    public String bucket() {
        return url.getHost();
    }

    /** The key prefix inside the bucket of an s3:// URL, without leading or trailing slashes; may be empty. */
    public String prefix() {
        String p = url.getPath() == null ? "" : url.getPath();
        while (p.startsWith("/")) {
            p = p.substring(1);
        }
        while (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p;
    }

    /** Opens the store this location names. */
    public ObjectStore openStore(Clock clock) {
        if (isS3()) {
            return StoreFactory.s3(this, clock);
        }
        return FsObjectStore.open(Path.of(url), clock);
    }

    private static HoldfastException invalid(String message) {
        return new HoldfastException(ErrorCode.CONFIG_INVALID, message);
    }

    @Override
    public String toString() {
        return "RepositoryLocation[" + url + endpoint.map(e -> " at " + e).orElse("") + ", key file " + keyFile
                + accessKeyId.map(a -> ", access key " + a + ", secret ****").orElse("") + "]";
    }
}
