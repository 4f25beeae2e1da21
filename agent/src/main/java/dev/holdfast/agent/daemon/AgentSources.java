package dev.holdfast.agent.daemon;

import dev.holdfast.agent.config.FilesSourceConfig;
import dev.holdfast.agent.config.PostgresSourceConfig;
import dev.holdfast.agent.config.RedisSourceConfig;
import dev.holdfast.agent.files.FilesSource;
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
     * <p>{@code postgres}: {@link PostgresSource}; {@code redis}: {@link RedisSource}; {@code files}:
     * {@link FilesSource}. A source of another type is refused as "not supported by this version yet".
     */
    public static Map<String, SourceFactory> defaults() {
        return Map.of(PostgresSourceConfig.TYPE, PostgresSource::new, RedisSourceConfig.TYPE, RedisSource::new,
                FilesSourceConfig.TYPE, FilesSource::new);
    }
}
