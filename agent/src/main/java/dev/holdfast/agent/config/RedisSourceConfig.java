package dev.holdfast.agent.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A {@code type: redis} source, run by {@code dev.holdfast.agent.redis.RedisSource} (docs/redis.md).
 *
 * @param name the source's name
 * @param uri  {@code redis://} or {@code rediss://} URI; may hold a password, never shown (see {@link Redact#uri})
 * @param dir  Redis's data directory (where the RDB and {@code appendonlydir} are), absolute
 */
public record RedisSourceConfig(String name, String uri, Path dir) implements SourceConfig {
    public static final String TYPE = "redis";
    static final List<String> KEYS = List.of("name", "type", "uri", "dir");

    public RedisSourceConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(dir, "dir");
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
        return new RedisSourceConfig(name, uri, n.absolutePath("dir"));
    }

    @Override
    public String toString() {
        return "RedisSourceConfig[name=" + name + ", uri=" + Redact.uri(uri) + ", dir=" + dir + "]";
    }
}
