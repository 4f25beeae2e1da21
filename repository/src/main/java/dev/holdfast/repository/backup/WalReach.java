package dev.holdfast.repository.backup;

import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.repository.wal.WalIndex;
import dev.holdfast.repository.wal.WalObject;
import dev.holdfast.repository.wal.WalSegmentName;
import java.time.Instant;
import java.util.Optional;

/**
 * How far the stored WAL carries one base backup: whether the WAL from its {@code start_lsn} to
 * its {@code stop_lsn} is there without a hole (without it the copy is not consistent and cannot
 * be restored at all), and how far past {@code stop_lsn} it continues without a hole (the end of
 * the backup's point-in-time recovery window). Pure: computed from a {@link WalIndex}, so
 * {@code list} and {@code verify} give one answer.
 *
 * <p>Timelines: the WAL is followed on the backup's timeline; when later timelines hold WAL, each
 * is taken as branching from the one before it (the usual promote-after-restore history) and must
 * start at or before the point the previous one was followed to. History files are not parsed, so
 * a timeline that branched from an older point is judged by that order too.
 *
 * @param consistent  the WAL from the start to the stop LSN is stored without a hole
 * @param reachedTimeline the timeline the WAL was followed to
 * @param reached     the end of the WAL stored without a hole from the start LSN (on
 *                    {@code reachedTimeline}): the latest point this backup can be recovered to
 * @param reachedAt   when the store received the last object before {@code reached}; the WAL it
 *                    holds was written before then (an upper bound for recovery-to-time)
 * @param gap         the first segment missing or incomplete after {@code reached}, when the
 *                    stored WAL goes on beyond it
 * @param newest      the end of the newest durable WAL (highest timeline), empty without WAL
 */
public record WalReach(boolean consistent, int reachedTimeline, Lsn reached, Optional<Instant> reachedAt,
                       Optional<WalSegmentName> gap, Optional<Lsn> newest) {

    /** Restorable, up to the newest durable WAL: no gap from the start LSN onwards. */
    public boolean toLatest() {
        return consistent && gap.isEmpty();
    }

    /**
     * The reach of a backup on {@code timeline} from {@code start} to {@code stop}, in {@code index}
     * (null when the cluster has no WAL at all).
     */
    public static WalReach of(WalIndex index, int timeline, Lsn start, Lsn stop) {
        if (index == null) {
            return new WalReach(false, timeline, start, Optional.empty(), Optional.empty(), Optional.empty());
        }
        long size = index.segmentSize();
        Optional<Lsn> newest = index.latestTimeline().flatMap(index::durableEnd);
        Lsn base = start.segmentStart(size);
        Lsn end = index.contiguousEnd(timeline, base);
        // PostgreSQL replays from the start LSN's segment through the stop LSN: both ends must be stored.
        boolean consistent = end.compareTo(stop) >= 0 && end.compareTo(base) > 0;
        int tli = timeline;
        Optional<WalSegmentName> gap = gapAfter(index, tli, end);
        if (gap.isEmpty()) {
            int latest = index.latestTimeline().orElse(timeline);
            for (int next = tli + 1; next > 0 && Integer.compareUnsigned(next, latest) <= 0; next++) {
                Optional<WalSegmentName> first = index.firstSegment(next);
                if (first.isEmpty()) {
                    continue;
                }
                Lsn firstStart = first.get().startLsn(size);
                if (firstStart.compareTo(end) > 0) {
                    // The new timeline's WAL starts after where the old one's ends: a hole between them.
                    gap = Optional.of(WalSegmentName.of(next, end, size));
                    break;
                }
                tli = next;
                end = index.contiguousEnd(next, firstStart);
                gap = gapAfter(index, next, end);
                if (gap.isPresent()) {
                    break;
                }
            }
        }
        return new WalReach(consistent, tli, end, storedAt(index, tli, end), gap, newest);
    }

    /** The segment at {@code end} when WAL on {@code timeline} is stored beyond it. */
    private static Optional<WalSegmentName> gapAfter(WalIndex index, int timeline, Lsn end) {
        Optional<Lsn> durable = index.durableEnd(timeline);
        if (durable.isPresent() && durable.get().compareTo(end) > 0) {
            return Optional.of(WalSegmentName.of(timeline, end, index.segmentSize()));
        }
        return Optional.empty();
    }

    /** When the object holding the byte before {@code end} was stored. */
    private static Optional<Instant> storedAt(WalIndex index, int timeline, Lsn end) {
        if (!end.isValid()) {
            return Optional.empty();
        }
        WalSegmentName s = WalSegmentName.of(timeline, end.plus(-1), index.segmentSize());
        Optional<WalObject> whole = index.segment(s);
        if (whole.isPresent()) {
            return Optional.ofNullable(whole.get().lastModified());
        }
        Instant at = null;
        for (WalObject p : index.chain(s)) {
            if (p.lastModified() != null && (at == null || p.lastModified().isAfter(at))) {
                at = p.lastModified();
            }
        }
        return Optional.ofNullable(at);
    }
}
