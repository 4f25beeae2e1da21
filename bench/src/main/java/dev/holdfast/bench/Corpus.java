package dev.holdfast.bench;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The benchmark corpus held in memory as fixed-size segments (the last one may be short), the way
 * the pipeline hands them to its workers. Files are read in name order: {@code pg/} (PostgreSQL
 * relation files) then {@code other/} (less compressible data), concatenated into one plaintext
 * stream, like one object.
 */
final class Corpus {
    /** A part of the corpus (a top-level directory), for the composition line. */
    record Part(String name, long bytes, int files) {
    }

    private final List<byte[]> segments;
    private final int segmentSize;
    private final long bytes;
    private final Map<String, Part> parts;
    private final Path dir;
    /** Per segment: which part its first byte came from. */
    private final String[] partOf;

    private Corpus(Path dir, List<byte[]> segments, int segmentSize, long bytes, Map<String, Part> parts, String[] partOf) {
        this.dir = dir;
        this.segments = segments;
        this.segmentSize = segmentSize;
        this.bytes = bytes;
        this.parts = parts;
        this.partOf = partOf;
    }

    static Corpus load(Path dir, int segmentSize) {
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile)
                    .filter(p -> !p.getFileName().toString().equals("MANIFEST"))
                    .sorted()
                    .collect(Collectors.toList());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the corpus " + dir, e);
        }
        if (files.isEmpty()) {
            throw new IllegalStateException("the corpus " + dir + " is empty: run bench/run-pipeline.sh to build it");
        }
        Map<String, Part> parts = new LinkedHashMap<>();
        List<byte[]> segments = new ArrayList<>();
        List<String> partOf = new ArrayList<>();
        byte[] cur = new byte[segmentSize];
        int fill = 0;
        String curPart = null;
        long total = 0;
        for (Path f : files) {
            Path rel = dir.relativize(f);
            String part = rel.getNameCount() > 1 ? rel.getName(0).toString() : ".";
            try (InputStream in = Files.newInputStream(f)) {
                long n = 0;
                while (true) {
                    if (fill == 0) {
                        curPart = part;
                    }
                    int r = in.read(cur, fill, segmentSize - fill);
                    if (r < 0) {
                        break;
                    }
                    fill += r;
                    n += r;
                    if (fill == segmentSize) {
                        segments.add(cur);
                        partOf.add(curPart);
                        cur = new byte[segmentSize];
                        fill = 0;
                    }
                }
                total += n;
                Part old = parts.get(part);
                parts.put(part, new Part(part, (old == null ? 0 : old.bytes()) + n, (old == null ? 0 : old.files()) + 1));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + f, e);
            }
        }
        if (fill > 0) {
            byte[] last = new byte[fill];
            System.arraycopy(cur, 0, last, 0, fill);
            segments.add(last);
            partOf.add(curPart);
        }
        return new Corpus(dir, List.copyOf(segments), segmentSize, total, parts, partOf.toArray(new String[0]));
    }

    Path dir() {
        return dir;
    }

    int size() {
        return segments.size();
    }

    int segmentSize() {
        return segmentSize;
    }

    long bytes() {
        return bytes;
    }

    Map<String, Part> parts() {
        return parts;
    }

    byte[] array(int i) {
        return segments.get(i);
    }

    /** A fresh buffer over segment {@code i} (position 0, limit its length). */
    ByteBuffer segment(int i) {
        return ByteBuffer.wrap(segments.get(i));
    }

    /**
     * One untimed single-threaded pass: per part, plaintext bytes, zstd bytes at {@code level}
     * (1 MiB frames, as sealed) and how many segments zstd does not shrink (sealed raw).
     */
    Map<String, long[]> compressibility(int level) {
        Map<String, long[]> out = new LinkedHashMap<>();
        try (ZstdCompressCtx z = new ZstdCompressCtx()) {
            z.setLevel(level);
            z.setContentSize(true);
            z.setChecksum(false);
            byte[] dst = new byte[(int) Zstd.compressBound(segmentSize)];
            for (int i = 0; i < segments.size(); i++) {
                byte[] s = segments.get(i);
                int c = z.compressByteArray(dst, 0, dst.length, s, 0, s.length);
                long[] acc = out.computeIfAbsent(partOf[i], k -> new long[4]);
                acc[0] += s.length;
                acc[1] += Math.min(c, s.length);
                acc[2] += c >= s.length ? 1 : 0;
                acc[3] += 1;
            }
        }
        return out;
    }
}
