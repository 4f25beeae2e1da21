package dev.holdfast.agent.redis;

import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.wal.WalLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Object names of a Redis source's AOF (docs/format.md section 13):
 * <pre>
 * redis/&lt;source&gt;/aof/&lt;EEEEEEEE&gt;/base                       the epoch's base file
 * redis/&lt;source&gt;/aof/&lt;EEEEEEEE&gt;/epoch.json                 the epoch's descriptor, written after base
 * redis/&lt;source&gt;/aof/&lt;EEEEEEEE&gt;/incr-&lt;SEQ&gt;-&lt;START&gt;-&lt;END&gt;   bytes [START, END) of incr file SEQ
 * </pre>
 * {@code EEEEEEEE} is the epoch number (8 digits), {@code SEQ} the incr file's sequence number
 * (10 digits), {@code START}/{@code END} offsets (16 digits), all decimal and zero-padded so that
 * names sort numerically.
 */
public final class AofLayout {
    private static final Pattern EPOCH = Pattern.compile("[0-9]{8}");
    private static final Pattern INCR = Pattern.compile("incr-([0-9]{10})-([0-9]{16})-([0-9]{16})");
    private final String source;

    public AofLayout(String source) {
        this.source = WalLayout.checkSource(source);
    }

    public String source() {
        return source;
    }

    /** {@code redis/<source>/aof/}. */
    public String prefix() {
        return "redis/" + source + "/aof/";
    }

    public static String epochName(long epoch) {
        return String.format("%08d", epoch);
    }

    public ObjectKey base(long epoch) {
        return ObjectKey.of(prefix() + epochName(epoch) + "/base");
    }

    public ObjectKey descriptor(long epoch) {
        return ObjectKey.of(prefix() + epochName(epoch) + "/epoch.json");
    }

    public ObjectKey incr(long epoch, long seq, long start, long end) {
        return ObjectKey.of(prefix() + epochName(epoch) + String.format("/incr-%010d-%016d-%016d", seq, start, end));
    }

    /** One shipped range of an incr file. */
    public record Range(long seq, long start, long end, ObjectKey key) {
    }

    /** What one epoch holds in a listing. */
    public static final class EpochObjects {
        public final long epoch;
        public boolean base;
        public boolean descriptor;
        public final List<Range> ranges = new ArrayList<>();

        EpochObjects(long epoch) {
            this.epoch = epoch;
        }

        /** Per incr sequence, the contiguous ranges from offset 0 (a chain stops at the first hole). */
        public TreeMap<Long, List<Range>> chains() {
            TreeMap<Long, List<Range>> bySeq = new TreeMap<>();
            for (Range r : ranges) {
                bySeq.computeIfAbsent(r.seq(), k -> new ArrayList<>()).add(r);
            }
            TreeMap<Long, List<Range>> out = new TreeMap<>();
            bySeq.forEach((seq, rs) -> {
                rs.sort((a, b) -> Long.compare(a.start(), b.start()));
                List<Range> chain = new ArrayList<>();
                long end = 0;
                for (Range r : rs) {
                    if (r.start() == end && r.end() > end) {
                        chain.add(r);
                        end = r.end();
                    }
                }
                out.put(seq, chain);
            });
            return out;
        }

        /** The end of each incr file's contiguous chain. */
        public TreeMap<Long, Long> ends() {
            TreeMap<Long, Long> out = new TreeMap<>();
            chains().forEach((seq, chain) -> out.put(seq, chain.isEmpty() ? 0L : chain.get(chain.size() - 1).end()));
            return out;
        }
    }

    /** Groups a listing of {@link #prefix()} by epoch (names that do not parse are ignored). */
    public TreeMap<Long, EpochObjects> parse(List<ObjectInfo> listing) {
        TreeMap<Long, EpochObjects> out = new TreeMap<>();
        for (ObjectInfo o : listing) {
            String rest = o.key().value().substring(prefix().length());
            int slash = rest.indexOf('/');
            if (slash < 0 || !EPOCH.matcher(rest.substring(0, slash)).matches()) {
                continue;
            }
            long epoch = Long.parseLong(rest.substring(0, slash));
            String name = rest.substring(slash + 1);
            EpochObjects e = out.computeIfAbsent(epoch, EpochObjects::new);
            Matcher m = INCR.matcher(name);
            if (name.equals("base")) {
                e.base = true;
            } else if (name.equals("epoch.json")) {
                e.descriptor = true;
            } else if (m.matches()) {
                e.ranges.add(new Range(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)), o.key()));
            }
        }
        return out;
    }

    /** The newest epoch with a descriptor. */
    public static Optional<EpochObjects> latestComplete(TreeMap<Long, EpochObjects> epochs) {
        return epochs.descendingMap().values().stream().filter(e -> e.descriptor && e.base).findFirst();
    }
}
