package dev.holdfast.agent.postgres.stream;

import dev.holdfast.agent.postgres.replication.ReplicationClient;
import dev.holdfast.agent.postgres.replication.StreamEnd;
import dev.holdfast.agent.postgres.replication.WalListener;
import dev.holdfast.agent.wal.WalRepository;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.repository.wal.WalSegmentName;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import dev.holdfast.agent.daemon.EventLog;

/**
 * One START_REPLICATION on one timeline: assembles segments from XLogData, uploads parts and
 * complete segments, and reports as flushed only what {@link DurableRanges} says is durable.
 *
 * <p>Runs entirely on the replication connection's event-loop context (listener callbacks, timers
 * and upload completions), so its state needs no locks. Contract: {@link #run} completes with the
 * server's {@link StreamEnd} once everything received has been made durable (end of timeline, or
 * {@link #stop} asked for it); it fails, closing the connection, as soon as any upload fails or the
 * server misbehaves. A failed session loses nothing: what was not durable was never acknowledged,
 * so the server's slot still holds it and the next session streams it again.
 */
final class WalStreamSession implements WalListener {

    private final Vertx vertx;
    private final ReplicationClient client;
    private final WalRepository repo;
    private final StreamSettings settings;
    private final long segmentSize;
    private final int timeline;
    private final DurableRanges durable;
    private final RpoTracker rpo;
    private final WalStreamMetrics metrics;
    private final Clock clock;
    private final String source;
    private final Promise<StreamEnd> result = Promise.promise();
    private final Set<Future<?>> inFlight = new HashSet<>();
    private final EventLog log;

    private Buffer segment;
    private Lsn segmentStart;
    private long partFrom;
    private int partsInSegment;
    private int partsInFlight;
    private int segmentUploads;
    private boolean paused;
    private boolean ending;
    private Lsn received;
    private Lsn reported = Lsn.INVALID;
    private long partTimer = -1;
    /** When the oldest received byte not yet in a part arrived; -1 when there is none. */
    private long pendingSinceMillis = -1;
    /** Recent time to make a part durable (moving average), to start uploads early enough. */
    private double uploadEstimateMillis = StreamSettings.INITIAL_UPLOAD_ESTIMATE.toMillis();
    private long statusTimer = -1;

    /**
     * @param start        where streaming starts: the start of a segment
     * @param durableFrom  everything before this is already durable in the repository ({@code >= start})
     */
    WalStreamSession(Vertx vertx, ReplicationClient client, WalRepository repo, StreamSettings settings, String source,
                     long segmentSize, int timeline, Lsn start, Lsn durableFrom, RpoTracker rpo, WalStreamMetrics metrics,
                     Clock clock, EventLog log) {
        if (start.segmentOffset(segmentSize) != 0 || durableFrom.compareTo(start) < 0) {
            throw new IllegalArgumentException("a session starts at a segment boundary at or before the durable position");
        }
        this.vertx = vertx;
        this.client = client;
        this.repo = repo;
        this.settings = settings;
        this.source = source;
        this.segmentSize = segmentSize;
        this.timeline = timeline;
        this.durable = new DurableRanges(durableFrom);
        this.rpo = rpo;
        this.metrics = metrics;
        this.clock = clock;
        this.log = log;
        this.segmentStart = start;
        this.segment = Buffer.buffer((int) segmentSize);
        this.received = start;
        this.partFrom = durableFrom.minus(start) >= segmentSize ? segmentSize : durableFrom.minus(start);
    }

    /** Starts streaming; the future completes as described in the class comment. */
    Future<StreamEnd> run() {
        metrics.connected(true, timeline);
        partTimer = vertx.setPeriodic(Math.max(10, Math.min(StreamSettings.TICK.toMillis(), settings.partialInterval().toMillis() / 4)),
                id -> partDue());
        statusTimer = vertx.setPeriodic(StreamSettings.STATUS_INTERVAL.toMillis(), id -> sendStatus(false));
        client.startReplication(settings.slot(), segmentStart, timeline, this).onComplete(ar -> {
            if (ar.failed()) {
                fail(ar.cause());
            } else {
                finish(ar.result());
            }
        });
        return result.future().onComplete(ar -> {
            vertx.cancelTimer(partTimer);
            vertx.cancelTimer(statusTimer);
            metrics.connected(false, timeline);
        });
    }

    /**
     * Ends the session gracefully: uploads what was received, reports it as flushed, then asks the
     * server to stop (CopyDone). {@link #run}'s future completes when the server has confirmed.
     */
    Future<StreamEnd> stop() {
        if (!ending && !result.future().isComplete()) {
            ending = true;
            drainAll().onComplete(ar -> {
                if (ar.failed()) {
                    fail(ar.cause());
                    return;
                }
                sendStatus(false);
                client.stopReplication().onFailure(this::fail);
            });
        }
        return result.future();
    }

