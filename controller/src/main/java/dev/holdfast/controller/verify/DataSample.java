package dev.holdfast.controller.verify;

import dev.holdfast.controller.schedule.CronExpression;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The rotating data sample: which packs a scheduled run reads and decrypts.
 *
 * <p>Every pack of every complete backup is ordered by its object key. A persistent cursor (the key
 * of the last pack read) marks where the previous run stopped; a run reads the packs after it, in
 * key order and wrapping around, until it has read {@link #budget} bytes, and the cursor moves to
 * the last pack it read.
 *
 * <p>Why every pack is read within the period {@code P}: with {@code n} scheduled runs in
 * {@code P}, the budget is {@code ceil(total / (n - 1))}, and a run reads at least the budget (or
 * everything), so the cursor passes every pack at least once in {@code n - 1} runs. A pack stored at
 * time {@code t} is passed by the {@code (n - 1)}th run after {@code t}, and those runs all fall within
 * {@code (n - 1)} run intervals, less than {@code P}, of {@code t}; the same holds from each read to
 * the next. The bound assumes the repository does not grow much between runs (the budget follows
 * the total each run); with fewer than two runs in {@code P} every run reads everything.
 */
public final class DataSample {
    private DataSample() {
    }

    /** One pack: its object key and stored size. */
    public record Pack(String key, long bytes) {
        public Pack {
            Objects.requireNonNull(key, "key");
        }
    }

    /** The packs to read and the cursor to keep for the next run (empty when there is no pack). */
    public record Selection(List<Pack> packs, Optional<String> cursor) {
        public Selection {
            packs = List.copyOf(packs);
        }

        public long bytes() {
            return packs.stream().mapToLong(Pack::bytes).sum();
        }
    }

    /**
     * The packs after {@code cursor} (in key order, wrapping around) until {@code budget} bytes are
     * taken or every pack is; at least one pack when there is any.
     */
    public static Selection choose(List<Pack> packs, Optional<String> cursor, long budget) {
        List<Pack> sorted = new ArrayList<>(packs);
        sorted.sort(Comparator.comparing(Pack::key));
        if (sorted.isEmpty()) {
            return new Selection(List.of(), cursor);
        }
        int start = 0;
        if (cursor.isPresent()) {
            while (start < sorted.size() && sorted.get(start).key().compareTo(cursor.get()) <= 0) {
                start++;
            }
            if (start == sorted.size()) {
                start = 0;
            }
        }
        List<Pack> taken = new ArrayList<>();
        long bytes = 0;
        for (int i = 0; i < sorted.size() && (taken.isEmpty() || bytes < budget); i++) {
            Pack p = sorted.get((start + i) % sorted.size());
            taken.add(p);
            bytes += p.bytes();
        }
        return new Selection(taken, Optional.of(taken.get(taken.size() - 1).key()));
    }

    /** Bytes one run reads so that {@code totalBytes} are read in {@code runsInPeriod - 1} runs (everything with fewer than 2). */
    public static long budget(long totalBytes, int runsInPeriod) {
        if (runsInPeriod < 2) {
            return Math.max(1, totalBytes);
        }
        long per = runsInPeriod - 1L;
        return Math.max(1, (totalBytes + per - 1) / per);
    }

    /** How many times {@code cron} (read in {@code zone}) fires in {@code (from, from + period]}; counted up to 100,000. */
    public static int runsWithin(CronExpression cron, ZoneId zone, Instant from, Duration period) {
        Instant end = from.plus(period);
        ZonedDateTime t = from.atZone(zone);
        int n = 0;
        while (n < 100_000) {
            t = cron.next(t);
            if (t == null || t.toInstant().isAfter(end)) {
                break;
            }
            n++;
        }
        return n;
    }
}
