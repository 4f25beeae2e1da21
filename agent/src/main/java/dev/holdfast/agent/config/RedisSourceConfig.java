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
    static final List<String> KEYS = List.of("name", "type", "uri", "dir", "aof_interval");

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
        return new RedisSourceConfig(name, uri, n.absolutePath("dir"),
                n.duration("aof_interval", MIN_AOF_INTERVAL, MAX_AOF_INTERVAL, DEFAULT_AOF_INTERVAL));
    }

    @Override
    public String toString() {
        return "RedisSourceConfig[name=" + name + ", uri=" + Redact.uri(uri) + ", dir=" + dir + ", aofInterval=" + aofInterval + "]";
    }
}
