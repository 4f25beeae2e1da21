package dev.holdfast.controller.link;

import dev.holdfast.protocol.v1.ControllerMessage;
import io.vertx.core.Future;
import io.vertx.grpc.server.GrpcServerResponse;
import java.util.Objects;

/**
 * One open link: the agent's host (from its certificate), the negotiated protocol version and the
 * stream towards the agent. Messages are written on the stream's own context.
 */
public final class AgentSession {
    private final String host;
    private final int version;
    private final GrpcServerResponse<?, ControllerMessage> out;
    private volatile boolean open = true;

    AgentSession(String host, int version, GrpcServerResponse<?, ControllerMessage> out) {
        this.host = Objects.requireNonNull(host, "host");
        this.version = version;
        this.out = Objects.requireNonNull(out, "out");
    }

    public String host() {
        return host;
    }

    public int version() {
        return version;
    }

    public boolean isOpen() {
        return open;
    }

    /** Writes a message; fails when the stream has ended. */
    public Future<Void> send(ControllerMessage message) {
        if (!open) {
            return Future.failedFuture("the link to " + host + " is closed");
        }
        return out.write(message);
    }

    /** Ends the stream (the agent reconnects). */
    void close() {
        if (open) {
            open = false;
            try {
                out.end();
            } catch (RuntimeException ignored) {
                // already reset by the peer
            }
        }
    }

    void markClosed() {
        open = false;
    }
}
