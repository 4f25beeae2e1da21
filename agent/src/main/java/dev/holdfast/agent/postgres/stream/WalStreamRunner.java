package dev.holdfast.agent.postgres.stream;

import dev.holdfast.agent.pipeline.UploadPipeline;
import dev.holdfast.agent.postgres.replication.ConnInfo;
import dev.holdfast.agent.postgres.replication.ReplicationClient;
import dev.holdfast.agent.postgres.replication.SlotInfo;
import dev.holdfast.agent.postgres.replication.StreamEnd;
import dev.holdfast.agent.postgres.replication.SystemIdentity;
import dev.holdfast.agent.wal.WalRepository;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.repository.wal.WalClusterInfo;
import dev.holdfast.repository.wal.WalFileName;
import dev.holdfast.repository.wal.WalIndex;
import dev.holdfast.repository.wal.WalLayout;
import dev.holdfast.repository.wal.WalSegmentName;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import dev.holdfast.agent.daemon.EventLog;

/**
 * Stream mode for one PostgreSQL source: connect, work out where to resume from what the
 * repository holds, stream timeline after timeline, and on any failure reconnect with back-off.
 *
 * <p>Where to resume (the repository is the truth, not local state): the end of the durable WAL on
 * the latest timeline in the repository, streamed again from the start of its segment (the server
 * keeps that segment: the slot's restart position is the last flush we reported, which is never
 * beyond it). With nothing in the repository yet, streaming starts at the slot's restart position,
 * or the server's current position for a new slot. A server on a newer timeline is followed
 * through its history (each {@code .history} file is stored before any WAL of its timeline); a
 * server whose history does not contain the repository's timeline, or that is on an older one, is
 * refused with {@code source_mismatch}: never a silent gap or a mix of two histories.
 */
public final class WalStreamRunner {
    static final Duration MIN_BACKOFF = Duration.ofSeconds(1);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    private final Vertx vertx;
    private final String source;
    private final ConnInfo conninfo;
    private final StreamSettings settings;
    private final Repository repository;
    private final UploadPipeline pipeline;
    private final Clock clock;
    private final RpoTracker rpo;
    private final WalStreamMetrics metrics;
    private final EventLog log;

    private volatile boolean stopping;
    private volatile String state = "starting";
    private volatile String lastError;
    private volatile String systemId;
    /** The last session failed with {@code wal_gap}: the next one resumes at the slot's position. */
    private boolean skipGap;
    private ReplicationClient client;
    private WalStreamSession session;
    private long backoffMillis = MIN_BACKOFF.toMillis();
    private long retryTimer = -1;
    private io.vertx.core.Context context;

    public WalStreamRunner(Vertx vertx, String source, ConnInfo conninfo, StreamSettings settings, Repository repository,
                           UploadPipeline pipeline, MeterRegistry meters, Clock clock, EventLog log) {
        this.vertx = vertx;
        this.source = WalLayout.checkSource(source);
        this.conninfo = conninfo.withApplicationName(settings.applicationName());
        this.settings = settings;
        this.repository = repository;
        this.pipeline = pipeline;
        this.clock = clock;
        this.rpo = new RpoTracker(clock);
        this.metrics = new WalStreamMetrics(meters, source, rpo::seconds);
        this.log = log;
    }

    /**
     * Starts the loop; returns at once (a database that is down at start is retried, not fatal).
     * Everything of this runner (connection, sessions, timers, upload completions) runs on the
     * context current here, or a new one: {@link #stop} hops onto it, so no state is shared
     * between threads.
     */
    public Future<Void> start() {
        context = vertx.getOrCreateContext();
        context.runOnContext(v -> attempt());
        return Future.succeededFuture();
    }

