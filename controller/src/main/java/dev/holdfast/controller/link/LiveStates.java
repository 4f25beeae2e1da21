package dev.holdfast.controller.link;

import dev.holdfast.controller.catalog.Catalog;
import dev.holdfast.controller.catalog.SourceLiveState;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * The fleet's live state from heartbeats: per source its last {@link SourceLiveState}, per agent
 * its last-seen time. Heartbeats update memory only (so their handling never waits for the
 * database); {@link #flush()} writes what changed to the catalog, on a timer and at shutdown. The
 * catalog's copy is therefore at most one flush interval old; the in-memory copy is what the
 * metrics and the API overlay read.
 */
public final class LiveStates {
    private final Vertx vertx;
    private final Catalog catalog;
    private final ConcurrentHashMap<String, Map.Entry<String[], SourceLiveState>> sources = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Instant> seen = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Boolean> dirtySources = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Boolean> dirtySeen = new ConcurrentHashMap<>();
    private long timer = -1;
    private final Predicate<String> connected;
    private Future<Void> flushing = Future.succeededFuture();

    /** @param connected whether a host has a link now (written with its last-seen time) */
    public LiveStates(Vertx vertx, Catalog catalog, Predicate<String> connected) {
        this.vertx = vertx;
        this.catalog = catalog;
        this.connected = connected;
    }

    /** Flushes every {@code interval} until {@link #stop()}. */
    public void start(Duration interval) {
        timer = vertx.setPeriodic(interval.toMillis(), id -> flush());
    }

    /** Stops the timer and flushes once more. */
    public Future<Void> stop() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
            timer = -1;
        }
        return flush();
    }

    void source(String host, String source, SourceLiveState state) {
        String key = host + "/" + source;
        sources.put(key, Map.entry(new String[] {host, source}, state));
        dirtySources.put(key, Boolean.TRUE);
    }

    void seen(String host, Instant at) {
        seen.put(host, at);
        dirtySeen.put(host, Boolean.TRUE);
    }

    /** The last state reported for a source, if any since the controller started. */
    public Optional<SourceLiveState> source(String host, String source) {
        return Optional.ofNullable(sources.get(host + "/" + source)).map(Map.Entry::getValue);
    }

    /** The last time each agent was heard from, since the controller started. */
    public Map<String, Instant> lastSeen() {
        return Map.copyOf(seen);
    }

    /** Writes what changed since the last flush; one flush at a time, writes one after the other. */
    public synchronized Future<Void> flush() {
        flushing = flushing.transform(ar -> writeDirty());
        return flushing;
    }

    private Future<Void> writeDirty() {
        Future<Void> chain = Future.succeededFuture();
        for (String key : List.copyOf(dirtySources.keySet())) {
            dirtySources.remove(key);
            var e = sources.get(key);
            if (e != null) {
                chain = chain.compose(v -> catalog.sourceState(e.getKey()[0], e.getKey()[1], e.getValue()).otherwiseEmpty());
            }
        }
        for (String host : List.copyOf(dirtySeen.keySet())) {
            dirtySeen.remove(host);
            Instant at = seen.get(host);
            if (at != null) {
                chain = chain.compose(v -> catalog.agentSeen(host, connected.test(host), at).otherwiseEmpty());
            }
        }
        return chain;
    }
}
