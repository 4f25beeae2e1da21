package dev.holdfast.agent.daemon;

import dev.holdfast.agent.config.SourceConfig;

/**
 * Creates the {@link AgentSource} for one configured source of a type. Factories are registered by
 * type ({@link AgentSources#defaults()}); the daemon refuses to start with a source whose type has
 * no factory.
 */
@FunctionalInterface
public interface SourceFactory {
    /**
     * Creates (does not start) the source for {@code config}. Cheap and non-blocking: connections
     * are made in {@link AgentSource#start()}.
     *
     * @param config the source's validated configuration (cast to the type's record, e.g.
     *               {@link dev.holdfast.agent.config.PostgresSourceConfig})
     * @param ctx    what the agent shares with its sources
     * @throws dev.holdfast.error.HoldfastException when the configuration cannot work (the daemon
     *                                              then starts nothing)
     */
    AgentSource create(SourceConfig config, AgentContext ctx);
}
