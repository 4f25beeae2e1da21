package dev.holdfast.agent.wal;

import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.wal.WalClusterInfo;
import dev.holdfast.repository.wal.WalFileName;
import dev.holdfast.repository.wal.WalSegmentName;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * {@code restore_command}'s fetch ({@link WalRepository#fetch}) with prefetch: a request for a
 * segment also starts fetching the next {@code prefetch} segments of the same timeline in the
 * background, so that recovery, which asks for one segment after another, finds them ready.
 *
 * <h2>Memory and freshness</h2>
 * At most {@code prefetch} segments are held or being fetched at once; each is dropped when it is
 * handed out or {@link #TTL} after it arrived, whichever comes first. Only found segments are kept:
 * "not found" is never cached (the WAL may arrive later), and costs one HEAD and one listing of the
 * segment's parts. Thread-safe.
 */
public final class WalFetcher {
    public static final int DEFAULT_PREFETCH = 8;
    public static final Duration TTL = Duration.ofSeconds(60);
    /** Prefetches running at once: each holds a segment and its decryption buffers until done. */
    static final int MAX_PARALLEL = 4;

    private final Vertx vertx;
    private final WalRepository repository;
    private final int prefetch;
    private final Clock clock;
    /** Segment name to its fetch, in flight or done; insertion order. Guarded by this. */
    private final Map<String, Cached> cache = new LinkedHashMap<>();

    /** A prefetch; {@code timer} (guarded by the fetcher) drops it after TTL if nobody asked for it. */
    private static final class Cached {
        final Future<Optional<Buffer>> result;
        final long startedMillis;
        long timer = -1;

        Cached(Future<Optional<Buffer>> result, long startedMillis) {
            this.result = result;
            this.startedMillis = startedMillis;
        }

        Future<Optional<Buffer>> result() {
            return result;
        }

        long startedMillis() {
            return startedMillis;
        }
    }

    /** @param prefetch segments to fetch ahead; 0 disables prefetch */
    public WalFetcher(Vertx vertx, WalRepository repository, int prefetch, Clock clock) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.repository = Objects.requireNonNull(repository, "repository");
        if (prefetch < 0) {
            throw new IllegalArgumentException("prefetch must be >= 0, not " + prefetch);
        }
        this.prefetch = prefetch;
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * The file's bytes, or empty when the repository does not have it (see {@link WalRepository#fetch});
     * for a segment, also starts prefetching the segments after it.
     */
    public Future<Optional<Buffer>> fetch(String pgFileName) {
        WalFileName name;
        try {
            name = WalFileName.parse(pgFileName);
        } catch (HoldfastException e) {
            return Future.failedFuture(e);
        }
        if (name.kind() != WalFileName.Kind.SEGMENT) {
            return repository.fetch(pgFileName);
        }
        Cached hit;
        synchronized (this) {
            expire();
            hit = cache.remove(name.name());
            if (hit != null) {
                cancelTimer(hit); // else its timer would keep the segment reachable for TTL
            }
        }
        Future<Optional<Buffer>> result = hit != null ? hit.result().transform(ar ->
                ar.succeeded() && ar.result().isPresent() ? Future.succeededFuture(ar.result()) : repository.fetch(pgFileName))
                : repository.fetch(pgFileName);
        if (prefetch > 0) {
            repository.descriptor().onSuccess(d -> d.ifPresent(info -> prefetchAfter(name.segment(), info)));
        }
        return result;
    }

    /** Segments held or being fetched (for tests and metrics). */
    public synchronized int cached() {
        expire();
        return cache.size();
    }

    private void prefetchAfter(WalSegmentName segment, WalClusterInfo info) {
        WalSegmentName next = segment;
        for (int i = 0; i < prefetch; i++) {
            next = next.next(info.walSegmentSize());
            String key = next.toString();
            synchronized (this) {
                if (cache.containsKey(key)) {
                    continue;
                }
                if (cache.size() >= prefetch || inFlight() >= MAX_PARALLEL) {
                    return;
                }
                // Only complete segments are kept: a padded one could be stale by the time recovery asks.
                Future<Optional<Buffer>> f = repository.fetchComplete(key);
                Cached c = new Cached(f, clock.millis());
                cache.put(key, c);
                f.onComplete(ar -> {
                    if (ar.failed() || ar.result().isEmpty()) {
                        drop(key, c);
                    } else {
                        synchronized (this) {
                            if (cache.get(key) == c) {
                                c.timer = vertx.setTimer(TTL.toMillis(), id -> drop(key, c));
                            }
                        }
                    }
                });
            }
        }
    }

    /** Guarded by this. */
    private int inFlight() {
        int n = 0;
        for (Cached c : cache.values()) {
            if (!c.result().isComplete()) {
                n++;
            }
        }
        return n;
    }

    private synchronized void drop(String key, Cached c) {
        if (cache.remove(key, c)) {
            cancelTimer(c);
        }
    }

    /** Guarded by this. */
    private void cancelTimer(Cached c) {
        if (c.timer >= 0) {
            vertx.cancelTimer(c.timer);
            c.timer = -1;
        }
    }

    /** Guarded by this: drops what arrived more than TTL ago (a backstop for the timers). */
    private void expire() {
        long now = clock.millis();
        cache.values().removeIf(c -> {
            boolean stale = c.result().isComplete() && now - c.startedMillis() > TTL.toMillis() + 5_000;
            if (stale) {
                cancelTimer(c);
            }
            return stale;
        });
    }
}
