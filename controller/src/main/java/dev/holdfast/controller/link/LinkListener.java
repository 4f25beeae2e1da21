package dev.holdfast.controller.link;

import java.time.Duration;
import java.time.Instant;

/** What the link tells the rest of the controller (the metrics); every method is cheap and non-blocking. */
public interface LinkListener {
    LinkListener NONE = new LinkListener() {
    };

    default void agentConnected(String host, boolean connected) {
    }

    default void agentSeen(String host, Instant at) {
    }

    default void sourceRpo(String host, String source, double seconds) {
    }

    /** A backup job finished: {@code status} is succeeded or failed. */
    default void backupFinished(String status, Duration took) {
    }

    /** How long handling one heartbeat took (the scale benchmark reads it). */
    /** A drill ended: {@code rto}/{@code rpo} in seconds, negative when not measured. */
    default void drillFinished(String host, String source, boolean ok, Instant finishedAt, double rto, double rpo) {
    }

    default void heartbeatHandled(Duration took) {
    }
}
