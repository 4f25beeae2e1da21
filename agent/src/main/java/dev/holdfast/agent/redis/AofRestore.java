package dev.holdfast.agent.redis;

import dev.holdfast.agent.postgres.restore.RestoreTarget;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.store.Futures;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Rebuilds a Redis 7 {@code appendonlydir} (base, incr files, manifest) from a source's AOF
 * objects (docs/format.md section 13) in an allowlisted target: the latest state, or the state at a
 * time, cut before the first timestamp annotation later than it. Everything is written into a
 * temporary directory inside the target and renamed into place at the end, so a failed restore
 * leaves no {@code appendonlydir} that looks complete. Blocking.
 */
public final class AofRestore {
    private final Repository repo;
    private final SecureRandom random;

    public AofRestore(Repository repo, SecureRandom random) {
        this.repo = repo;
        this.random = random;
    }

    /**
     * @param toTime the time to restore to (whole seconds count: commands of that second are kept);
     *               empty for the latest stored state
     */
    public record Options(String source, Path target, List<Path> allowedTargets, boolean overwrite, Optional<Instant> toTime) {
    }

    /**
     * @param epoch         the epoch restored from
     * @param appendonlydir the restored directory
     * @param bytes         bytes written (base and incr files)
     * @param incrFiles     incr files written
     * @param commands      incr commands kept
     * @param lastTimestamp the last timestamp annotation kept (the state is as of that second's end or later)
     * @param cut           whether commands later than the time were dropped
     * @param partialTail   whether an incomplete last command (or transaction) was dropped
     * @param hole          whether stored ranges lie beyond a hole in an incr file's chain (they cannot be used:
     *                      the restore ends at the hole, no later incr file is replayed)
     * @param holeAt        where the restore ended at a hole ({@code <incr file> at byte N})
     * @param complete      false when the restored state may be older than asked: it ends at a hole, or
     *                      (with a time) nothing was cut and the last timestamp kept is older than the time
     */
    public record Result(long epoch, Path appendonlydir, long bytes, int incrFiles, long commands, OptionalLong lastTimestamp,
                         boolean cut, boolean partialTail, boolean hole, Optional<String> holeAt, boolean complete) {
    }

