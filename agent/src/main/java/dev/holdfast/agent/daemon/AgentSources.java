package dev.holdfast.agent.daemon;

import dev.holdfast.agent.config.PostgresSourceConfig;
import dev.holdfast.agent.config.RedisSourceConfig;
import dev.holdfast.agent.postgres.PostgresSource;
import dev.holdfast.agent.redis.RedisSource;
import java.util.Map;

/**
 * The production registry of source factories, by type: what {@code holdfast agent run} starts
 * with. A configured source whose type is missing here is refused at start-up.
 */
public final class AgentSources {
    private AgentSources() {
    }

    /**
     * The factories of this build, by {@link AgentSource#type()}.
     *
     * <p>{@code postgres}: {@link PostgresSource}. {@code redis}: {@link RedisSource}. Other types
     * are refused as "not supported by this version yet".
     */
    public static Map<String, SourceFactory> defaults() {
        return Map.of(PostgresSourceConfig.TYPE, PostgresSource::new,
                RedisSourceConfig.TYPE, RedisSource::new);
    }
}
