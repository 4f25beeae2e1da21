package dev.holdfast.agent.redis;

import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.seal.Footer;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectKey;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Ships a Redis 7 multi-part AOF into the repository (docs/format.md section 13). Blocking: every
 * method runs on one worker thread, never on an event loop, and never concurrently.
 *
 * <h2>Contract</h2>
 * <ul>
 * <li>{@link #resume()} rebuilds the state from the repository alone (the newest epoch with a
 * descriptor and the contiguous ranges shipped of each incr file), so a restart (even after
 * {@code kill -9}: an unfinished upload is never visible) continues at the first byte not stored:
 * no gap, no duplicate.</li>
 * <li>{@link #tick()} reads the manifest; when its base is not the current epoch's, it begins a new
 * epoch (uploads the base, then the descriptor); then it ships, in manifest order, every incr
 * file's bytes past the stored end as a new object. An incr file followed by another in the
 * manifest is complete (Redis writes only to the last one), so shipping in order completes it.</li>
 * <li>A gap (the incr file being followed vanished with a rewrite before its end could be known to be
 * stored, e.g. the agent was down across the rewrite) is reported by {@link Tick#gap()}, recorded
 * as {@code gap_before} in the new epoch's descriptor, and the new base is shipped at once.</li>
 * </ul>
 */
public final class AofShipper {
    /** At most this many bytes per object; a longer backlog becomes several objects. */
    static final long MAX_RANGE = 64L << 20;

    private final Repository repo;
    private final AofLayout layout;
    private final Path dir;
    private final Clock clock;
    private final EventLog log;
    /** Read by {@link #epoch()} from other threads (status). */
    private volatile AofEpoch current;
    private long highestEpochSeen;
    private final TreeMap<Long, Long> shipped = new TreeMap<>();
    /** Per incr file of the current epoch, the last range of its stored chain (read back once for {@link #tails}). */
    private final TreeMap<Long, AofLayout.Range> lastStored = new TreeMap<>();
    /** Per incr file of the current epoch, the last (up to {@link #TAIL}) bytes stored before its stored end. */
    private final TreeMap<Long, byte[]> tails = new TreeMap<>();
    /** How many bytes before the stored end are compared with the file before appending. */
    static final int TAIL = 64;
    private boolean forceNewEpoch;
    private boolean dirty;
    private String forceReason = "";
    /**
     * The current epoch's incr files, held open: Redis deletes the previous incr file as soon as a
     * rewrite completes, and an open descriptor still reads it to its (final) end.
     */
    private final TreeMap<Long, FileChannel> open = new TreeMap<>();

    /** What one {@link #tick()} did. */
    public record Tick(Instant observedAt, long bytes, long objects, boolean newEpoch, boolean gap, Optional<String> waiting) {
    }

    public AofShipper(Repository repo, String source, Path dir, Clock clock, EventLog log) {
        this.repo = repo;
        this.layout = new AofLayout(source);
        this.dir = dir;
        this.clock = clock;
        this.log = log;
    }

    /** Reads the state from the repository. */
    public void resume() {
        TreeMap<Long, AofLayout.EpochObjects> epochs = layout.parse(Futures.await(repo.store().listAll(layout.prefix())));
        highestEpochSeen = epochs.isEmpty() ? 0 : epochs.lastKey();
        shipped.clear();
        lastStored.clear();
        tails.clear();
        current = null;
        Optional<AofLayout.EpochObjects> latest = AofLayout.latestComplete(epochs);
        if (latest.isPresent()) {
            current = readEpoch(latest.get().epoch);
            shipped.putAll(latest.get().ends());
            latest.get().chains().forEach((seq, chain) -> {
                if (!chain.isEmpty()) {
                    lastStored.put(seq, chain.get(chain.size() - 1));
                }
            });
        }
    }

    AofEpoch readEpoch(long epoch) {
        return readEpoch(repo, layout, epoch);
    }

    /** Reads and checks epoch {@code epoch}'s descriptor. */
    static AofEpoch readEpoch(Repository repo, AofLayout layout, long epoch) {
        ObjectKey key = layout.descriptor(epoch);
        try (InputStream in = repo.open(key)) {
            AofEpoch e = AofEpoch.parse(in.readAllBytes(), "object '" + key + "'");
            if (e.epoch() != epoch) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "object '" + key + "' describes epoch " + e.epoch());
            }
            return e;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Optional<AofEpoch> epoch() {
        return Optional.ofNullable(current);
    }

    /** The stored end of each incr file of the current epoch. */
    public TreeMap<Long, Long> shipped() {
        return new TreeMap<>(shipped);
    }

    /** The AOF directory: {@code <dir>/appendonlydir} by default, else the one directory holding a manifest. */
    Optional<Path> manifestFile() throws IOException {
        List<Path> found = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        try (Stream<Path> subdirs = Files.list(dir)) {
            for (Path d : subdirs.filter(Files::isDirectory).toList()) {
                try (Stream<Path> files = Files.list(d)) {
                    files.filter(f -> f.getFileName().toString().endsWith(".manifest")).forEach(found::add);
                }
            }
        }
        if (found.size() > 1) {
            Optional<Path> preferred = found.stream().filter(p -> p.getParent().getFileName().toString().equals("appendonlydir")).findFirst();
            if (preferred.isPresent() && found.stream().filter(p -> p.getParent().equals(preferred.get().getParent())).count() == 1) {
                return preferred;
            }
            throw new HoldfastException(ErrorCode.SOURCE_ERROR, "several AOF manifests under " + dir + ": " + found);
        }
        return found.stream().findFirst();
    }

    /** One pass: see the class comment. After a failed pass the state is read again from the repository first. */
    public Tick tick() throws IOException {
        if (dirty) {
            long before = current == null ? -1 : current.epoch();
            resume();
            if (current == null || current.epoch() != before) {
                closeAll();
            }
            dirty = false;
        }
        boolean ok = false;
        try {
            Tick t = pass();
            ok = true;
            return t;
        } finally {
            // an upload may have failed after its object became visible (a lost acknowledgement):
            // the repository, not memory, says where to go on
            dirty = !ok;
        }
    }

    private Tick pass() throws IOException {
        Instant observed = clock.instant();
        Optional<Path> mf = manifestFile();
        if (mf.isEmpty()) {
            return new Tick(observed, 0, 0, false, false, Optional.of("no AOF manifest under " + dir
                    + " (Redis needs appendonly yes; the agent needs read access to its dir)"));
        }
        Path aofDir = mf.get().getParent();
        String manifestName = mf.get().getFileName().toString();
        String appendFilename = manifestName.substring(0, manifestName.length() - ".manifest".length());
        AofManifest manifest;
        try {
            manifest = AofManifest.parse(Files.readString(mf.get(), StandardCharsets.UTF_8), mf.get().toString());
        } catch (NoSuchFileException e) {
            return new Tick(observed, 0, 0, false, false, Optional.of("the manifest was being replaced"));
        }
        if (manifest.base().isEmpty()) {
            return new Tick(observed, 0, 0, false, false, Optional.of("the AOF has no base file yet"));
        }
        boolean newEpoch = false;
        boolean gap = false;
        long[] counts = new long[2];
        if (current != null && !forceNewEpoch && manifest.base().get().file().equals(current.baseFile()) && !sameBase(aofDir)) {
            // same name, other file: Redis's data set was reset (appendonlydir removed, sequence restarted)
            log.warn("redis_aof_reset", "base", current.baseFile(), "detail", "the base file changed under the same name; starting a new epoch");
            forceNewEpoch = true;
            forceReason = "Redis's data set was reset (a new base under the same name)";
        }
        if (current == null || forceNewEpoch || !manifest.base().get().file().equals(current.baseFile())) {
            gap = current != null && finishOld(aofDir, manifest, counts);
            if (!beginEpoch(aofDir, appendFilename, manifest, gap, counts)) {
                return new Tick(observed, counts[0], counts[1], false, gap, Optional.of("the base file was replaced while it was read"));
            }
            newEpoch = true;
        }
        for (AofManifest.Entry e : manifest.incrs()) {
            ship(aofDir, e, counts);
        }
        return new Tick(observed, counts[0], counts[1], newEpoch, gap, Optional.empty());
    }

    /** Whether the current epoch's base file is still the one stored (size and modification time). */
    private boolean sameBase(Path aofDir) throws IOException {
        Path f = aofDir.resolve(current.baseFile());
        try {
            return Files.size(f) == current.baseSize() && Files.getLastModifiedTime(f).toInstant().equals(current.baseTime());
        } catch (NoSuchFileException e) {
            return true; // replaced right now: the next pass sees the new manifest
        }
    }

    /**
     * Before leaving the current epoch: ships every incr file of it to its current size (the held
     * ones, complete when the new manifest no longer lists them; and the one the rewrite opened,
     * still listed, which the old epoch needs for a restore to a time before the new base), and says
     * whether AOF may be lost: the last incr file the epoch followed is neither listed nor on disk.
     */
    private boolean finishOld(Path aofDir, AofManifest next, long[] counts) throws IOException {
        if (forceNewEpoch) {
            return true;
        }
        long followed = -1;
        for (long s : current.incrAtStart()) {
            followed = Math.max(followed, s);
        }
        if (!shipped.isEmpty()) {
            followed = Math.max(followed, shipped.lastKey());
        }
        boolean followedComplete = next.incr(followed).isPresent();
        for (long seq : new ArrayList<>(open.keySet())) {
            shipFrom(open.get(seq), current.incrFile(seq), seq, counts); // from the held descriptor if deleted
            if (seq == followed) {
                followedComplete = true;
            }
        }
        if (followed >= 0 && !followedComplete) {
            Path f = aofDir.resolve(current.incrFile(followed));
            if (!Files.exists(f)) {
                return true;
            }
            ship(aofDir, new AofManifest.Entry(current.incrFile(followed), followed, 'i'), counts);
        }
        // The incr files the new manifest lists after the followed one were opened by the rewrite (or
        // after it): they continue this epoch's AOF up to now.
        for (AofManifest.Entry e : next.incrs()) {
            if (e.seq() > followed && !open.containsKey(e.seq()) && e.file().equals(current.incrFile(e.seq()))) {
                ship(aofDir, e, counts);
            }
        }
        return forceNewEpoch;
    }

    /** Uploads the base, then the descriptor; false when the base vanished before it could be opened. */
    private boolean beginEpoch(Path aofDir, String appendFilename, AofManifest manifest, boolean gap, long[] counts) throws IOException {
        AofManifest.Entry base = manifest.base().get();
        long epoch = highestEpochSeen + 1;
        Path file = aofDir.resolve(base.file());
        Footer footer;
        Instant mtime;
        long size;
        // Opened once: Redis may delete the file after a rewrite, the open descriptor still reads it.
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            mtime = Files.getLastModifiedTime(file).toInstant();
            size = ch.size();
            highestEpochSeen = epoch; // a failed upload must not reuse the number
            footer = repo.put(layout.base(epoch), bounded(ch, 0, size), true);
        } catch (NoSuchFileException e) {
            return false;
        }
        List<Long> incrs = manifest.incrs().stream().map(AofManifest.Entry::seq).toList();
        AofEpoch next = new AofEpoch(epoch, clock.instant(), appendFilename, base.file(), base.seq(), size,
                HexFormat.of().formatHex(footer.sha256().orElseThrow()), mtime, incrs, gap);
        repo.put(layout.descriptor(epoch), new java.io.ByteArrayInputStream(next.toJson()), true);
        counts[0] += size;
        counts[1] += 2;
        if (gap) {
            log.warn("redis_aof_gap", "epoch", AofLayout.epochName(epoch), "previous_epoch",
                    current == null ? "none" : AofLayout.epochName(current.epoch()),
                    "detail", (forceNewEpoch ? forceReason : "the incr file the agent followed is gone (the agent was down across a rewrite)")
                            + ": AOF between the last stored byte and the new base may be lost; the new base is stored");
        }
        log.info("redis_aof_epoch", "epoch", AofLayout.epochName(epoch), "base", base.file(), "bytes", size, "gap", gap);
        current = next;
        closeAll();
        shipped.clear();
        lastStored.clear();
        tails.clear();
        forceNewEpoch = false;
        return true;
    }

    private void ship(Path aofDir, AofManifest.Entry e, long[] counts) throws IOException {
        if (!e.file().equals(current.incrFile(e.seq()))) {
            throw new HoldfastException(ErrorCode.SOURCE_ERROR, "incr file " + e.file() + " does not follow Redis's naming "
                    + current.incrFile(e.seq()));
        }
        FileChannel ch = open.get(e.seq());
        if (ch == null) {
            try {
                ch = FileChannel.open(aofDir.resolve(e.file()), StandardOpenOption.READ);
            } catch (NoSuchFileException gone) {
                return; // deleted after a rewrite: the next tick sees the new manifest
            }
            open.put(e.seq(), ch);
        }
        shipFrom(ch, e.file(), e.seq(), counts);
    }

    private void shipFrom(FileChannel ch, String file, long seq, long[] counts) throws IOException {
        long end = shipped.getOrDefault(seq, 0L);
        long size = ch.size();
        if (size < end) {
            // Redis truncated the file (aof-load-truncated after a crash): the stored tail is not its
            // AOF any more. Start over from a new epoch so nothing diverges.
            log.warn("redis_aof_truncated", "file", file, "stored_end", end, "size", size);
            forceNewEpoch = true;
            forceReason = "Redis truncated incr file " + file + " below what is stored";
            return;
        }
        byte[] tail = end > 0 && end < size ? storedTail(seq, end) : null;
        if (end > 0 && end < size && (tail == null || !Arrays.equals(tail, read(ch, end - tail.length, tail.length)))) {
            // The file no longer holds the stored bytes before the stored end (Redis rewrote its tail
            // after a crash, then appended): appending would mix two histories. Start a new epoch.
            log.warn("redis_aof_diverged", "file", file, "stored_end", end, "size", size);
            forceNewEpoch = true;
            forceReason = "incr file " + file + " no longer holds the stored bytes before offset " + end;
            return;
        }
        while (end < size) {
            long len = Math.min(size - end, MAX_RANGE);
            repo.put(layout.incr(current.epoch(), seq, end, end + len), bounded(ch, end, len), true);
            end += len;
            shipped.put(seq, end);
            lastStored.remove(seq);
            tails.put(seq, read(ch, end - Math.min(len, TAIL), (int) Math.min(len, TAIL)));
            counts[0] += len;
            counts[1]++;
        }
        shipped.putIfAbsent(seq, end);
    }

    /** The last bytes stored before {@code end} in incr file {@code seq}: from memory, else read back from the repository once. */
    private byte[] storedTail(long seq, long end) throws IOException {
        byte[] t = tails.get(seq);
        if (t != null) {
            return t;
        }
        AofLayout.Range r = lastStored.get(seq);
        if (r == null || r.end() != end) {
            return null; // not known: the comparison fails safe (a new epoch)
        }
        int n = (int) Math.min(r.end() - r.start(), TAIL);
        try (InputStream in = repo.open(r.key())) {
            in.skipNBytes(r.end() - r.start() - n);
            t = in.readNBytes(n);
        }
        tails.put(seq, t);
        return t;
    }

    /** {@code n} bytes of {@code ch} from {@code offset}. */
    private static byte[] read(FileChannel ch, long offset, int n) throws IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b, offset + b.position()) < 0) {
                throw new IOException("file shrank while it was read");
            }
        }
        return b.array();
    }

    /** Closes the held incr files. */
    public void closeAll() {
        for (FileChannel ch : open.values()) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // read-only
            }
        }
        open.clear();
    }

    /** Exactly {@code len} bytes from {@code offset} (fails if the file is shorter). */
    private static InputStream bounded(FileChannel ch, long offset, long len) throws IOException {
        InputStream raw = Channels.newInputStream(ch.position(offset));
        return new InputStream() {
            long left = len;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int n) throws IOException {
                if (left == 0) {
                    return -1;
                }
                int r = raw.read(b, off, (int) Math.min(n, left));
                if (r < 0) {
                    throw new IOException("file shrank while it was read");
                }
                left -= r;
                return r;
            }
        };
    }
}