    /**
     * Stops: the current session uploads what it received, reports that as flushed and ends; nothing
     * not durable is reported. Bounded by {@code timeout}, after which the connection is closed
     * (still reporting nothing more).
     */
    public Future<Void> stop(Duration timeout) {
        Promise<Void> done = Promise.promise();
        if (context == null) {
            return Future.succeededFuture();
        }
        context.runOnContext(v -> {
            stopping = true;
            if (retryTimer >= 0) {
                vertx.cancelTimer(retryTimer);
            }
            WalStreamSession s = session;
            Future<?> ending = s == null ? Future.succeededFuture() : s.stop();
            long timer = vertx.setTimer(timeout.toMillis(), id -> done.tryComplete());
            ending.eventually(() -> client == null ? Future.succeededFuture() : client.close()).onComplete(ar -> {
                vertx.cancelTimer(timer);
                done.tryComplete();
            });
        });
        return done.future().eventually(() -> client == null ? Future.succeededFuture() : client.close()).mapEmpty();
    }

    /** A snapshot for the control socket's status and the daemon's logs. */
    public JsonObject status() {
        WalStreamSession s = session;
        JsonObject o = new JsonObject().put("mode", "stream").put("state", state).put("rpo_seconds", rpo.seconds());
        if (systemId != null) {
            o.put("system_identifier", systemId);
        }
        if (s != null) {
            o.put("received_lsn", s.received().toString()).put("durable_lsn", s.durable().toString());
        }
        if (lastError != null) {
            o.put("last_error", lastError);
        }
        return o;
    }

    /** The system identifier of the cluster being streamed, once known; else null. */
    public String systemId() {
        return systemId;
    }

    private void attempt() {
        if (stopping) {
            return;
        }
        state = "connecting";
        long startedAt = clock.millis();
        ReplicationClient.connect(vertx, conninfo, true).compose(c -> {
            client = c;
            return streamOn(c);
        }).onComplete(ar -> {
            WalStreamSession ended = session;
            if (ended != null && !stopping) {
                state = "settling"; // the failed session's uploads finish or give up before the next one starts
            }
            (ended == null ? Future.<Void>succeededFuture() : ended.settled()).onComplete(settled -> afterSession(ar, startedAt));
        });
    }

    /** After a session ended (its uploads settled): stop, or schedule the next attempt. */
    private void afterSession(io.vertx.core.AsyncResult<Void> ar, long startedAt) {
        metrics.connected(false, 0);
        ReplicationClient c = client;
        client = null;
        session = null;
        if (c != null) {
            c.close();
        }
        if (stopping) {
            state = "stopped";
            return;
        }
        Throwable cause = ar.failed() ? ar.cause() : new HoldfastException(ErrorCode.SOURCE_UNAVAILABLE, "the server ended streaming");
        metrics.errors.increment();
        lastError = describe(cause);
        HoldfastException h = HoldfastException.find(cause);
        skipGap = h != null && h.code() == ErrorCode.WAL_GAP;
        if (skipGap) {
            metrics.gaps.increment();
        }
        state = "retrying";
        if (clock.millis() - startedAt > MAX_BACKOFF.toMillis()) {
            backoffMillis = MIN_BACKOFF.toMillis(); // the session ran a while: start the back-off afresh
        }
        long delay = backoffMillis;
        backoffMillis = Math.min(backoffMillis * 2, MAX_BACKOFF.toMillis());
        log.warn("stream_error", "error", lastError, "retry_in_ms", delay);
        retryTimer = vertx.setTimer(delay, id -> {
            retryTimer = -1;
            attempt();
        });
    }

    private static String describe(Throwable t) {
        HoldfastException h = HoldfastException.find(t);
        return h != null ? h.code().code() + ": " + h.getMessage() : t.toString();
    }

    /** Identifies the server, prepares the repository and the slot, then streams until failure or stop. */
    private Future<Void> streamOn(ReplicationClient c) {
        return c.identifySystem().compose(id -> c.walSegmentSize().compose(segSize -> c.serverVersionNum().compose(version -> {
            systemId = id.systemId();
            WalLayout layout = new WalLayout(source, id.systemId());
            WalRepository repo = new WalRepository(vertx, repository, pipeline, layout, clock);
            return repo.ensureDescriptor(new WalClusterInfo(id.systemId(), segSize, version))
                    .compose(info -> ensureSlot(c))
                    .compose(slot -> repo.index().compose(index -> plan(c, repo, id, slot, index, segSize)))
                    .compose(plan -> {
                        log.info("stream_started", "start_lsn", plan.start, "timeline", plan.timeline, "system_id", id.systemId(),
                                "durable_lsn", plan.durableFrom, "slot", settings.slot());
                        return streamFrom(c, repo, segSize, plan.timeline, plan.start, plan.durableFrom);
                    });
        })));
    }

