package dev.holdfast.agent.daemon;

import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.control.ControlServer;
import dev.holdfast.agent.pipeline.UploadPipeline;
import dev.holdfast.repository.Repository;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import java.security.SecureRandom;
import java.time.Clock;

/**
 * What the agent shares with its sources. Everything here belongs to the daemon: sources use it
 * and never close it. Valid from {@link SourceFactory#create} until the source's
 * {@link AgentSource#stop()} completes.
 */
public interface AgentContext {
    /** The agent's Vert.x instance. */
    Vertx vertx();

    /** The open repository (its store, keys, configuration). */
    Repository repository();

    /** The upload pipeline writing into {@link #repository()}'s store. */
    UploadPipeline pipeline();

    /** Where sources register their meters (exported at {@code GET /metrics}); name them {@code holdfast.<source type>.*}. */
    MeterRegistry meters();

    /** The clock: sources never call {@code Instant.now()}. */
    Clock clock();

    /** The randomness source. */
    SecureRandom random();

    /** The agent's event log; a source logs through {@code log().with("source", name)}. */
    EventLog log();

    /** The local control socket, for {@link ControlServer#route} (e.g. {@code POST /v1/wal/push}). */
    ControlServer control();

    /** The whole validated configuration. */
    AgentConfig config();
}
