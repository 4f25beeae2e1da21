package dev.holdfast.agent.files;

import dev.holdfast.agent.config.FilesSourceConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.seal.SealingOutputStream;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.PutOptions;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.Mac;

/**
 * Takes one snapshot of a files source (docs/files.md, docs/format.md "Files"):
 * <ol>
 *   <li>selects the entries ({@link TreeScan}) and leaves out files that look like secrets
 *       ({@link SecretRules}), reporting them;</li>
 *   <li>for each regular file, finds its content id: taken over from the previous snapshot when
 *       path, size, modification time, inode and status-change time are unchanged and the
 *       modification time lies in an earlier second than the previous snapshot began; else the file
 *       is read and its HMAC computed;</li>
 *   <li>stores the content as blob {@code files/blobs/<cc>/<id>} unless that blob exists (a
 *       {@code head}; blobs are shared by every snapshot, source and host of the repository). Files
 *       up to {@link #SMALL} bytes are read once into memory; larger ones are streamed twice (hash,
 *       then seal and upload), and the upload is abandoned if the bytes read the second time do not
 *       have the same id (the file changed meanwhile: it is read again, at most three times);</li>
 *   <li>writes the manifest (create-if-absent) after every blob it names is complete, unless the
 *       tree is the same as the previous snapshot's (then nothing is written).</li>
 * </ol>
 * Blocking: call from a thread of your own.
 */
public final class FilesSnapshot {
    /** Files up to this size are read into memory once, hashed and sealed from there. */
    public static final int SMALL = 1 << 20;
    private static final int ATTEMPTS = 3;

    private final Repository repository;
    private final FilesSourceConfig source;
    private final String host;
    private final Clock clock;
    private final ContentIds ids;
    private final int parallel;
    private final Set<String> present = ConcurrentHashMap.newKeySet();

    /** Told what happens; called from the snapshot's threads. */
    public interface Listener {
        void message(String text);

        static Listener none() {
            return t -> {
            };
        }
    }

    /**
     * @param manifest       the snapshot (when nothing changed: the previous one, not stored again)
     * @param stored         whether a new manifest was written
     * @param filesUploaded  blobs written by this run
     * @param bytesUploaded  plaintext bytes of those blobs
     * @param storedBytes    sealed bytes written (blobs and manifest)
     * @param filesHashed    files read and hashed
     * @param secrets        files left out because they look like secrets
     */
    public record Result(FilesManifest manifest, boolean stored, int filesUploaded, long bytesUploaded, long storedBytes, int filesHashed,
                         List<FilesManifest.Excluded> secrets) {
    }

    public FilesSnapshot(Repository repository, FilesSourceConfig source, String host, Clock clock, int parallel) {
        this.repository = Objects.requireNonNull(repository, "repository");
        this.source = Objects.requireNonNull(source, "source");
        this.host = Objects.requireNonNull(host, "host");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.ids = new ContentIds(repository);
        this.parallel = Math.max(1, parallel);
    }