    /** The slot, and whether it existed before this session (only then does its position say what was durable). */
    private record Slot(Optional<SlotInfo> info, boolean existed) {
    }

    private Future<Slot> ensureSlot(ReplicationClient c) {
        return c.readReplicationSlot(settings.slot()).compose(slot -> {
            if (slot.isPresent()) {
                if (!"physical".equalsIgnoreCase(slot.get().type())) {
                    return Future.failedFuture(new HoldfastException(ErrorCode.CONFIG_INVALID, "source '" + source + "': replication slot '"
                            + settings.slot() + "' is a " + slot.get().type() + " slot; stream mode needs a physical one"));
                }
                return Future.succeededFuture(new Slot(slot, true));
            }
            log.info("slot_created", "slot", settings.slot());
            return c.createPhysicalSlot(settings.slot()).recover(e -> {
                HoldfastException h = HoldfastException.find(e);
                return h != null && h.code() == ErrorCode.OBJECT_EXISTS ? Future.succeededFuture() : Future.failedFuture(e);
            }).compose(v -> c.readReplicationSlot(settings.slot())).map(info -> new Slot(info, false));
        });
    }

    /**
     * Where the durable WAL of {@code tli} ends without a hole.
     *
     * <p>The slot's restart position counts as durable only when the repository holds the WAL up to
     * it: the agent moves the slot only over durable WAL, so such a position is one it reported. A
     * slot that is ahead of the repository was created afresh (its position is the server's at the
     * time) or moved by someone else, and proves nothing; the scan then starts at the first stored
     * segment. After a {@code wal_gap} (the server no longer has the WAL where the repository's
     * ends), the next attempt resumes at the slot's position, leaving the gap recorded: loud in the
     * log and the metrics, visible in {@code holdfast list}, never silent.
     */
    private Lsn resumeEnd(WalIndex index, Slot slot, int tli, long segSize) {
        Lsn first = index.firstSegment(tli).map(s -> s.startLsn(segSize)).orElseThrow(() -> new HoldfastException(
                ErrorCode.INTEGRITY_FAILURE, "source '" + source + "': timeline " + tli + " has parts but no segment covered from its start"));
        Lsn base = first;
        Lsn restart = slot.info().isPresent() && slot.info().get().restartTimeline() == tli ? slot.info().get().restartLsn() : Lsn.INVALID;
        Lsn lastByte = restart.plus(-1); // the byte before the slot's position must be stored for the position to be ours
        if (restart.isValid() && restart.compareTo(base) > 0
                && index.coveredTo(WalSegmentName.of(tli, lastByte, segSize)) > lastByte.segmentOffset(segSize)) {
            base = restart;
        }
        Lsn end = index.contiguousEnd(tli, base);
        if (skipGap && restart.isValid() && restart.compareTo(end) > 0) {
            log.error("wal_gap_skipped", "from_lsn", end, "to_lsn", restart, "slot", settings.slot(), "msg", "the server no longer has the"
                    + " WAL between these positions and the repository does not either; shipping continues from the slot's position."
                    + " Points in time inside the gap cannot be restored: take a new base backup");
            end = restart.segmentStart(segSize); // the server keeps the slot's whole segment: store it from its start
        }
        skipGap = false;
        return end;
    }

    private record Plan(int timeline, Lsn start, Lsn durableFrom) {
    }

