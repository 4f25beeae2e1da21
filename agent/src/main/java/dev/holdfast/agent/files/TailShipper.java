package dev.holdfast.agent.files;

import dev.holdfast.agent.config.FilesSourceConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.seal.SealingOutputStream;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.PutOptions;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Ships append-only files ({@code tail} globs) continuously (docs/files.md, "Tail mode"). Each
 * {@link #tick()} (the source calls it every second) ships, for every tailed file, the bytes
 * appended since the last durable offset as one new object per file (at most {@link #MAX_OBJECT}
 * bytes each), never re-uploading shipped bytes:
 * <ul>
 *   <li>a file is followed by its inode through an open channel: when the path names another inode
 *       or is missing (rotation by rename), the old inode stays open as a <em>draining</em>
 *       generation: what the writer still appends to it (it keeps its descriptor until it reopens)
 *       is shipped on every tick until it has not grown for {@link #DRAIN_QUIET_TICKS} ticks; then
 *       it is closed. At most {@link #MAX_DRAINING} per path: beyond, the oldest is shipped to its
 *       size, closed, and reported. A new generation starts at offset 0 for the new file;</li>
 *   <li>when the file shrinks below the shipped offset, or no longer holds the last shipped bytes
 *       where they were (copytruncate), a new generation starts at 0;</li>
 *   <li>after an agent restart, the state comes back from the repository: the newest generation's
 *       inode (its meta), its greatest shipped end, and the last (at most {@link #LAST}) bytes of its
 *       newest segment (unsealed). Same inode, not shrunk and those bytes still in the file at that
 *       offset: shipping resumes at that end; else a new generation starts (what the old file got
 *       after the agent stopped is not shipped, and is reported). Draining generations are not
 *       resumed.</li>
 *   <li>a failure is caught per file (the other files are shipped in the same tick); before the
 *       failed file is shipped again its offsets are reloaded from the repository, since an upload
 *       that failed may have landed (a lost acknowledgement): an existing segment [a, b) means
 *       continuing from b, and an object that already exists under the same name is done.</li>
 * </ul>
 * Offsets advance only once the object holding the bytes exists. Blocking; one thread at a time.
 */
public final class TailShipper implements AutoCloseable {
    public static final int MAX_OBJECT = 8 << 20;
    static final int LAST = 32;
    /** A rotated (draining) inode is closed once it has not grown for this many ticks (5 s at one tick a second). */
    public static final int DRAIN_QUIET_TICKS = 5;
    /** At most this many rotated inodes drain per path; beyond, the oldest is shipped to its size and closed. */
    public static final int MAX_DRAINING = 4;

    private final Repository repository;
    private final FilesSourceConfig source;
    private final Clock clock;
    private final ContentIds ids;
    private final FilesSnapshot.Listener listener;
    private final Map<String, Tailed> files = new HashMap<>();
    private final AtomicLong shipped = new AtomicLong();
    private final AtomicLong objects = new AtomicLong();
    private volatile String lastNotice;

    private static final class Tailed {
        final String path;
        final String pathId;
        int gen;
        long inode;
        long offset;
        FileChannel channel;
        byte[] last = new byte[0]; // the last bytes shipped (at most LAST), to notice a file rewritten in place
        int quiet; // draining: ticks without growth
        boolean reload; // a tick failed: reload the offsets from the repository before shipping again
        final List<Tailed> draining = new ArrayList<>(); // rotated inodes still shipped, oldest first

        Tailed(String path, String pathId) {
            this.path = path;
            this.pathId = pathId;
        }
    }

    public TailShipper(Repository repository, FilesSourceConfig source, Clock clock, FilesSnapshot.Listener listener) {
        this.repository = repository;
        this.source = source;
        this.clock = clock;
        this.ids = new ContentIds(repository);
        this.listener = listener;
    }

    /** Bytes shipped by this shipper. */
    public long bytesShipped() {
        return shipped.get();
    }

    /** Objects written by this shipper (segments and metas). */
    public long objectsWritten() {
        return objects.get();
    }

    /** The last notice worth an operator's attention (a file changed while no agent followed it, a drain cut short), or null. */
    public String lastNotice() {
        return lastNotice;
    }

    private void notice(String text) {
        lastNotice = text;
        listener.message(text);
    }

    /**
     * One pass over the tailed files; see the class. A file that fails does not stop the others;
     * the first failure is thrown at the end of the pass.
     */
    public void tick() throws IOException {
        List<FilesManifest.Excluded> problems = new ArrayList<>();
        Map<Path, TreeScan.Found> found = new TreeScan(source.tail(), source.exclude()).scan(problems);
        RuntimeException failed = null;
        int failures = 0;
        for (TreeScan.Found f : found.values()) {
            if (f.type() == FileEntry.Type.FILE) {
                Tailed t = files.get(f.path().toString());
                try {
                    follow(f);
                } catch (IOException | RuntimeException e) {
                    failures++;
                    failed = failed != null ? failed : wrap(f.path().toString(), e);
                    if (t != null) {
                        t.reload = true;
                    }
                }
            }
        }
        for (Tailed t : files.values()) {
            try {
                if (!found.containsKey(Path.of(t.path)) && t.channel != null) {
                    // the path vanished (renamed away and not yet recreated): the inode drains
                    rotate(t);
                }
                reloadIfFailed(t);
                drain(t);
            } catch (IOException | RuntimeException e) {
                failures++;
                failed = failed != null ? failed : wrap(t.path, e);
                t.reload = true;
            }
        }
        if (failed != null) {
            if (failures > 1) {
                failed.addSuppressed(new IOException(failures + " failures in this pass"));
            }
            throw failed;
        }
    }

    private static RuntimeException wrap(String path, Exception e) {
        if (e instanceof HoldfastException h) {
            return new HoldfastException(h.code(), "tailed file " + path + ": " + h.getMessage(), h);
        }
        return new HoldfastException(ErrorCode.IO_ERROR, "tailed file " + path + ": " + e.getMessage(), e);
    }

    /** The followed inode becomes a draining generation; the path's next file starts a new one. */
    private void rotate(Tailed t) throws IOException {
        Tailed d = new Tailed(t.path, t.pathId);
        d.gen = t.gen;
        d.inode = t.inode;
        d.offset = t.offset;
        d.channel = t.channel;
        d.last = t.last;
        t.channel = null;
        t.draining.add(d); // shipped by drain(), in this tick
        while (t.draining.size() > MAX_DRAINING) {
            Tailed oldest = t.draining.remove(0);
            try {
                ship(oldest, oldest.channel.size());
            } finally {
                oldest.channel.close();
            }
            notice("tailed file " + t.path + ": more than " + MAX_DRAINING + " rotated files still open; generation " + oldest.gen
                    + " closed at offset " + oldest.offset + " (what its writer appends later is not shipped)");
        }
    }

    /** Ships what the draining generations got; closes those quiet for DRAIN_QUIET_TICKS ticks. */
    private void drain(Tailed t) throws IOException {
        for (var it = t.draining.iterator(); it.hasNext(); ) {
            Tailed d = it.next();
            long size = d.channel.size();
            if (size > d.offset) {
                ship(d, size);
                d.quiet = 0;
            } else if (size < d.offset || ++d.quiet >= DRAIN_QUIET_TICKS) {
                d.channel.close();
                it.remove();
                listener.message("tailed file " + t.path + ": rotated generation " + d.gen + " closed at offset " + d.offset);
            }
        }
    }

    /** After a failed tick: the offsets of this file's generations as the repository has them. */
    private void reloadIfFailed(Tailed t) {
        if (!t.reload) {
            return;
        }
        var gens = new TailStreams(repository).list(source.name(), Optional.of(t.pathId)).getOrDefault(t.pathId, new TreeMap<>());
        List<Tailed> all = new ArrayList<>(t.draining);
        all.add(t);
        for (Tailed g : all) {
            TailStreams.Generation stored = gens.get(g.gen);
            if (stored == null || stored.segments().isEmpty()) {
                continue;
            }
            FilesLayout.TailName newest = stored.segments().get(stored.segments().size() - 1);
            if (newest.end() > g.offset) { // an upload that failed landed: continue after it
                listener.message("tailed file " + t.path + ": generation " + g.gen + " already holds [" + newest.start() + ", " + newest.end()
                        + ") (an upload reported failed had landed); continuing from " + newest.end());
                g.offset = newest.end();
                g.last = storedLast(newest);
            }
        }
        t.reload = false;
    }

    /** The last (at most LAST) bytes of a stored segment. */
    private byte[] storedLast(FilesLayout.TailName seg) {
        var key = FilesLayout.tailSegment(source.name(), seg.pathId(), seg.gen(), seg.start(), seg.end());
        try (var in = repository.open(key)) {
            byte[] all = in.readAllBytes();
            return java.util.Arrays.copyOfRange(all, Math.max(0, all.length - LAST), all.length);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "cannot read " + key + ": " + e.getMessage(), e);
        }
    }

    private void follow(TreeScan.Found f) throws IOException {
        String path = f.path().toString();
        Tailed t = files.get(path);
        if (t == null) {
            t = resume(f);
            files.put(path, t);
        }
        reloadIfFailed(t);
        if (t.channel != null && t.inode != f.inode()) { // rotated by rename: the old inode drains, the new file starts
            rotate(t);
        }
        if (t.channel == null) {
            for (var it = t.draining.iterator(); it.hasNext(); ) { // renamed back: follow that inode again
                Tailed d = it.next();
                if (d.inode == f.inode() && d.gen == t.gen) {
                    it.remove();
                    t.offset = d.offset;
                    t.last = d.last;
                    t.channel = d.channel;
                }
            }
        }
        if (t.channel == null) {
            if (t.inode != f.inode() || t.gen == 0) {
                startGeneration(t, f, t.gen == 0 ? "new" : "rotated");
            }
            t.channel = open(f.path());
            if (t.channel == null) {
                return;
            }
            Optional<TreeScan.Found> now = TreeScan.read(f.path());
            if (now.isEmpty() || now.get().inode() != t.inode) { // rotated between the scan and the open: next tick
                t.channel.close();
                t.channel = null;
                return;
            }
        }
        long size = t.channel.size();
        if (size < t.offset || !stillHas(t)) { // copytruncate (and the file may have grown again since)
            listener.message("tailed file " + path + " shrank from " + t.offset + " to " + size + " bytes (copytruncate): new generation");
            startGeneration(t, f, "truncated");
        }
        ship(t, size);
    }

    /** Whether the file still holds the last bytes shipped where they were. */
    private static boolean stillHas(Tailed t) throws IOException {
        if (t.last.length == 0) {
            return true;
        }
        byte[] now = read(t.channel, t.offset - t.last.length, t.last.length);
        return java.util.Arrays.equals(now, t.last);
    }

    private static byte[] read(FileChannel ch, long pos, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            int r = ch.read(b, pos + b.position());
            if (r <= 0) {
                break;
            }
        }
        return java.util.Arrays.copyOf(b.array(), b.position());
    }

    private static byte[] keepLast(byte[] old, byte[] added) {
        if (added.length >= LAST) {
            return java.util.Arrays.copyOfRange(added, added.length - LAST, added.length);
        }
        int keep = Math.min(old.length, LAST - added.length);
        byte[] out = new byte[keep + added.length];
        System.arraycopy(old, old.length - keep, out, 0, keep);
        System.arraycopy(added, 0, out, keep, added.length);
        return out;
    }

    private static FileChannel open(Path p) throws IOException {
        try {
            return FileChannel.open(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** The state of a path not followed yet: from the repository. */
    private Tailed resume(TreeScan.Found f) throws IOException {
        String path = f.path().toString();
        Tailed t = new Tailed(path, ids.pathId(path));
        var gens = new TailStreams(repository).list(source.name(), Optional.of(t.pathId)).getOrDefault(t.pathId, new TreeMap<>());
        if (gens.isEmpty()) {
            return t; // gen 0: the first tick starts generation 1
        }
        TailStreams.Generation last = gens.lastEntry().getValue();
        long end = last.segments().isEmpty() ? 0 : last.segments().get(last.segments().size() - 1).end();
        t.gen = last.gen();
        t.inode = last.inode();
        t.offset = end;
        boolean same = last.inode() == f.inode() && f.size() >= end;
        if (same && end > 0) {
            // the last bytes shipped, as stored (not as the file has them now: it may have been truncated and rewritten)
            t.last = storedLast(last.segments().get(last.segments().size() - 1));
            t.channel = open(f.path());
            if (t.channel == null || !stillHas(t)) {
                same = false;
            }
        }
        if (same) {
            if (t.channel == null) {
                t.channel = open(f.path());
            }
            listener.message("tailed file " + path + ": resuming generation " + t.gen + " at offset " + end);
        } else {
            notice("tailed file " + path + " was rotated, truncated or rewritten while no agent followed it: bytes it got after offset " + end
                    + " of generation " + t.gen + " were not shipped; starting a new generation");
            if (t.channel != null) {
                t.channel.close();
                t.channel = null;
            }
            startGeneration(t, f, "resumed-elsewhere");
        }
        return t;
    }

    private void startGeneration(Tailed t, TreeScan.Found f, String reason) {
        int gen = t.gen + 1;
        JsonObject meta = new JsonObject().put("format", 1).put("kind", "files-tail").put("source", source.name()).put("path", t.path)
                .put("generation", gen).put("inode", f.inode()).put("mode", String.format("%04o", f.mode()))
                .put("started_at", clock.instant().toString()).put("reason", reason);
        create(FilesLayout.tailMeta(source.name(), t.pathId, gen), meta.encode().getBytes(StandardCharsets.UTF_8));
        t.gen = gen;
        t.inode = f.inode();
        t.offset = 0;
        t.last = new byte[0];
        if (t.channel != null && !reason.equals("truncated")) {
            try {
                t.channel.close();
            } catch (IOException e) {
                // a new file follows
            }
            t.channel = null;
        }
    }

    /** Ships bytes [offset, upTo) of the followed channel, in objects of at most MAX_OBJECT bytes. */
    private void ship(Tailed t, long upTo) throws IOException {
        while (t.offset < upTo) {
            int want = (int) Math.min(MAX_OBJECT, upTo - t.offset);
            ByteBuffer buf = ByteBuffer.allocate(want);
            long pos = t.offset;
            while (buf.hasRemaining()) {
                int r = t.channel.read(buf, pos);
                if (r <= 0) {
                    break;
                }
                pos += r;
            }
            int n = buf.position();
            if (n == 0) {
                return;
            }
            byte[] bytes = new byte[n];
            buf.flip().get(bytes);
            create(FilesLayout.tailSegment(source.name(), t.pathId, t.gen, t.offset, t.offset + n), bytes);
            t.offset += n;
            t.last = keepLast(t.last, bytes);
            shipped.addAndGet(n);
        }
    }

    private void create(ObjectKey key, byte[] plaintext) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream(plaintext.length + 256);
            try (SealingOutputStream s = new SealingOutputStream(out, repository.newCodec(key, false))) {
                s.write(plaintext);
            }
            try {
                Futures.await(repository.store().create(key, ByteBuffer.wrap(out.toByteArray()), PutOptions.DEFAULT));
            } catch (HoldfastException e) {
                if (e.code() != ErrorCode.OBJECT_EXISTS) {
                    throw e;
                }
                // an earlier attempt that was reported failed had landed (lost acknowledgement): done
                listener.message(key + " already exists (an earlier upload reported failed had landed): kept");
                return;
            }
            objects.incrementAndGet();
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot seal " + key + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        for (Tailed t : files.values()) {
            for (Tailed d : t.draining) {
                try {
                    d.channel.close();
                } catch (IOException e) {
                    // closing anyway
                }
            }
            t.draining.clear();
            if (t.channel != null) {
                try {
                    t.channel.close();
                } catch (IOException e) {
                    // closing anyway
                }
                t.channel = null;
            }
        }
    }
}