    public Result run(Listener listener) {
        Instant started = clock.instant();
        Optional<FilesManifest> previous = new FilesCatalog(repository).latest(source.name());
        if (previous.isPresent() && !previous.get().host().equals(host)) {
            listener.message("the latest snapshot of source " + source.name() + " was taken on host " + previous.get().host() + ", not " + host
                    + ": every file is read again; if two hosts share this repository, give their files sources distinct names");
        }
        List<FilesManifest.Excluded> excluded = java.util.Collections.synchronizedList(new ArrayList<>());
        TreeScan scan = new TreeScan(source.paths(), concat(source.exclude(), source.tail()));
        Map<Path, TreeScan.Found> found = scan.scan(excluded);
        SecretRules secrets = new SecretRules(source.includeSecrets());
        List<FilesManifest.Excluded> secretList = new ArrayList<>();
        Map<String, FileEntry> before = new HashMap<>();
        previous.filter(p -> p.host().equals(host)).ifPresent(p -> p.entries().forEach(e -> before.put(e.path(), e)));
        Instant trustBefore = previous.map(p -> p.startedAt().truncatedTo(ChronoUnit.SECONDS)).orElse(Instant.MIN);

        AtomicInteger uploaded = new AtomicInteger();
        AtomicInteger hashed = new AtomicInteger();
        AtomicLong bytesUp = new AtomicLong();
        AtomicLong stored = new AtomicLong();
        List<FileEntry> entries = new ArrayList<>();
        List<Future<Optional<FileEntry>>> pending = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(parallel, r -> {
            Thread t = new Thread(r, "holdfast-files-" + source.name());
            t.setDaemon(true);
            return t;
        });
        try {
            for (TreeScan.Found f : found.values()) {
                if (f.type() != FileEntry.Type.FILE) {
                    Optional<String> target = Optional.empty();
                    if (f.type() == FileEntry.Type.SYMLINK) {
                        try {
                            target = Optional.of(Files.readSymbolicLink(f.path()).toString());
                        } catch (IOException e) {
                            excluded.add(new FilesManifest.Excluded(f.path().toString(), "unreadable link: " + e.getClass().getSimpleName()));
                            continue;
                        }
                    }
                    Optional<FileEntry> e = Optional.of(entry(f, Optional.empty(), target));
                    pending.add(java.util.concurrent.CompletableFuture.completedFuture(e));
                    continue;
                }
                Optional<String> why = secrets.secretReason(f.path());
                if (why.isPresent()) {
                    FilesManifest.Excluded s = new FilesManifest.Excluded(f.path().toString(), "secret: " + why.get());
                    secretList.add(s);
                    excluded.add(s);
                    listener.message("left out " + f.path() + ": it looks like a secret (" + why.get() + "); add it to include_secrets to keep it");
                    continue;
                }
                FileEntry old = before.get(f.path().toString());
                if (old != null && old.type() == FileEntry.Type.FILE && old.size() == f.size() && old.mtime().equals(f.mtime())
                        && old.inode() == f.inode() && old.ctime().equals(f.ctime()) && f.mtime().isBefore(trustBefore)) {
                    present.add(old.content().get());
                    pending.add(java.util.concurrent.CompletableFuture.completedFuture(Optional.of(entry(f, old.content(), Optional.empty()))));
                    continue;
                }
                pending.add(pool.submit(() -> {
                    hashed.incrementAndGet();
                    return storeFile(f, uploaded, bytesUp, stored, excluded);
                }));
            }
            for (Future<Optional<FileEntry>> p : pending) {
                p.get().ifPresent(entries::add);
            }
        } catch (ExecutionException e) {
            HoldfastException h = HoldfastException.find(e.getCause());
            throw h != null ? h : new HoldfastException(ErrorCode.IO_ERROR, "files snapshot of " + source.name() + " failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HoldfastException(ErrorCode.IO_ERROR, "files snapshot of " + source.name() + " interrupted", e);
        } finally {
            pool.shutdownNow();
        }
        long bytes = entries.stream().mapToLong(FileEntry::size).sum();
        List<FilesManifest.Excluded> ex;
        synchronized (excluded) {
            ex = excluded.stream().sorted(java.util.Comparator.comparing(FilesManifest.Excluded::path)).toList();
        }
        FilesManifest candidate = new FilesManifest(FilesManifest.FORMAT, FilesLayout.snapshotId(started), source.name(), host, started,
                clock.instant(), source.paths(), source.exclude(), entries, ex, bytes);
        if (previous.isPresent() && previous.get().sameTree(candidate)) {
            listener.message("nothing changed since snapshot " + previous.get().id() + ": no new snapshot stored");
            return new Result(previous.get(), false, uploaded.get(), bytesUp.get(), stored.get(), hashed.get(), secretList);
        }
        FilesManifest m = writeManifest(candidate, stored);
        return new Result(m, true, uploaded.get(), bytesUp.get(), stored.get(), hashed.get(), secretList);
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> l = new ArrayList<>(a);
        l.addAll(b);
        return l;
    }

    private FileEntry entry(TreeScan.Found f, Optional<String> content, Optional<String> target) {
        return new FileEntry(f.path().toString(), f.type(), f.mode(), f.uid(), f.gid(), f.owner(), f.group(), f.mtime(), f.size(), content,
                target, f.inode(), f.ctime());
    }

    /** Stores a file's content (unless present); its entry, or empty when it vanished or kept changing. */
    private Optional<FileEntry> storeFile(TreeScan.Found f, AtomicInteger uploaded, AtomicLong bytesUp, AtomicLong stored,
                                          List<FilesManifest.Excluded> excluded) {
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            try {
                Optional<TreeScan.Found> again = TreeScan.read(f.path());
                if (again.isEmpty() || again.get().type() != FileEntry.Type.FILE) {
                    return Optional.empty();
                }
                TreeScan.Found cur = again.get();
                Optional<FileEntry> e = cur.size() <= SMALL ? small(cur, uploaded, bytesUp, stored) : large(cur, uploaded, bytesUp, stored);
                if (e.isPresent()) {
                    return e;
                }
            } catch (java.nio.file.NoSuchFileException e) {
                return Optional.empty(); // deleted since the scan: not in this snapshot
            } catch (IOException e) {
                synchronized (excluded) {
                    excluded.add(new FilesManifest.Excluded(f.path().toString(), "unreadable: " + e.getClass().getSimpleName()));
                }
                return Optional.empty();
            }
        }
        synchronized (excluded) {
            excluded.add(new FilesManifest.Excluded(f.path().toString(), "changed while read (" + ATTEMPTS + " attempts)"));
        }
        return Optional.empty();
    }

