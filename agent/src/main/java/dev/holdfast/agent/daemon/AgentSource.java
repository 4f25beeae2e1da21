package dev.holdfast.agent.daemon;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/**
 * A running source of the agent: a PostgreSQL cluster's WAL, a Redis instance, a set of files.
 * Created by the {@link SourceFactory} registered for its type; started and stopped by the
 * {@link AgentDaemon}, on a Vert.x event-loop context. Implementations never block that thread
 * (blocking work goes to {@code vertx.executeBlocking} or a worker executor).
 *
 * <h2>Durability (DESIGN.md section 1: acknowledge only what is durable)</h2>
 * A source acknowledges data to its server (a replication slot's flush position, an
 * {@code archive_command}'s HTTP 200 through the control socket, ...) only after the object
 * holding it is complete in the repository. This holds while it runs and while it stops: what was
 * in flight when {@link #stop()} was called is either finished and then acknowledged, or abandoned
 * unacknowledged, so that the server keeps it and sends it again to the next agent. A source keeps
 * no local queue that could silently drop data.
 */
public interface AgentSource {
    /** The source's name from the configuration (unique on this host). */
    String name();

    /** Its type from the configuration: {@code postgres}, {@code redis}, {@code files}. */
    String type();

    /**
     * Starts the source: connects, checks (e.g. the data directory exists, the cluster matches the
     * repository), registers its control-socket routes, begins shipping. The future succeeds once
     * the source runs; it fails with a {@code HoldfastException} whose message says what is wrong,
     * and the daemon then stops everything (nothing runs half-configured). Called once.
     */
    Future<Void> start();

    /**
     * Stops the source: stops taking new work, lets in-flight uploads finish or abandons them
     * (never acknowledging anything not durable, see the class comment), closes its connections.
     * The future completes when nothing of the source runs any more. Called at most once, after
     * {@link #start()} (whatever its outcome); must tolerate a start that failed half-way. The daemon
     * bounds the whole shutdown in time, so a source should stop promptly (seconds).
     */
    Future<Void> stop();

    /**
     * The source's state for {@code GET /v1/status}, e.g. {@code {"state": "streaming",
     * "last_durable_lsn": "0/5A0001C8"}}: cheap, non-blocking, called on the event loop, never a
     * secret (use {@code Redact} for connection strings). Keys in snake_case.
     */
    JsonObject status();
}
