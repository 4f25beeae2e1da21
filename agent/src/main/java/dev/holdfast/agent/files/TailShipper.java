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
 *       (rotation by rename), the old file is read to its end into its generation, then a new
 *       generation starts at offset 0 for the new file;</li>
 *   <li>when the file shrinks below the shipped offset (copytruncate), a new generation starts at 0;</li>
 *   <li>after an agent restart, the state comes back from the repository: the newest generation's
 *       inode (its meta) and its greatest shipped end. Same inode and not shrunk: shipping resumes at
 *       that end; else a new generation starts (what the old file got after the agent stopped is not
 *       shipped, and is reported).</li>
 * </ul>
 * Offsets advance only once the object holding the bytes exists. Blocking; one thread at a time.
 */
public final class TailShipper implements AutoCloseable {
    public static final int MAX_OBJECT = 8 << 20;
    static final int LAST = 32;

    private final Repository repository;
    private final FilesSourceConfig source;
    private final Clock clock;
    private final ContentIds ids;
    private final FilesSnapshot.Listener listener;
    private final Map<String, Tailed> files = new HashMap<>();
    private final AtomicLong shipped = new AtomicLong();
    private final AtomicLong objects = new AtomicLong();

    private static final class Tailed {
        final String path;
        final String pathId;
        int gen;
        long inode;
        long offset;
        FileChannel channel;
        byte[] last = new byte[0]; // the last bytes shipped (at most LAST), to notice a file rewritten in place

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

    /** One pass over the tailed files; see the class. */
    public void tick() throws IOException {
        List<FilesManifest.Excluded> problems = new ArrayList<>();
        Map<Path, TreeScan.Found> found = new TreeScan(source.tail(), source.exclude()).scan(problems);
        for (TreeScan.Found f : found.values()) {
            if (f.type() == FileEntry.Type.FILE) {
                follow(f);
            }
        }
        // followed files whose path vanished (renamed away and not yet recreated): finish them
        for (Tailed t : files.values()) {
            if (!found.containsKey(Path.of(t.path)) && t.channel != null) {
                finish(t);
            }
        }
    }

    private void follow(TreeScan.Found f) throws IOException {
        String path = f.path().toString();
        Tailed t = files.get(path);
        if (t == null) {
            t = resume(f);
            files.put(path, t);
        }
        if (t.channel != null && t.inode != f.inode()) { // rotated by rename: finish the old inode, start the new file
            finish(t);
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

    /** Reads the old inode to its end into its generation, then closes it. */
    private void finish(Tailed t) throws IOException {
        try {
            ship(t, t.channel.size());
        } finally {
            t.channel.close();
            t.channel = null;
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
        if (last.inode() == f.inode() && f.size() >= end) {
            t.channel = open(f.path());
            if (t.channel != null) {
                t.last = read(t.channel, Math.max(0, end - LAST), (int) Math.min(LAST, end));
            }
            listener.message("tailed file " + path + ": resuming generation " + t.gen + " at offset " + end);
        } else {
            listener.message("tailed file " + path + " was rotated or truncated while no agent followed it: bytes it got after offset " + end
                    + " of generation " + t.gen + " were not shipped; starting a new generation");
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
            Futures.await(repository.store().create(key, ByteBuffer.wrap(out.toByteArray()), PutOptions.DEFAULT));
            objects.incrementAndGet();
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot seal " + key + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        for (Tailed t : files.values()) {
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