    /** Whether the file still has the attributes it had before it was read. */
    private static boolean unchanged(TreeScan.Found before) throws IOException {
        Optional<TreeScan.Found> after = TreeScan.read(before.path());
        return after.isPresent() && after.get().size() == before.size() && after.get().mtime().equals(before.mtime())
                && after.get().inode() == before.inode() && after.get().ctime().equals(before.ctime());
    }

    private Optional<FileEntry> small(TreeScan.Found f, AtomicInteger uploaded, AtomicLong bytesUp, AtomicLong stored) throws IOException {
        byte[] content;
        try (InputStream in = Files.newInputStream(f.path(), LinkOption.NOFOLLOW_LINKS)) {
            content = in.readNBytes(SMALL + 1);
        }
        if (content.length != f.size() || !unchanged(f)) {
            return Optional.empty();
        }
        String id = ids.of(content, 0, content.length);
        if (!exists(id)) {
            long n = sealAndCreate(FilesLayout.blob(id), content);
            if (n > 0) {
                uploaded.incrementAndGet();
                bytesUp.addAndGet(content.length);
                stored.addAndGet(n);
            }
            present.add(id);
        }
        return Optional.of(entry(f, Optional.of(id), Optional.empty()));
    }

    private Optional<FileEntry> large(TreeScan.Found f, AtomicInteger uploaded, AtomicLong bytesUp, AtomicLong stored) throws IOException {
        Mac mac = ids.newMac();
        long n = 0;
        try (InputStream in = Files.newInputStream(f.path(), LinkOption.NOFOLLOW_LINKS)) {
            byte[] buf = new byte[1 << 16];
            for (int r; (r = in.read(buf)) > 0; ) {
                mac.update(buf, 0, r);
                n += r;
            }
        }
        if (n != f.size() || !unchanged(f)) {
            return Optional.empty();
        }
        String id = ContentIds.finish(mac);
        if (!exists(id)) {
            ObjectKey key = FilesLayout.blob(id);
            try (InputStream in = new Verifying(Files.newInputStream(f.path(), LinkOption.NOFOLLOW_LINKS), ids.newMac(), id, n)) {
                var footer = repository.put(key, in, false);
                uploaded.incrementAndGet();
                bytesUp.addAndGet(footer.plaintextLength());
                stored.addAndGet(Futures.await(repository.store().head(key)).map(i -> i.size()).orElse(0L));
            } catch (Changed e) {
                return Optional.empty(); // the upload was aborted: nothing visible
            } catch (HoldfastException e) {
                if (e.code() != ErrorCode.OBJECT_EXISTS) {
                    throw e;
                }
            }
            present.add(id);
        }
        return Optional.of(entry(f, Optional.of(id), Optional.empty()));
    }

