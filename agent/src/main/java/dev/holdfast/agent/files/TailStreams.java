package dev.holdfast.agent.files;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.seal.OpeningInputStream;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** Reads the tailed files of a source from the repository (docs/format.md, "Files", tail). Blocking. */
public final class TailStreams {
    /**
     * One generation of a tailed file: its meta and its segments in order. A segment covered by
     * others (written by an agent that retried an upload that had landed, before such retries
     * resumed after the landed segment: {@code [a,b)} beside {@code [a,c)}, c &gt; b) is left out:
     * the same inode at the same offsets, the same bytes.
     *
     * @param reason {@code new}, {@code rotated} (the path now names another file), {@code truncated}
     *               (copytruncate: the file shrank), {@code resumed-elsewhere} (the file changed while
     *               no agent watched it)
     */
    public record Generation(String source, String path, String pathId, int gen, long inode, int mode, Instant startedAt, String reason,
                             List<FilesLayout.TailName> segments) {
        /** The end of the contiguous bytes from 0 ({@code -1} when a segment is missing: a gap). */
        public long contiguousEnd() {
            long end = 0;
            for (FilesLayout.TailName s : segments) {
                if (s.start() != end) {
                    return -1;
                }
                end = s.end();
            }
            return end;
        }
    }

    private final Repository repository;

    public TailStreams(Repository repository) {
        this.repository = repository;
    }

    /** Every generation of every tailed file of {@code source}, by path id then generation. */
    public Map<String, TreeMap<Integer, Generation>> list(String source) {
        return list(source, Optional.empty());
    }

    /** As {@link #list(String)}, for one path id only when given. */
    public Map<String, TreeMap<Integer, Generation>> list(String source, Optional<String> pathId) {
        String prefix = FilesLayout.tailPrefix(source) + pathId.map(p -> p + "/").orElse("");
        TreeMap<String, TreeMap<Integer, List<FilesLayout.TailName>>> segs = new TreeMap<>();
        TreeMap<String, TreeMap<Integer, Boolean>> metas = new TreeMap<>();
        for (ObjectInfo o : Futures.await(repository.store().listAll(prefix))) {
            FilesLayout.parseTail(source, o.key().value()).ifPresent(n -> {
                if (n.isMeta()) {
                    metas.computeIfAbsent(n.pathId(), k -> new TreeMap<>()).put(n.gen(), true);
                } else {
                    segs.computeIfAbsent(n.pathId(), k -> new TreeMap<>()).computeIfAbsent(n.gen(), k -> new ArrayList<>()).add(n);
                }
            });
        }
        Map<String, TreeMap<Integer, Generation>> out = new TreeMap<>();
        for (var p : metas.entrySet()) {
            for (int gen : p.getValue().keySet()) {
                List<FilesLayout.TailName> l = new ArrayList<>(segs.getOrDefault(p.getKey(), new TreeMap<>()).getOrDefault(gen, List.of()));
                l.sort(java.util.Comparator.comparingLong(FilesLayout.TailName::start)
                        .thenComparing(java.util.Comparator.comparingLong(FilesLayout.TailName::end).reversed()));
                l = withoutCovered(l);
                JsonObject meta = meta(source, p.getKey(), gen);
                out.computeIfAbsent(p.getKey(), k -> new TreeMap<>()).put(gen, new Generation(source, meta.getString("path"), p.getKey(), gen,
                        meta.getLong("inode", 0L), Integer.parseInt(meta.getString("mode", "0640"), 8), Instant.parse(meta.getString("started_at")),
                        meta.getString("reason"), List.copyOf(l)));
            }
        }
        return out;
    }

    /** Segments sorted by start (then longest first) without those inside the bytes before them. */
    static List<FilesLayout.TailName> withoutCovered(List<FilesLayout.TailName> sorted) {
        List<FilesLayout.TailName> out = new ArrayList<>();
        long end = 0;
        for (FilesLayout.TailName s : sorted) {
            if (s.end() <= end) {
                continue;
            }
            out.add(s);
            end = s.end();
        }
        return out;
    }

    private JsonObject meta(String source, String pathId, int gen) {
        var key = FilesLayout.tailMeta(source, pathId, gen);
        try (OpeningInputStream in = repository.open(key)) {
            JsonObject j = new JsonObject(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            if (!"files-tail".equals(j.getString("kind")) || j.getInteger("generation") != gen || !source.equals(j.getString("source"))) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, key + " does not describe generation " + gen + " of a tailed file of " + source);
            }
            return j;
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "cannot read " + key + ": " + e.getMessage(), e);
        }
    }
}
