package dev.holdfast.repository.store.s3;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Where and how {@link S3ObjectStore} reaches its bucket. Built with {@link #builder(String)}; every
 * option has a default and is validated once, here ({@code CONFIG_INVALID} names the option).
 *
 * <p>{@link #toString()} never prints the secret access key, and endpoints are shown without any
 * user-info part, so a config may be logged as is.
 *
 * @param bucket            the bucket (3-63 characters)
 * @param prefix            key prefix inside the bucket: empty, or ending with {@code /} (a missing
 *                          trailing slash is added; a leading one is removed). The repository's
 *                          object {@code k} is stored as {@code prefix + k}; listings strip it
 * @param endpoint          endpoint override for S3-compatible servers, e.g. {@code http://127.0.0.1:9000};
 *                          empty for AWS itself
 * @param region            signing region; default {@code us-east-1}
 * @param pathStyle         path-style addressing ({@code http://host/bucket/key}); most S3-compatible
 *                          servers need it. Default false
 * @param credentials       explicit keys, or empty for the SDK's default provider chain (environment,
 *                          profile, container or instance role)
 * @param maxConcurrency    most concurrent HTTP connections; default 64
 * @param connectTimeout    TCP connect timeout; default 10 s
 * @param ioTimeout         longest silence while reading or writing a response or request; default 60 s
 * @param attemptTimeout    longest time one HTTP attempt may take in total; default 10 min (a 64 MiB part
 *                          on a slow link must fit in it)
 * @param conditionalWrites how create-if-absent is enforced; default {@link ConditionalWrites#AUTO}
 * @param objectLock        whether Object Lock options may be used; default {@link ObjectLockSupport#AUTO}
 */
public record S3StoreConfig(
        String bucket,
        String prefix,
        Optional<URI> endpoint,
        String region,
        boolean pathStyle,
        Optional<StaticCredentials> credentials,
        int maxConcurrency,
        Duration connectTimeout,
        Duration ioTimeout,
        Duration attemptTimeout,
        ConditionalWrites conditionalWrites,
        ObjectLockSupport objectLock) {

    /** How {@link S3ObjectStore} makes "create only if absent" hold. */
    public enum ConditionalWrites {
        /** Probe the server once when the store opens: native if it honours {@code If-None-Match: *}, else emulated. */
        AUTO,
        /** Always send {@code If-None-Match: *}; a server that refuses it fails the write. */
        NATIVE,
        /**
         * Check with HEAD before writing, never sending {@code If-None-Match}. Leaves a race between two
         * writers of one key; {@code StoreCapabilities.atomicCreate()} is then false.
         */
        EMULATED
    }

    /** Whether the bucket can honour Object Lock retention and legal holds. */
    public enum ObjectLockSupport {
        /** Read the bucket's Object Lock configuration when the store opens. */
        AUTO,
        /**
         * The operator asserts the bucket has Object Lock enabled (for credentials that may not read
         * the bucket configuration); a server that refuses the headers fails the write.
         */
        ENABLED,
        /** Refuse every write that asks for retention or a legal hold. */
        DISABLED
    }

    /**
     * An access key pair. {@link #toString()} shows the key id only.
     *
     * @param accessKeyId     the access key id (not secret; appears in server logs)
     * @param secretAccessKey the secret; never printed
     */
    public record StaticCredentials(String accessKeyId, String secretAccessKey) {
        public StaticCredentials {
            if (accessKeyId == null || accessKeyId.isBlank()) {
                throw invalid("credentials", "the access key id is empty");
            }
            if (secretAccessKey == null || secretAccessKey.isEmpty()) {
                throw invalid("credentials", "the secret access key is empty");
            }
        }

        @Override
        public String toString() {
            return "StaticCredentials[accessKeyId=" + accessKeyId + ", secretAccessKey=(hidden)]";
        }
    }

    public S3StoreConfig {
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(credentials, "credentials");
        if (bucket == null || bucket.length() < 3 || bucket.length() > 63 || !bucket.matches("[a-z0-9][a-z0-9.-]*[a-z0-9]")) {
            throw invalid("bucket", "'" + bucket + "' is not a valid bucket name (3-63 of [a-z0-9.-])");
        }
        prefix = normalizePrefix(prefix);
        if (region == null || region.isBlank()) {
            throw invalid("region", "it is empty");
        }
        endpoint.ifPresent(e -> {
            if (e.getScheme() == null || !(e.getScheme().equals("http") || e.getScheme().equals("https")) || e.getHost() == null) {
                throw invalid("endpoint", "'" + redact(e) + "' is not an http(s) URL with a host");
            }
        });
        if (maxConcurrency < 1) {
            throw invalid("maxConcurrency", "must be at least 1, is " + maxConcurrency);
        }
        requirePositive("connectTimeout", connectTimeout);
        requirePositive("ioTimeout", ioTimeout);
        requirePositive("attemptTimeout", attemptTimeout);
        Objects.requireNonNull(conditionalWrites, "conditionalWrites");
        Objects.requireNonNull(objectLock, "objectLock");
    }

    /** A builder with every default set; only the bucket is required. */
    public static Builder builder(String bucket) {
        return new Builder(bucket);
    }

    /** A builder starting from this configuration. */
    public Builder toBuilder() {
        Builder b = new Builder(bucket);
        b.prefix = prefix;
        b.endpoint = endpoint;
        b.region = region;
        b.pathStyle = pathStyle;
        b.credentials = credentials;
        b.maxConcurrency = maxConcurrency;
        b.connectTimeout = connectTimeout;
        b.ioTimeout = ioTimeout;
        b.attemptTimeout = attemptTimeout;
        b.conditionalWrites = conditionalWrites;
        b.objectLock = objectLock;
        return b;
    }

    /** {@code s3://bucket/prefix}, plus the endpoint when overridden; never credentials. */
    public String describe() {
        return "s3://" + bucket + "/" + prefix + endpoint.map(e -> " (endpoint " + redact(e) + ")").orElse("");
    }

    @Override
    public String toString() {
        return "S3StoreConfig[bucket=" + bucket + ", prefix=" + prefix + ", endpoint=" + endpoint.map(S3StoreConfig::redact).orElse("(AWS)")
                + ", region=" + region + ", pathStyle=" + pathStyle
                + ", credentials=" + credentials.map(StaticCredentials::toString).orElse("(default provider chain)")
                + ", maxConcurrency=" + maxConcurrency + ", connectTimeout=" + connectTimeout + ", ioTimeout=" + ioTimeout
                + ", attemptTimeout=" + attemptTimeout + ", conditionalWrites=" + conditionalWrites + ", objectLock=" + objectLock + "]";
    }

    /** The endpoint without user-info, query or fragment, which could carry credentials. */
    static String redact(URI uri) {
        try {
            return new URI(uri.getScheme(), null, uri.getHost(), uri.getPort(), uri.getPath(), null, null).toString();
        } catch (URISyntaxException e) {
            return uri.getScheme() + "://" + uri.getHost();
        }
    }

    private static String normalizePrefix(String p) {
        if (p == null) {
            return "";
        }
        String s = p;
        while (s.startsWith("/")) {
            s = s.substring(1);
        }
        if (!s.isEmpty() && !s.endsWith("/")) {
            s = s + "/";
        }
        if (s.contains("//")) {
            throw invalid("prefix", "'" + p + "' has an empty path segment");
        }
        return s;
    }

    private static void requirePositive(String name, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw invalid(name, "must be a positive duration, is " + d);
        }
    }

    private static HoldfastException invalid(String option, String problem) {
        return new HoldfastException(ErrorCode.CONFIG_INVALID, "invalid S3 store option '" + option + "': " + problem);
    }

    /** Fluent construction; {@link #build()} validates. */
    public static final class Builder {
        private final String bucket;
        private String prefix = "";
        private Optional<URI> endpoint = Optional.empty();
        private String region = "us-east-1";
        private boolean pathStyle;
        private Optional<StaticCredentials> credentials = Optional.empty();
        private int maxConcurrency = 64;
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration ioTimeout = Duration.ofSeconds(60);
        private Duration attemptTimeout = Duration.ofMinutes(10);
        private ConditionalWrites conditionalWrites = ConditionalWrites.AUTO;
        private ObjectLockSupport objectLock = ObjectLockSupport.AUTO;

        private Builder(String bucket) {
            this.bucket = bucket;
        }

        public Builder prefix(String prefix) {
            this.prefix = prefix;
            return this;
        }

        public Builder endpoint(URI endpoint) {
            this.endpoint = Optional.ofNullable(endpoint);
            return this;
        }

        public Builder region(String region) {
            this.region = region;
            return this;
        }

        public Builder pathStyle(boolean pathStyle) {
            this.pathStyle = pathStyle;
            return this;
        }

        public Builder credentials(String accessKeyId, String secretAccessKey) {
            this.credentials = Optional.of(new StaticCredentials(accessKeyId, secretAccessKey));
            return this;
        }

        /** Use the SDK's default provider chain. */
        public Builder defaultCredentials() {
            this.credentials = Optional.empty();
            return this;
        }

        public Builder maxConcurrency(int maxConcurrency) {
            this.maxConcurrency = maxConcurrency;
            return this;
        }

        public Builder connectTimeout(Duration connectTimeout) {
            this.connectTimeout = connectTimeout;
            return this;
        }

        public Builder ioTimeout(Duration ioTimeout) {
            this.ioTimeout = ioTimeout;
            return this;
        }

        public Builder attemptTimeout(Duration attemptTimeout) {
            this.attemptTimeout = attemptTimeout;
            return this;
        }

        public Builder conditionalWrites(ConditionalWrites conditionalWrites) {
            this.conditionalWrites = conditionalWrites;
            return this;
        }

        public Builder objectLock(ObjectLockSupport objectLock) {
            this.objectLock = objectLock;
            return this;
        }

        public S3StoreConfig build() {
            return new S3StoreConfig(bucket, prefix, endpoint, region, pathStyle, credentials, maxConcurrency,
                    connectTimeout, ioTimeout, attemptTimeout, conditionalWrites, objectLock);
        }
    }
}
