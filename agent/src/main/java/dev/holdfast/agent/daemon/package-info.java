/**
 * The agent daemon ({@code holdfast agent run}): {@link dev.holdfast.agent.daemon.AgentDaemon}
 * opens the repository, the upload pipeline, the local control socket and the metrics endpoint,
 * then starts every configured source through a {@link dev.holdfast.agent.daemon.SourceFactory}
 * registered for its type ({@link dev.holdfast.agent.daemon.AgentSources#defaults()} is the
 * production registry). Sources are {@link dev.holdfast.agent.daemon.AgentSource}s and reach the
 * shared parts through an {@link dev.holdfast.agent.daemon.AgentContext}. Events go to an
 * {@link dev.holdfast.agent.daemon.EventLog}, one logfmt line each (docs/operations.md).
 */
package dev.holdfast.agent.daemon;