    /** Works out where to resume; stores history files of timelines the server moved to. */
    private Future<Plan> plan(ReplicationClient c, WalRepository repo, SystemIdentity id, Slot slotState, WalIndex index,
                              long segSize) {
        int serverTli = id.timeline();
        Optional<SlotInfo> slot = slotState.info();
        Optional<Integer> latest = index.latestTimeline();
        if (latest.isEmpty()) {
            Lsn pos = slot.isPresent() && slot.get().restartLsn().isValid() ? slot.get().restartLsn() : id.xlogPos();
            Lsn start = pos.segmentStart(segSize);
            if (serverTli == 1) {
                return Future.succeededFuture(new Plan(1, start, start));
            }
            return history(c, serverTli).compose(h -> storeHistories(c, repo, 2, serverTli)
                    .map(v -> new Plan(h.timelineOf(start), start, start)));
        }
        int tli = latest.get();
        Lsn durableEnd = resumeEnd(index, slotState, tli, segSize);
        if (tli == serverTli) {
            return Future.succeededFuture(new Plan(tli, durableEnd.segmentStart(segSize), durableEnd));
        }
        if (Integer.compareUnsigned(tli, serverTli) > 0) {
            return Future.failedFuture(new HoldfastException(ErrorCode.SOURCE_MISMATCH, "source '" + source + "': the repository holds WAL of"
                    + " timeline " + tli + " but the server is on timeline " + serverTli + " (a server restored from an older backup"
                    + " without promotion?); refusing to mix histories"));
        }
        return history(c, serverTli).compose(h -> {
            Optional<Lsn> end = h.endOf(tli);
            if (end.isEmpty()) {
                return Future.failedFuture(new HoldfastException(ErrorCode.SOURCE_MISMATCH, "source '" + source + "': the server's timeline "
                        + serverTli + " does not descend from timeline " + tli + ", the repository's latest"));
            }
            return storeHistories(c, repo, tli + 1, serverTli).map(v -> {
                int next = h.childOf(tli);
                Lsn switchSegment = end.get().segmentStart(segSize);
                if (durableEnd.compareTo(end.get()) <= 0 && durableEnd.segmentStart(segSize).equals(switchSegment)) {
                    // The rest of the old timeline is in the new timeline's first segment (PostgreSQL
                    // copies it there at the switch), and the server may no longer have the old file.
                    return new Plan(next, switchSegment, switchSegment);
                }
                if (durableEnd.compareTo(end.get()) <= 0) {
                    return new Plan(tli, durableEnd.segmentStart(segSize), durableEnd);
                }
                log.warn("timeline_diverged", "timeline", next, "parent", tli, "switch_lsn", end.get(), "durable_lsn", durableEnd,
                        "msg", "the server's timeline branched off before the repository's durable end; the WAL after the switch point"
                                + " is kept as a separate branch; continuing on the new timeline");
                rpo.reset();
                Lsn start = end.get().segmentStart(segSize);
                return new Plan(next, start, start);
            });
        });
    }

    private Future<TimelineHistory> history(ReplicationClient c, int tli) {
        return c.timelineHistory(tli).map(th -> TimelineHistory.parse(tli, th.content()));
    }

    /** Stores the history files of timelines {@code from..to} (each before any WAL of its timeline). */
    private Future<Void> storeHistories(ReplicationClient c, WalRepository repo, int from, int to) {
        Future<Void> chain = Future.succeededFuture();
        for (int t = Math.max(from, 2); Integer.compareUnsigned(t, to) <= 0; t++) {
            int tli = t;
            chain = chain.compose(v -> c.timelineHistory(tli)).compose(th ->
                    repo.putFile(WalFileName.parse(WalFileName.historyName(tli)), Buffer.buffer(th.content()))).mapEmpty();
        }
        return chain;
    }

    /** Streams one timeline; at its end stores the next timeline's history and goes on there. */
    private Future<Void> streamFrom(ReplicationClient c, WalRepository repo, long segSize, int tli, Lsn start, Lsn durableFrom) {
        if (stopping) {
            return Future.succeededFuture();
        }
        state = "streaming";
        lastError = null;
        WalStreamSession s = new WalStreamSession(vertx, c, repo, settings, source, segSize, tli, start, durableFrom, rpo, metrics, clock, log);
        session = s;
        return s.run().compose(end -> {
            if (!end.endOfTimeline() || stopping) {
                return Future.succeededFuture();
            }
            int next = end.nextTimeline();
            log.info("timeline_switch", "timeline", tli, "end_lsn", end.nextTimelineStart(), "next_timeline", next);
            Lsn nextStart = end.nextTimelineStart().segmentStart(segSize);
            return storeHistories(c, repo, next, next).compose(v -> streamFrom(c, repo, segSize, next, nextStart, nextStart));
        });
    }

    @Override
    public String toString() {
        return "WalStreamRunner[" + source + ", " + conninfo + "]";
    }
}
