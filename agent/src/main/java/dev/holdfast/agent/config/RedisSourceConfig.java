package dev.holdfast.agent.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A {@code type: redis} source, run by {@code dev.holdfast.agent.redis.RedisSource} (docs/redis.md).
 *
 * @param name        the source's name
 * @param uri         {@code redis://} or {@code rediss://} URI; may hold a password, never shown (see {@link Redact#uri})
 * @param dir         Redis's data directory (where the RDB and {@code appendonlydir} are), absolute
 * @param aofInterval how often the AOF's new bytes are shipped ({@code aof_interval}, 200ms-60s, default 1s)
 */
public record RedisSourceConfig(String name, String uri, Path dir, Duration aofInterval) implements SourceConfig {
    public static final String TYPE = "redis";
    public static final Duration DEFAULT_AOF_INTERVAL = Duration.ofSeconds(1);
    static final Duration MIN_AOF_INTERVAL = Duration.ofMillis(200);
    static final Duration MAX_AOF_INTERVAL = Duration.ofSeconds(60);
    /** A {@code sources[]} entry of type redis. */
    public static final ConfigSection SECTION = ConfigSection.section("sources[] (type: redis)",
                    "A Redis 7 server: continuous AOF shipping and RDB snapshots (docs/redis.md).")
            .key("name", "1-63 of [A-Za-z0-9_-], starting with a letter or digit; unique", "required", "The source's name.")
            .key("type", "redis", "required", "The source type.")
            .key("uri", "redis:// or rediss:// URI; secret, never shown", "required", "How the agent connects (BGSAVE, INFO).")
            .key("dir", "absolute path", "required", "Redis's data directory (where `appendonlydir` and the RDB file are).")
            .key("aof_interval", "duration, " + MIN_AOF_INTERVAL.toMillis() + "ms to " + MAX_AOF_INTERVAL.toSeconds() + "s",
                    DEFAULT_AOF_INTERVAL.toSeconds() + "s", "How often the AOF's new bytes are shipped: the Redis RPO's upper bound.")
            .build();
    static final List<String> KEYS = SECTION.names();

    public RedisSourceConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(aofInterval, "aofInterval");
    }

    /** With the default {@code aof_interval}. */
    public RedisSourceConfig(String name, String uri, Path dir) {
        this(name, uri, dir, DEFAULT_AOF_INTERVAL);
    }

    @Override
    public String type() {
        return TYPE;
    }

    static RedisSourceConfig parse(ConfigNode n, String name) {
        n.allowOnly(KEYS);
        String uri = n.string("uri", "a redis:// or rediss:// URI");
        if (!uri.startsWith("redis://") && !uri.startsWith("rediss://")) {
            throw n.invalid("uri", "a redis:// or rediss:// URI");
        }
        try {
            checkUri(name, uri);
        } catch (dev.holdfast.error.HoldfastException e) {
            throw n.failAt("uri", e.getMessage());
        }
        return new RedisSourceConfig(name, uri, n.absolutePath("dir"),
                n.duration("aof_interval", MIN_AOF_INTERVAL, MAX_AOF_INTERVAL, DEFAULT_AOF_INTERVAL));
    }

    /**
     * Parses {@code uri} as the Redis client does. Its parser's messages quote the whole URI (the
     * password too), so a failure is rethrown with the URI redacted and no cause attached.
     */
    public static io.lettuce.core.RedisURI checkUri(String source, String uri) {
        try {
            return io.lettuce.core.RedisURI.create(uri);
        } catch (RuntimeException e) {
            throw new dev.holdfast.error.HoldfastException(dev.holdfast.error.ErrorCode.CONFIG_INVALID, "uri of source " + source
                    + " is not a valid redis:// URI (" + shown(uri) + "); characters such as ^ { } | \" < > and space in the password"
                    + " must be percent-encoded");
        }
    }

    /** The URI with everything between "://" and the last '@' hidden (Redact.uri stops at a space). */
    private static String shown(String uri) {
        int at = uri.lastIndexOf('@');
        int scheme = uri.indexOf("://");
        return Redact.uri(at < 0 || scheme < 0 || at < scheme ? uri : uri.substring(0, scheme + 3) + "****" + uri.substring(at));
    }

    @Override
    public String toString() {
        return "RedisSourceConfig[name=" + name + ", uri=" + Redact.uri(uri) + ", dir=" + dir + ", aofInterval=" + aofInterval + "]";
    }
}
