package dev.holdfast.repository.wal;

import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectStore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What a listing of one cluster's WAL area says: complete segments, stream-mode parts, history
 * files. Pure: built from {@link WalObject}s, no I/O, so the agent (where to resume), fetch (which
 * objects make up a segment) and {@code list} share one reading of the layout.
 *
 * <p>A segment is <em>covered</em> up to offset E when a complete segment object exists (E = the
 * segment size) or parts chain from offset 0 to E without a hole ({@link #chain}).
 */
public final class WalIndex {
    private final long segmentSize;
    private final NavigableMap<WalSegmentName, WalObject> segments = new TreeMap<>();
    private final NavigableMap<WalSegmentName, List<WalObject>> parts = new TreeMap<>();
    private final NavigableMap<Integer, WalObject> histories = new TreeMap<>(Integer::compareUnsigned);
    private final List<WalObject> others = new ArrayList<>();
    private Instant newest;

    public WalIndex(long segmentSize, Collection<WalObject> objects) {
        this.segmentSize = WalSegmentName.checkSize(segmentSize);
        for (WalObject o : objects) {
            switch (o.type()) {
                case SEGMENT -> segments.put(o.segment(), o);
                case PART -> parts.computeIfAbsent(o.segment(), s -> new ArrayList<>()).add(o);
                case HISTORY -> histories.put(o.timeline(), o);
                case DESCRIPTOR -> { }
                default -> others.add(o);
            }
            if (o.type() != WalObject.Type.DESCRIPTOR && o.lastModified() != null
                    && (newest == null || o.lastModified().isAfter(newest))) {
                newest = o.lastModified();
            }
        }
    }

    /**
     * Reads the index of one WAL area from the store (one listing; blocking). The caller knows the
     * segment size (from the server, a manifest, or the area's descriptor).
     */
    public static WalIndex load(ObjectStore store, WalLayout layout, long segmentSize) {
        List<WalObject> objects = new ArrayList<>();
        for (ObjectInfo o : Futures.await(store.listAll(layout.listPrefix()))) {
            WalObject w = layout.classify(o.key(), o.size(), o.lastModified());
            if (w != null) {
                objects.add(w);
            }
        }
        return new WalIndex(segmentSize, objects);
    }

    public long segmentSize() {
        return segmentSize;
    }

    public Optional<WalObject> segment(WalSegmentName name) {
        return Optional.ofNullable(segments.get(name));
    }

    public Optional<WalObject> history(int timeline) {
        return Optional.ofNullable(histories.get(timeline));
    }

    public List<WalObject> parts(WalSegmentName name) {
        return parts.getOrDefault(name, List.of());
    }

    /**
     * The parts that rebuild a segment from offset 0 as far as they reach without a hole, fewest
     * objects first: at each step the part starting at or before the current end that reaches
     * furthest. Overlaps are harmless (the same timeline's WAL bytes at the same position).
     */
    public List<WalObject> chain(WalSegmentName name) {
        List<WalObject> candidates = new ArrayList<>(parts(name));
        candidates.sort(Comparator.comparingLong(WalObject::start).thenComparingLong(WalObject::end));
        List<WalObject> chain = new ArrayList<>();
        long end = 0;
        while (true) {
            WalObject best = null;
            for (WalObject p : candidates) {
                if (p.start() <= end && p.end() > end && (best == null || p.end() > best.end())) {
                    best = p;
                }
            }
            if (best == null) {
                return chain;
            }
            chain.add(best);
            end = best.end();
        }
    }

    /** How far the segment is covered from its start: the segment size when complete, 0 when nothing. */
    public long coveredTo(WalSegmentName name) {
        if (segments.containsKey(name)) {
            return segmentSize;
        }
        List<WalObject> chain = chain(name);
        return chain.isEmpty() ? 0 : chain.get(chain.size() - 1).end();
    }

    /** The highest timeline that has any segment, part or history file; empty when there is no WAL. */
    public Optional<Integer> latestTimeline() {
        Integer t = null;
        for (WalSegmentName s : segments.keySet()) {
            t = t == null || Integer.compareUnsigned(s.timeline(), t) > 0 ? s.timeline() : t;
        }
        for (WalSegmentName s : parts.keySet()) {
            t = t == null || Integer.compareUnsigned(s.timeline(), t) > 0 ? s.timeline() : t;
        }
        return Optional.ofNullable(t);
    }

    /**
     * The end of the durable WAL on {@code timeline}: the position after the last covered byte of
     * the highest segment that has anything, whether or not earlier segments are complete
     * ({@link #gaps} says). For reporting; a writer resumes at {@link #contiguousEnd}.
     */
    public Optional<Lsn> durableEnd(int timeline) {
        WalSegmentName highest = null;
        for (WalSegmentName s : segments.keySet()) {
            if (s.timeline() == timeline && (highest == null || s.compareTo(highest) > 0)) {
                highest = s;
            }
        }
        for (WalSegmentName s : parts.keySet()) {
            if (s.timeline() == timeline && coveredTo(s) > 0 && (highest == null || s.compareTo(highest) > 0)) {
                highest = s;
            }
        }
        if (highest == null) {
            return Optional.empty();
        }
        return Optional.of(highest.startLsn(segmentSize).plus(coveredTo(highest)));
    }

    /**
     * How far the WAL is covered without a hole, scanning forward from {@code base} (a position
     * known durable, such as a slot's restart position, which the agent only ever moved to durable
     * WAL): the covered end of the first segment from {@code base}'s that is not complete, and never
     * less than {@code base}. This, not {@link #durableEnd}, is where a writer may resume: parts of a
     * later segment can be stored while an earlier segment's upload never finished.
     */
    public Lsn contiguousEnd(int timeline, Lsn base) {
        WalSegmentName s = WalSegmentName.of(timeline, base, segmentSize);
        while (true) {
            long covered = coveredTo(s);
            if (covered < segmentSize) {
                return Lsn.max(base, s.startLsn(segmentSize).plus(covered));
            }
            s = s.next(segmentSize);
        }
    }

    /** The lowest segment on {@code timeline} with any covered bytes. */
    public Optional<WalSegmentName> firstSegment(int timeline) {
        WalSegmentName first = null;
        for (WalSegmentName s : segments.keySet()) {
            if (s.timeline() == timeline && (first == null || s.compareTo(first) < 0)) {
                first = s;
            }
        }
        for (WalSegmentName s : parts.keySet()) {
            if (s.timeline() == timeline && coveredTo(s) > 0 && (first == null || s.compareTo(first) < 0)) {
                first = s;
            }
        }
        return Optional.ofNullable(first);
    }

    /**
     * Segments missing or incomplete between the first and the last segment of {@code timeline}
     * (the last one may be incomplete: it is being filled). Empty means contiguous.
     */
    public List<WalSegmentName> gaps(int timeline) {
        List<WalSegmentName> gaps = new ArrayList<>();
        Optional<WalSegmentName> first = firstSegment(timeline);
        Optional<Lsn> end = durableEnd(timeline);
        if (first.isEmpty() || end.isEmpty()) {
            return gaps;
        }
        WalSegmentName last = WalSegmentName.of(timeline, end.get().plus(-1), segmentSize);
        for (WalSegmentName s = first.get(); s.compareTo(last) < 0; s = s.next(segmentSize)) {
            if (coveredTo(s) < segmentSize) {
                gaps.add(s);
            }
        }
        return gaps;
    }

    /** Segments that parts cover completely but that have no complete object yet. */
    public List<WalSegmentName> partOnlySegments() {
        List<WalSegmentName> out = new ArrayList<>();
        for (WalSegmentName s : parts.keySet()) {
            if (!segments.containsKey(s) && coveredTo(s) == segmentSize) {
                out.add(s);
            }
        }
        return out;
    }

    /** Parts whose segment has a complete object: safe to delete. */
    public List<WalObject> supersededParts() {
        List<WalObject> out = new ArrayList<>();
        parts.forEach((s, list) -> {
            if (segments.containsKey(s)) {
                out.addAll(list);
            }
        });
        return out;
    }

    /** The newest last-modified time of any WAL object: when the newest durable WAL landed. */
    public Optional<Instant> newestAt() {
        return Optional.ofNullable(newest);
    }

    public int segmentCount() {
        return segments.size();
    }

    public NavigableMap<Integer, WalObject> histories() {
        return histories;
    }
}