    public Result restore(Options o) throws IOException {
        RestoreTarget target = RestoreTarget.check(o.target(), o.allowedTargets(), o.overwrite());
        AofLayout layout = new AofLayout(o.source());
        TreeMap<Long, AofLayout.EpochObjects> epochs = layout.parse(Futures.await(repo.store().listAll(layout.prefix())));
        AofLayout.EpochObjects chosen = null;
        AofEpoch epoch = null;
        AofEpoch after = null; // the epoch following the chosen one
        for (AofLayout.EpochObjects e : epochs.descendingMap().values()) {
            if (!e.descriptor || !e.base) {
                continue;
            }
            AofEpoch d = AofShipper.readEpoch(repo, layout, e.epoch);
            if (o.toTime().isEmpty() || d.baseTime().getEpochSecond() <= o.toTime().get().getEpochSecond()) {
                chosen = e;
                epoch = d;
                break;
            }
            after = d;
        }
        if (chosen == null) {
            throw new HoldfastException(ErrorCode.NOT_FOUND, o.toTime().isEmpty()
                    ? "no AOF of source " + o.source() + " in the repository (is the agent shipping it?)"
                    : "no AOF of source " + o.source() + " reaches back to " + o.toTime().get() + " (the oldest stored base is newer)");
        }
        AofEpoch gapAfter = after != null && after.gapBefore() ? after : null;
        OptionalLong limit = o.toTime().map(t -> OptionalLong.of(t.getEpochSecond())).orElse(OptionalLong.empty());

        Path root = target.path();
        Files.createDirectories(root);
        Path tmp = root.resolve(".holdfast-restore-" + HexFormat.of().formatHex(randomBytes()));
        Path aof = tmp.resolve("appendonlydir");
        Files.createDirectories(aof);
        try {
            long bytes = copy(layout.base(chosen.epoch), aof.resolve(epoch.baseFile()));
            if (bytes != epoch.baseSize()) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "base of AOF epoch " + AofLayout.epochName(chosen.epoch)
                        + " holds " + bytes + " bytes, its descriptor says " + epoch.baseSize());
            }
            TreeMap<Long, List<AofLayout.Range>> chains = chosen.chains();
            // per incr file, how many stored ranges its contiguous chain leaves unused (they lie beyond a hole)
            TreeMap<Long, Long> beyondHole = new TreeMap<>();
            for (AofLayout.Range r : chosen.ranges) {
                beyondHole.merge(r.seq(), 1L, Long::sum);
            }
            chains.forEach((seq, chain) -> beyondHole.merge(seq, -(long) chain.size(), Long::sum));
            beyondHole.values().removeIf(n -> n == 0);
            boolean hole = false;
            String holeAt = null;
            TreeSet<Long> seqs = new TreeSet<>(epoch.incrAtStart());
            seqs.addAll(chains.keySet());
            List<AofManifest.Entry> kept = new ArrayList<>();
            long commands = 0;
            OptionalLong last = OptionalLong.empty();
            boolean cut = false;
            boolean partial = false;
            for (long seq : seqs) {
                String name = epoch.incrFile(seq);
                Path file = aof.resolve(name);
                try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                    for (AofLayout.Range r : chains.getOrDefault(seq, List.of())) {
                        try (InputStream in = repo.open(r.key())) {
                            long n = in.transferTo(out);
                            if (n != r.end() - r.start()) {
                                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "object '" + r.key() + "' holds " + n + " bytes");
                            }
                        }
                    }
                }
                AofScanner.Result scan;
                try (InputStream in = Files.newInputStream(file)) {
                    scan = AofScanner.scan(in, limit, "incr file " + name + " of AOF epoch " + AofLayout.epochName(chosen.epoch));
                }
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    ch.truncate(scan.end());
                    ch.force(true);
                }
                bytes += scan.end();
                commands += scan.commands();
                if (scan.lastTimestamp().isPresent()) {
                    last = scan.lastTimestamp();
                }
                kept.add(new AofManifest.Entry(name, seq, 'i'));
                if (scan.cut()) {
                    cut = true;
                    break;
                }
                if (!scan.complete()) {
                    partial = true;
                }
                if (beyondHole.containsKey(seq)) {
                    // stored ranges beyond a missing one: this file ends at its contiguous end and no
                    // later file may follow (it would replay commands after the missing middle)
                    hole = true;
                    long end = chains.getOrDefault(seq, List.of()).isEmpty() ? 0 : chains.get(seq).get(chains.get(seq).size() - 1).end();
                    holeAt = name + " at byte " + end;
                    break;
                }
                if (partial) {
                    break; // the next file would follow a hole
                }
            }
            if (gapAfter != null && !cut) {
                // T is past every command stored in the chosen epoch, and the AOF between its last stored
                // byte and the next base may be lost: the state at T is not known.
                throw new HoldfastException(ErrorCode.WAL_GAP, "--to-time " + o.toTime().get() + " lies in an AOF gap of source " + o.source()
                        + ": the AOF between the last stored byte of epoch " + AofLayout.epochName(chosen.epoch)
                        + (last.isPresent() ? " (last timestamp " + Instant.ofEpochSecond(last.getAsLong()) + ")" : "")
                        + " and the base of epoch " + AofLayout.epochName(gapAfter.epoch()) + " (" + gapAfter.baseTime()
                        + ") may be lost; restore to a time before the gap or at or after "
                        + Instant.ofEpochSecond(gapAfter.baseTime().getEpochSecond() + 1));
            }
            boolean reaches = true;
            if (limit.isPresent() && !cut && !hole && last.isPresent() && last.getAsLong() < limit.getAsLong()) {
                reaches = false; // the stored AOF ends before T (or nothing was written since the last annotation)
            }
            // A new incr file starts without an annotation until the second changes (its first commands
            // belong to the previous annotation's second). An epoch with commands and no annotation is
            // therefore either one whose writes all fell in the second of the rewrite (timestamps on:
            // every command is at or before the base's time, so none is later than T) or one written
            // with timestamps off. An earlier epoch of the source tells them apart: Redis's setting
            // is taken to be what it was then (the setting is not recorded per epoch); the state is
            // then restored whole and said to reach only the base's time.
            boolean earlierEpoch = epochs.headMap(chosen.epoch, false).values().stream().anyMatch(e -> e.descriptor && e.base);
            if (limit.isPresent() && commands > 0 && last.isEmpty() && !cut && earlierEpoch) {
                reaches = !epoch.baseTime().isBefore(o.toTime().get());
            } else if (limit.isPresent() && commands > 0 && last.isEmpty() && !cut) {
                throw new HoldfastException(ErrorCode.USAGE, "--to-time needs the AOF timestamp annotations, and the AOF of source "
                        + o.source() + " has none: set aof-timestamp-enabled yes in Redis (or restore without --to-time for the latest state)");
            }
            AofManifest.Entry base = new AofManifest.Entry(epoch.baseFile(), epoch.baseSeq(), 'b');
            Path manifest = aof.resolve(epoch.appendFilename() + ".manifest");
            Files.writeString(manifest, AofManifest.render(base, kept), StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW);
            fsync(aof);
            if (o.overwrite()) {
                clearExcept(root, tmp);
            }
            Path dest = root.resolve("appendonlydir");
            Files.move(aof, dest, StandardCopyOption.ATOMIC_MOVE);
            fsync(root);
            return new Result(chosen.epoch, dest, bytes, kept.size(), commands, last, cut, partial, hole, Optional.ofNullable(holeAt),
                    reaches && !hole);
        } finally {
            deleteTree(tmp); // after success only the empty temporary directory; after a failure, all that was written
        }
    }

    private byte[] randomBytes() {
        byte[] b = new byte[8];
        random.nextBytes(b);
        return b;
    }

    private long copy(dev.holdfast.repository.store.ObjectKey key, Path to) throws IOException {
        try (InputStream in = repo.open(key);
             OutputStream out = Files.newOutputStream(to, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            return in.transferTo(out);
        }
    }

    private static void fsync(Path dirOrFile) throws IOException {
        if (Files.isDirectory(dirOrFile)) {
            try (var s = Files.list(dirOrFile)) {
                for (Path f : s.toList()) {
                    if (Files.isRegularFile(f)) {
                        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                            ch.force(true);
                        }
                    }
                }
            }
        }
        try (FileChannel ch = FileChannel.open(dirOrFile, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // directories cannot be opened for fsync on every platform
        }
    }

    private static void clearExcept(Path root, Path keep) throws IOException {
        try (var s = Files.list(root)) {
            for (Path p : s.toList()) {
                if (!p.equals(keep)) {
                    deleteTree(p);
                }
            }
        }
    }

    static void deleteTree(Path p) {
        try {
            RestoreTarget.deleteTree(p, false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
