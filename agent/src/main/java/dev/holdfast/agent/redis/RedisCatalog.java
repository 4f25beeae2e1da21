package dev.holdfast.agent.redis;

import dev.holdfast.repository.Repository;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

/** What the repository holds of Redis sources, for {@code holdfast list}: read from listings and descriptors only. */
public final class RedisCatalog {
    private RedisCatalog() {
    }

    /**
     * A source's AOF.
     *
     * @param epochs        complete epochs
     * @param latestEpoch   the newest complete epoch
     * @param base          its base file's name
     * @param from          the oldest complete epoch's base time: the earliest {@code --to-time}
     * @param lastStoredAt  when the newest object of the latest epoch was stored (the latest state's age)
     * @param gapEpochs     epochs whose descriptor says AOF before them may be lost
     * @param storedBytes   stored size of every AOF object
     */
    public record AofSummary(int epochs, long latestEpoch, String base, Instant from, Instant lastStoredAt, List<Long> gapEpochs,
                             long storedBytes) {
    }

    /** Source names with objects under {@code redis/}. */
    public static TreeSet<String> sources(Repository repo) {
        TreeSet<String> out = new TreeSet<>();
        for (ObjectInfo o : Futures.await(repo.store().listAll("redis/"))) {
            String[] parts = o.key().value().split("/");
            if (parts.length > 2) {
                out.add(parts[1]);
            }
        }
        return out;
    }

    public static Optional<AofSummary> aof(Repository repo, String source) {
        AofLayout layout = new AofLayout(source);
        List<ObjectInfo> listing = Futures.await(repo.store().listAll(layout.prefix()));
        TreeMap<Long, AofLayout.EpochObjects> epochs = layout.parse(listing);
        List<Long> complete = epochs.values().stream().filter(e -> e.descriptor && e.base).map(e -> e.epoch).toList();
        if (complete.isEmpty()) {
            return Optional.empty();
        }
        List<Long> gaps = new ArrayList<>();
        Instant from = null;
        AofEpoch latest = null;
        for (long e : complete) {
            AofEpoch d = AofShipper.readEpoch(repo, layout, e);
            if (from == null) {
                from = d.baseTime();
            }
            if (d.gapBefore()) {
                gaps.add(e);
            }
            latest = d;
        }
        String latestPrefix = layout.prefix() + AofLayout.epochName(latest.epoch()) + "/";
        Instant last = listing.stream().filter(o -> o.key().value().startsWith(latestPrefix)).map(ObjectInfo::lastModified)
                .max(Instant::compareTo).orElse(latest.createdAt());
        long stored = listing.stream().mapToLong(ObjectInfo::size).sum();
        return Optional.of(new AofSummary(complete.size(), latest.epoch(), latest.baseFile(), from, last, List.copyOf(gaps), stored));
    }

    /** The source's RDB snapshots, oldest first (complete ones: with a manifest). */
    public static List<RdbBackup.Manifest> rdb(Repository repo, String source) {
        String prefix = RdbBackup.prefix(source);
        List<RdbBackup.Manifest> out = new ArrayList<>();
        RdbBackup reader = new RdbBackup(repo, java.time.Clock.systemUTC());
        for (ObjectInfo o : Futures.await(repo.store().listAll(prefix))) {
            String rest = o.key().value().substring(prefix.length());
            if (rest.endsWith("/manifest")) {
                out.add(reader.find(source, rest.substring(0, rest.length() - "/manifest".length())));
            }
        }
        out.sort((a, b) -> a.startedAt().compareTo(b.startedAt()));
        return out;
    }
}
