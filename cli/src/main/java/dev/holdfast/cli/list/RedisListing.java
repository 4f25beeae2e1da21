package dev.holdfast.cli.list;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.holdfast.agent.redis.RdbBackup;
import dev.holdfast.agent.redis.RedisCatalog;
import dev.holdfast.repository.Repository;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * {@code holdfast list} for Redis sources: the AOF ({@code aof}: epochs, the earliest time a
 * restore can go back to, the latest state's age, gaps) and the RDB snapshots ({@code rdb_backups}).
 */
record RedisListing(String source, Optional<RedisCatalog.AofSummary> aof, List<RdbBackup.Manifest> rdb) {
    /** Configured redis sources and those with objects under {@code redis/} ({@code only}: just that one). */
    static Map<String, RedisListing> collect(Repository repo, String only, Map<String, String> configuredTypes) {
        Map<String, RedisListing> out = new TreeMap<>();
        java.util.TreeSet<String> names = RedisCatalog.sources(repo);
        configuredTypes.forEach((n, t) -> {
            if (t.equals("redis")) {
                names.add(n);
            }
        });
        for (String n : names) {
            if (only != null && !only.equals(n) || configuredTypes.containsKey(n) && !configuredTypes.get(n).equals("redis")) {
                continue;
            }
            out.put(n, new RedisListing(n, RedisCatalog.aof(repo, n), RedisCatalog.rdb(repo, n)));
        }
        return out;
    }

    void toJson(ObjectNode s) {
        if (aof.isEmpty()) {
            s.putNull("aof");
        } else {
            RedisCatalog.AofSummary a = aof.get();
            ObjectNode o = s.putObject("aof");
            o.put("epochs", a.epochs()).put("latest_epoch", a.latestEpoch()).put("base", a.base())
                    .put("restorable_from", a.from().toString()).put("last_stored_at", a.lastStoredAt().toString())
                    .put("stored_bytes", a.storedBytes());
            ArrayNode gaps = o.putArray("gap_before_epochs");
            a.gapEpochs().forEach(gaps::add);
        }
        ArrayNode arr = s.putArray("rdb_backups");
        for (RdbBackup.Manifest m : rdb) {
            arr.addObject().put("id", m.id()).put("type", "rdb").put("complete", true).put("started_at", m.startedAt().toString())
                    .put("finished_at", m.finishedAt().toString()).put("bytes", m.size()).put("sha256", m.sha256());
        }
    }

    void print(PrintWriter out) {
        out.println();
        if (aof.isEmpty()) {
            out.println("AOF of " + source + ": none stored");
        } else {
            RedisCatalog.AofSummary a = aof.get();
            out.println("AOF of " + source + ": " + a.epochs() + " epoch(s), latest " + a.latestEpoch() + " (base " + a.base() + "), restorable from "
                    + a.from() + " to the latest state stored at " + a.lastStoredAt()
                    + (a.gapEpochs().isEmpty() ? "" : "; WARNING: AOF may be missing before epoch(s) " + a.gapEpochs()));
        }
        if (rdb.isEmpty()) {
            out.println("RDB snapshots of " + source + ": none");
        } else {
            out.println("RDB snapshots of " + source + ":");
            for (RdbBackup.Manifest m : rdb) {
                out.println("  " + m.id() + "  finished " + m.finishedAt() + "  " + m.size() + " bytes");
            }
        }
        out.flush();
    }
}