    private boolean exists(String id) {
        if (present.contains(id)) {
            return true;
        }
        boolean there = Futures.await(repository.store().head(FilesLayout.blob(id))).isPresent();
        if (there) {
            present.add(id);
        }
        return there;
    }

    /** Seals {@code plaintext} into a new object; its sealed size, or 0 when the object existed (same name: same content). */
    private long sealAndCreate(ObjectKey key, byte[] plaintext) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(plaintext.length + 256);
        try (SealingOutputStream out = new SealingOutputStream(buf, repository.newCodec(key, false))) {
            out.write(plaintext);
        }
        byte[] sealed = buf.toByteArray();
        try {
            Futures.await(repository.store().create(key, ByteBuffer.wrap(sealed), PutOptions.DEFAULT));
            return sealed.length;
        } catch (HoldfastException e) {
            if (e.code() == ErrorCode.OBJECT_EXISTS) {
                return 0;
            }
            throw e;
        }
    }

    private FilesManifest writeManifest(FilesManifest m, AtomicLong stored) {
        for (int i = 0; ; i++) {
            try {
                stored.addAndGet(sealAndCreateOrFail(FilesLayout.snapshot(source.name(), m.id()), m.toBytes()));
                return m;
            } catch (HoldfastException e) {
                if (e.code() != ErrorCode.OBJECT_EXISTS || i >= 100) {
                    throw e;
                }
                Instant next = m.startedAt().plus(Duration.ofMillis(1));
                m = new FilesManifest(m.format(), FilesLayout.snapshotId(next), m.source(), m.host(), next, m.finishedAt(), m.paths(), m.exclude(),
                        m.entries(), m.excluded(), m.bytes());
            } catch (IOException e) {
                throw new HoldfastException(ErrorCode.IO_ERROR, "cannot seal snapshot manifest: " + e.getMessage(), e);
            }
        }
    }

    private long sealAndCreateOrFail(ObjectKey key, byte[] plaintext) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(plaintext.length + 256);
        try (SealingOutputStream out = new SealingOutputStream(buf, repository.newCodec(key, false))) {
            out.write(plaintext);
        }
        byte[] sealed = buf.toByteArray();
        Futures.await(repository.store().create(key, ByteBuffer.wrap(sealed), PutOptions.DEFAULT));
        return sealed.length;
    }

    /** The file changed between the hashing pass and the upload. */
    static final class Changed extends IOException {
        static final String TEXT = "file changed while it was uploaded";

        Changed() {
            super(TEXT);
        }
    }

    /** Passes bytes through; at their end, fails unless they are exactly {@code length} bytes with content id {@code id}. */
    private static final class Verifying extends FilterInputStream {
        private final Mac mac;
        private final String id;
        private final long length;
        private long n;
        private boolean checked;

        Verifying(InputStream in, Mac mac, String id, long length) {
            super(in);
            this.mac = mac;
            this.id = id;
            this.length = length;
        }

        @Override
        public int read() throws IOException {
            byte[] b = new byte[1];
            int r = read(b, 0, 1);
            return r < 0 ? -1 : b[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int r = in.read(b, off, (int) Math.min(len, Math.max(1, length + 1 - n)));
            if (r > 0) {
                mac.update(b, off, r);
                n += r;
                if (n > length) {
                    throw new Changed();
                }
                return r;
            }
            if (r < 0 && !checked) {
                if (n != length || !ContentIds.finish(mac).equals(id)) {
                    throw new Changed();
                }
                checked = true;
            }
            return r;
        }
    }
}
