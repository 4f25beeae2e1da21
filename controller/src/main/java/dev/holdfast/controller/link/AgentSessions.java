package dev.holdfast.controller.link;

import dev.holdfast.protocol.v1.ControllerMessage;
import io.vertx.core.Future;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The open links, by host. At most one per host: a new link from the same host replaces (and
 * closes) the older one, which is what a reconnect after a half-open connection looks like.
 */
public final class AgentSessions {
    private final ConcurrentHashMap<String, AgentSession> byHost = new ConcurrentHashMap<>();

    /** Registers a session; returns the one it replaced. */
    Optional<AgentSession> put(AgentSession s) {
        AgentSession old = byHost.put(s.host(), s);
        if (old != null && old != s) {
            old.close();
        }
        return Optional.ofNullable(old);
    }

    /** Removes the session if it is still the host's current one; true if it was. */
    boolean remove(AgentSession s) {
        return byHost.remove(s.host(), s);
    }

    public Optional<AgentSession> get(String host) {
        return Optional.ofNullable(byHost.get(host)).filter(AgentSession::isOpen);
    }

    public boolean connected(String host) {
        return get(host).isPresent();
    }

    public int count() {
        return byHost.size();
    }

    public List<String> hosts() {
        return List.copyOf(byHost.keySet());
    }

    /** Sends to a host's current link; fails when it has none. */
    public Future<Void> send(String host, ControllerMessage m) {
        return get(host).map(s -> s.send(m)).orElseGet(() -> Future.failedFuture("agent " + host + " is not connected"));
    }

    /** Ends every link (controller shutdown). */
    public void closeAll() {
        for (AgentSession s : List.copyOf(byHost.values())) {
            byHost.remove(s.host(), s);
            s.close();
        }
    }
}