    /**
     * Completes once no upload this session started is still running (they keep their buffers until
     * the store answers or its retries give up). The next session waits for it, so failed sessions
     * never pile up buffers while the store is down.
     */
    Future<Void> settled() {
        List<Future<?>> pending = new ArrayList<>(inFlight);
        return pending.isEmpty() ? Future.succeededFuture() : Future.join(pending).<Void>mapEmpty().otherwiseEmpty();
    }

    /** The durable end of WAL so far. */
    Lsn durable() {
        return durable.durable();
    }

    Lsn received() {
        return received;
    }

    @Override
    public void onData(Lsn start, Lsn serverWalEnd, Instant serverTime, Buffer data) {
        if (result.future().isComplete()) {
            return;
        }
        if (!start.equals(received)) {
            fail(new HoldfastException(ErrorCode.SOURCE_ERROR, "source '" + source + "': the server sent WAL at " + start
                    + " but the stream was at " + received + "; restarting the session"));
            return;
        }
        metrics.server(serverWalEnd);
        int offset = 0;
        int length = data.length();
        while (offset < length) {
            int room = (int) (segmentSize - segment.length());
            int n = Math.min(room, length - offset);
            segment.appendBuffer(data, offset, n);
            offset += n;
            received = received.plus(n);
            if (segment.length() == segmentSize) {
                completeSegment();
            }
        }
        if (segment.length() > partFrom && pendingSinceMillis < 0) {
            pendingSinceMillis = clock.millis();
        }
        rpo.received(received);
        rpo.durable(durable.durable()); // bytes streamed again after a reconnect are durable already
        metrics.received(received);
        if (settings.synchronous()) {
            maybeUploadPart();
        }
    }

    @Override
    public void onKeepalive(Lsn serverWalEnd, Instant serverTime, boolean replyRequested) {
        metrics.server(serverWalEnd);
        if (replyRequested) {
            sendStatus(false);
        }
    }

    private void completeSegment() {
        WalSegmentName name = WalSegmentName.of(timeline, segmentStart, segmentSize);
        Buffer full = segment;
        Lsn from = segmentStart;
        Lsn to = segmentStart.plus(segmentSize);
        long tailFrom = partFrom;
        segment = Buffer.buffer((int) segmentSize);
        segmentStart = to;
        partFrom = 0;
        pendingSinceMillis = -1; // the complete segment carries what no part did
        partsInSegment = 0;
        if (durable.durable().compareTo(to) >= 0) {
            return; // already in the repository (a resumed session re-streams the segment it resumes in)
        }
        Future<?> tailDone = Future.succeededFuture();
        if (tailFrom > 0 && tailFrom < segmentSize) {
            // The bytes after the last part go up as a part of their own too: small, so durable well
            // before the complete segment (which carries them as well); the RPO does not wait for it.
            Lsn tailStart = from.plus(tailFrom);
            long t0 = System.nanoTime();
            Future<?> tail = repo.putPart(name, tailFrom, full.getBuffer((int) tailFrom, (int) segmentSize)).onComplete(ar -> {
                if (ar.failed()) {
                    fail(ar.cause());
                    return;
                }
                metrics.uploadSeconds.record(System.nanoTime() - t0, java.util.concurrent.TimeUnit.NANOSECONDS);
                metrics.parts.increment();
                advance(tailStart, to);
            });
            track(tail);
            tailDone = tail;
        }
        Future<?> tailSettled = tailDone;
        segmentUploads++;
        if (segmentUploads >= StreamSettings.MAX_SEGMENT_UPLOADS && !paused) {
            paused = true;
            client.pause();
        }
        long t0 = System.nanoTime();
        Future<?> f = repo.putSegment(name, full).onComplete(ar -> {
            segmentUploads--;
            if (paused && segmentUploads < StreamSettings.MAX_SEGMENT_UPLOADS) {
                paused = false;
                client.resume();
            }
            if (ar.failed()) {
                fail(ar.cause());
                return;
            }
            metrics.uploadSeconds.record(System.nanoTime() - t0, java.util.concurrent.TimeUnit.NANOSECONDS);
            metrics.segments.increment();
            metrics.bytes.increment(segmentSize);
            log.debug("segment_durable", "segment", name, "durable_lsn", durable.durable());
            advance(from, to);
            tailSettled.eventually(() -> repo.deleteSupersededParts(name))
                    .onFailure(e -> log.warn("parts_not_deleted", "segment", name, "error", e.getMessage()));
        });
        track(f);
    }

