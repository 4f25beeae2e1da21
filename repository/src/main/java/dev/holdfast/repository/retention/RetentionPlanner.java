package dev.holdfast.repository.retention;

import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.repository.wal.WalObject;
import dev.holdfast.repository.wal.WalSegmentName;
import java.time.Instant;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Decides what retention keeps in one cluster (docs/retention.md is the specification; the tests
 * check that exact definition). Pure: no I/O, no clock of its own.
 *
 * <p><b>GFS.</b> The candidates are the complete, readable backups of one series (physical base
 * backups, {@code full} and {@code incr}, form one series; logical dumps another), not being
 * pruned. A backup's day, ISO week and month are those of its start time (its id) in the rules'
 * zone. A <em>daily slot</em> is a day on which at least one candidate started; the newest
 * {@code daily} such days are kept, each by the newest candidate that started that day. Weekly
 * (ISO week, Monday first) and monthly slots likewise. Periods without any backup take no slot, so
 * a pause in backups never expires the backups taken before it. The newest candidate is always
 * kept.
 *
 * <p><b>PITR window</b> ({@code now - pitrWindow} to now, base backups only): every candidate that
 * finished in it is kept, and so is the one that finished last before it (the one a recovery to
 * the window's start replays from).
 *
 * <p><b>Never deleted</b>: a backup whose manifest is under object lock or legal hold, a complete
 * backup whose manifest cannot be read or whose type this build does not know, an incomplete backup
 * written to within the grace period, and the parents (to the full) of every kept incremental.
 *
 * <p><b>WAL</b> (per timeline, base backups' timelines): let {@code T} be the lowest timeline of a
 * kept base backup and {@code S} the start segment of the oldest kept base backup on {@code T}.
 * Segments, stream parts, {@code .partial} and {@code .backup} files on timelines below {@code T},
 * and on {@code T} before {@code S}, are deleted; everything on later timelines is kept (the kept
 * backups' WAL runs on through them). Stream parts of a segment whose complete object exists are
 * deleted wherever they are (the complete segment holds their bytes). Nothing stored within the PITR
 * window is deleted (bar such superseded parts), nor any history file or {@code cluster.json}. A
 * cluster with no kept base backup keeps its WAL.
 */
public final class RetentionPlanner {
    private RetentionPlanner() {
    }

    /** The WAL of a cluster as listed: its segment size and its classified objects. */
    public record WalInventory(long segmentSize, List<WalObject> objects) {
        public WalInventory {
            objects = List.copyOf(objects);
        }
    }

    /**
     * The plan for cluster {@code systemId} of {@code source}.
     *
     * @param backups every backup id of the cluster (any order)
     * @param wal     its WAL, empty when it has none
     */
    public static RetentionPlan plan(String source, String systemId, List<BackupFacts> backups, Optional<WalInventory> wal,
                                     RetentionRules rules, Instant now) {
        return plan(source, systemId, backups, wal, rules, now, Map.of());
    }

    /**
     * The plan, keeping also each backup of {@code pinned} (with its chain and the WAL after it)
     * for the reason given (an authorized restore reads it), whatever its slot.
     */
    public static RetentionPlan plan(String source, String systemId, List<BackupFacts> backups, Optional<WalInventory> wal,
                                     RetentionRules rules, Instant now, Map<BackupId, String> pinned) {
        List<BackupFacts> sorted = new ArrayList<>(backups);
        sorted.sort(Comparator.comparing(BackupFacts::id));
        Map<BackupId, BackupFacts> byId = new LinkedHashMap<>();
        sorted.forEach(b -> byId.put(b.id(), b));
        Map<BackupId, List<String>> keep = new LinkedHashMap<>();
        List<String> notes = new ArrayList<>();

        // GFS and the newest, per series.
        List<BackupFacts> base = sorted.stream().filter(b -> b.isBase() && !b.pruning()).toList();
        List<BackupFacts> logical = sorted.stream().filter(b -> b.isLogical() && !b.pruning()).toList();
        for (List<BackupFacts> series : List.of(base, logical)) {
            if (series.isEmpty()) {
                continue;
            }
            slots(series, rules.daily(), b -> day(b, rules), "daily slot ", keep);
            slots(series, rules.weekly(), b -> week(b, rules), "weekly slot ", keep);
            slots(series, rules.monthly(), b -> month(b, rules), "monthly slot ", keep);
            add(keep, series.get(series.size() - 1).id(), "newest backup");
        }

        // The PITR window.
        Instant windowStart = now.minus(rules.pitrWindow());
        boolean window = !rules.pitrWindow().isZero();
        if (window) {
            BackupFacts before = null;
            for (BackupFacts b : base) {
                // A backup serves recoveries to points after it finished: one that ends inside the window is needed for its part.
                if (!b.finishedAt().isBefore(windowStart)) {
                    add(keep, b.id(), "inside PITR window (ends after " + windowStart + ")");
                } else if (before == null || b.finishedAt().isAfter(before.finishedAt())) {
                    before = b;
                }
            }
            if (before != null) {
                add(keep, before.id(), "serves the PITR window's start " + windowStart);
            }
        }

        // Never deleted.
        for (BackupFacts b : sorted) {
            String pin = pinned.get(b.id());
            if (pin != null && !b.pruning()) {
                add(keep, b.id(), pin);
            }
            if (b.lock().protects(now)) {
                add(keep, b.id(), b.lock().describe());
            }
            if (b.complete() && !b.readable() && !b.pruning()) {
                add(keep, b.id(), "manifest unreadable or of an unknown type: left for an operator (verify says why)");
            }
            if (!b.complete() && !b.pruning() && b.lastWritten().plus(rules.incompleteGrace()).isAfter(now)) {
                add(keep, b.id(), "incomplete, last written " + b.lastWritten() + ": may still be running (grace "
                        + rules.incompleteGrace() + ")");
            }
        }

        // Chains: every parent of a kept incremental, to its full.
        for (BackupId id : new ArrayList<>(keep.keySet())) {
            BackupFacts child = byId.get(id);
            while (child != null && child.parent().isPresent()) {
                BackupId p = child.parent().get();
                BackupFacts parent = byId.get(p);
                if (parent == null) {
                    notes.add("kept backup " + child.id() + " names parent " + p + ", which is not in the repository (verify reports it)");
                    break;
                }
                add(keep, p, "parent of kept " + child.id());
                child = parent;
            }
        }

        List<RetentionPlan.BackupDecision> decisions = new ArrayList<>();
        String beyond = "beyond " + rules.counts() + (window ? " and before the PITR window" : "");
        for (BackupFacts b : sorted) {
            List<String> reasons = keep.get(b.id());
            if (reasons != null) {
                decisions.add(new RetentionPlan.BackupDecision(b.id(), b.type(), RetentionPlan.Action.KEEP, reasons));
            } else if (b.pruning()) {
                decisions.add(new RetentionPlan.BackupDecision(b.id(), b.type(), RetentionPlan.Action.GARBAGE,
                        List.of("an earlier retention run started deleting it: finishing")));
            } else if (!b.complete()) {
                decisions.add(new RetentionPlan.BackupDecision(b.id(), b.type(), RetentionPlan.Action.GARBAGE,
                        List.of("incomplete (no manifest), last written " + b.lastWritten() + ", older than the grace of " + rules.incompleteGrace())));
            } else {
                decisions.add(new RetentionPlan.BackupDecision(b.id(), b.type(), RetentionPlan.Action.DROP, List.of(beyond)));
            }
        }

        List<RetentionPlan.WalDeletion> walDeletions = wal.map(w -> walPlan(w, sorted, keep.keySet(), window, windowStart, notes))
                .orElse(List.of());
        return new RetentionPlan(source, systemId, now, decisions, walDeletions, notes);
    }

    private static void add(Map<BackupId, List<String>> keep, BackupId id, String reason) {
        List<String> reasons = keep.computeIfAbsent(id, k -> new ArrayList<>());
        if (!reasons.contains(reason)) {
            reasons.add(reason);
        }
    }

    /** Keeps the newest backup of each of the newest {@code count} periods that have one. */
    private static void slots(List<BackupFacts> series, int count, Function<BackupFacts, String> period, String label,
                              Map<BackupId, List<String>> keep) {
        if (count == 0) {
            return;
        }
        // Period keys sort as their periods do (ISO dates, 2026-W07, 2026-11); the newest backup of each wins.
        TreeMap<String, BackupFacts> newest = new TreeMap<>();
        for (BackupFacts b : series) {
            newest.merge(period.apply(b), b, (x, y) -> x.id().compareTo(y.id()) >= 0 ? x : y);
        }
        int n = 0;
        for (Map.Entry<String, BackupFacts> e : newest.descendingMap().entrySet()) {
            if (n++ == count) {
                break;
            }
            add(keep, e.getValue().id(), label + e.getKey());
        }
    }

    private static ZonedDateTime local(BackupFacts b, RetentionRules rules) {
        return b.id().startedAt().atZone(rules.zone());
    }

    static String day(BackupFacts b, RetentionRules rules) {
        return LocalDate.from(local(b, rules)).toString();
    }

    static String week(BackupFacts b, RetentionRules rules) {
        ZonedDateTime t = local(b, rules);
        return String.format("%04d-W%02d", t.get(IsoFields.WEEK_BASED_YEAR), t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR));
    }

    static String month(BackupFacts b, RetentionRules rules) {
        return YearMonth.from(local(b, rules)).toString();
    }

    private static List<RetentionPlan.WalDeletion> walPlan(WalInventory wal, List<BackupFacts> backups, Set<BackupId> kept,
                                                           boolean window, Instant windowStart, List<String> notes) {
        long size = wal.segmentSize();
        List<BackupFacts> keptBase = backups.stream().filter(b -> kept.contains(b.id()) && b.isBase() && b.startLsn().isValid()).toList();
        Set<WalSegmentName> complete = new HashSet<>();
        for (WalObject o : wal.objects()) {
            if (o.type() == WalObject.Type.SEGMENT) {
                complete.add(o.segment());
            }
        }
        Integer lowest = null;
        BackupFacts oldest = null;
        for (BackupFacts b : keptBase) {
            if (lowest == null || Integer.compareUnsigned(b.timeline(), lowest) < 0) {
                lowest = b.timeline();
                oldest = null;
            }
            if (b.timeline() == lowest && (oldest == null || b.startLsn().compareTo(oldest.startLsn()) < 0)) {
                oldest = b;
            }
        }
        if (oldest == null) {
            notes.add("no base backup is kept: the WAL is left as it is (superseded stream parts aside)");
        }
        WalSegmentName cutoff = oldest == null ? null : WalSegmentName.of(oldest.timeline(), oldest.startLsn().segmentStart(size), size);
        Set<String> seen = new LinkedHashSet<>();
        List<Candidate> out = new ArrayList<>();
        for (WalObject o : wal.objects()) {
            WalSegmentName seg = segmentOf(o);
            if (seg == null || !seen.add(o.key().value())) {
                continue; // the descriptor, history files: never deleted
            }
            if (o.type() == WalObject.Type.PART && complete.contains(seg)) {
                out.add(new Candidate(seg, o, "stream part superseded by the complete segment " + seg));
                continue;
            }
            if (cutoff == null || (window && o.lastModified() != null && !o.lastModified().isBefore(windowStart))) {
                continue;
            }
            if (Integer.compareUnsigned(seg.timeline(), cutoff.timeline()) < 0) {
                out.add(new Candidate(seg, o, "timeline " + seg.timeline() + " precedes timeline " + cutoff.timeline()
                        + " of the oldest kept backup " + oldest.id()));
            } else if (seg.timeline() == cutoff.timeline() && seg.compareTo(cutoff) < 0) {
                out.add(new Candidate(seg, o, "before segment " + cutoff + ", where the oldest kept backup " + oldest.id() + " starts"));
            }
        }
        out.sort(Comparator.comparing(Candidate::segment).thenComparing(c -> c.object().key().value()));
        return out.stream().map(c -> new RetentionPlan.WalDeletion(c.object().key(), c.segment().timeline(), c.reason())).toList();
    }

    private record Candidate(WalSegmentName segment, WalObject object, String reason) {
    }

    /** The segment a WAL object belongs to; null for the descriptor and history files. */
    private static WalSegmentName segmentOf(WalObject o) {
        return switch (o.type()) {
            case SEGMENT, PART, PG_PARTIAL -> o.segment();
            case BACKUP_HISTORY -> WalSegmentName.parse(o.name().substring(0, 24));
            case DESCRIPTOR, HISTORY -> null;
        };
    }

    /** For tests and reasons: the segment holding {@code lsn} on {@code timeline}. */
    static WalSegmentName segment(int timeline, Lsn lsn, long size) {
        return WalSegmentName.of(timeline, lsn, size);
    }
}