    /**
     * Starts a part when the oldest WAL not yet in one would otherwise risk waiting longer than
     * {@code partial_interval} to become durable: its age plus the recent upload time reaches
     * {@link StreamSettings#AIM} of the interval. So {@code partial_interval} bounds the RPO as long
     * as the store keeps its pace, instead of being only the time between uploads (which would let
     * WAL wait the interval plus an upload).
     */
    private void partDue() {
        if (partsInFlight >= StreamSettings.MAX_PARTS_IN_FLIGHT || pendingSinceMillis < 0) {
            return;
        }
        double budget = StreamSettings.AIM * settings.partialInterval().toMillis() - uploadEstimateMillis;
        if (clock.millis() - pendingSinceMillis >= budget) {
            maybeUploadPart();
        }
    }

    /**
     * Uploads the bytes of the segment being filled that are not in a part yet, if any, unless
     * {@link StreamSettings#MAX_PARTS_IN_FLIGHT} parts are uploading already. Parts may complete in
     * any order; {@link DurableRanges} reports only what joins up.
     */
    private void maybeUploadPart() {
        if (partsInFlight >= StreamSettings.MAX_PARTS_IN_FLIGHT || result.future().isComplete()) {
            return;
        }
        long filled = segment.length();
        if (filled <= partFrom) {
            return;
        }
        long from = partsInSegment >= StreamSettings.PARTS_BEFORE_RESTATE ? 0 : partFrom;
        WalSegmentName name = WalSegmentName.of(timeline, segmentStart, segmentSize);
        Buffer bytes = segment.getBuffer((int) from, (int) filled);
        Lsn pStart = segmentStart.plus(from);
        Lsn pEnd = segmentStart.plus(filled);
        partFrom = filled;
        partsInSegment = from == 0 ? 1 : partsInSegment + 1;
        partsInFlight++;
        pendingSinceMillis = -1;
        long t0 = System.nanoTime();
        Future<?> f = repo.putPart(name, from, bytes).onComplete(ar -> {
            partsInFlight--;
            if (ar.failed()) {
                fail(ar.cause());
                return;
            }
            long took = System.nanoTime() - t0;
            metrics.uploadSeconds.record(took, java.util.concurrent.TimeUnit.NANOSECONDS);
            uploadEstimateMillis = Math.min(settings.partialInterval().toMillis() / 2.0,
                    0.7 * uploadEstimateMillis + 0.3 * (took / 1_000_000.0));
            metrics.parts.increment();
            metrics.bytes.increment(pEnd.minus(pStart));
            advance(pStart, pEnd);
            if (settings.synchronous() || ending) {
                maybeUploadPart();
            }
        });
        track(f);
    }

    private void advance(Lsn from, Lsn to) {
        if (durable.add(from, to)) {
            rpo.durable(durable.durable());
            metrics.durable(durable.durable(), clock.millis());
            sendStatus(false);
        }
    }

    private void sendStatus(boolean replyRequested) {
        if (result.future().isComplete()) {
            return;
        }
        reported = durable.durable();
        client.sendStatusUpdate(received, reported, Lsn.INVALID, replyRequested);
    }

    private void track(Future<?> f) {
        inFlight.add(f);
        f.onComplete(ar -> inFlight.remove(f));
    }

    /** The server ended the stream: make everything received durable, then complete. */
    private void finish(StreamEnd end) {
        if (result.future().isComplete()) {
            return;
        }
        ending = true;
        // The connection is out of COPY mode now, so no status update can follow: the final position
        // goes out with the next session's first update (the slot stays where we last reported).
        drainAll().onComplete(ar -> {
            if (ar.failed()) {
                fail(ar.cause());
            } else {
                result.tryComplete(end);
            }
        });
    }

    /** Uploads every received byte not yet in an object and waits for all uploads in flight. */
    private Future<Void> drainAll() {
        if (result.future().failed()) {
            return Future.failedFuture(result.future().cause());
        }
        maybeUploadPart(); // starts a part for any pending bytes unless one is in flight
        if (inFlight.isEmpty()) {
            return Future.succeededFuture();
        }
        return Future.join(new ArrayList<>(inFlight)).transform(ar -> ar.failed() ? Future.failedFuture(ar.cause()) : drainAll());
    }

    private void fail(Throwable cause) {
        if (result.tryFail(cause)) {
            if (paused) {
                paused = false;
            }
            client.close();
        }
    }

    @Override
    public String toString() {
        return "WalStreamSession[" + source + ", timeline " + timeline + ", received " + received + ", durable " + durable.durable() + "]";
    }
}
