package dev.holdfast.repository.store.fs;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.repository.store.ListPage;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.PutOptions;
import dev.holdfast.repository.store.StoreCapabilities;
import dev.holdfast.repository.store.StoreException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.FileVisitResult;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A repository in a local directory ({@code file:///var/lib/holdfast/repo}), the embedded default.
 *
 * <p>Durability and atomicity: every object is written to a temporary file under
 * {@code <root>/.holdfast-tmp/}, fsynced, then published with a hard link to its final name (which
 * fails if the name exists: create-if-absent is atomic), and the directory is fsynced. A process
 * killed at any point leaves at most a temporary file, which is never listed (dot-names are not
 * valid keys) and is swept when older than {@link #TEMP_MAX_AGE}. Multipart uploads keep their
 * parts in a temporary directory until complete concatenates them the same way.
 *
 * <p>Blocking file I/O runs on this store's own small thread pool, never on the caller's thread.
 */
public final class FsObjectStore implements ObjectStore {
    static final String TEMP_DIR = ".holdfast-tmp";
    static final Duration TEMP_MAX_AGE = Duration.ofDays(1);
    private static final HexFormat HEX = HexFormat.of();

    private final Path root;
    private final Path temp;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private final ExecutorService io;

    private FsObjectStore(Path root, Clock clock, int threads) {
        this.root = root;
        this.temp = root.resolve(TEMP_DIR);
        this.clock = clock;
        AtomicInteger n = new AtomicInteger();
        this.io = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "holdfast-fs-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Opens a store rooted at {@code root} and sweeps temporary files left by crashed writers that
     * are older than a day. Nothing is created until the first write, so a read-only command on a
     * mistyped path leaves no directory behind (it finds no objects).
     */
    public static FsObjectStore open(Path root, Clock clock) {
        Path abs = root.toAbsolutePath().normalize();
        FsObjectStore store = new FsObjectStore(abs, clock, Math.max(4, Runtime.getRuntime().availableProcessors() * 2));
        store.sweepTemp();
        return store;
    }

    public Path root() {
        return root;
    }

    @Override
    public String describe() {
        return root.toUri().toString();
    }

    @Override
    public StoreCapabilities capabilities() {
        return new StoreCapabilities(true, false, 1, 10_000);
    }

    @Override
    public CompletableFuture<Void> create(ObjectKey key, ByteBuffer data, PutOptions options) {
        return run(() -> {
            refuseLock(options);
            Path tmp = newTempFile();
            try {
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                    ByteBuffer src = data.duplicate();
                    while (src.hasRemaining()) {
                        ch.write(src);
                    }
                    ch.force(true);
                }
                publish(tmp, key);
            } finally {
                Files.deleteIfExists(tmp);
            }
            return null;
        });
    }

    @Override
    public CompletableFuture<MultipartUpload> startMultipart(ObjectKey key, PutOptions options) {
        return run(() -> {
            refuseLock(options);
            Path dir = temp.resolve("upload-" + randomName());
            Files.createDirectories(temp);
            Files.createDirectory(dir);
            return new FsUpload(key, dir);
        });
    }

    @Override
    public CompletableFuture<byte[]> get(ObjectKey key) {
        return run(() -> Files.readAllBytes(path(key)), key);
    }

    @Override
    public CompletableFuture<byte[]> getRange(ObjectKey key, long offset, long length) {
        return run(() -> {
            try (FileChannel ch = FileChannel.open(path(key), StandardOpenOption.READ)) {
                long size = ch.size();
                if (offset >= size) {
                    return new byte[0];
                }
                int n = (int) Math.min(length, size - offset);
                ByteBuffer buf = ByteBuffer.allocate(n);
                while (buf.hasRemaining() && ch.read(buf, offset + buf.position()) >= 0) {
                    // keep reading until full or end of file
                }
                return buf.position() == n ? buf.array() : java.util.Arrays.copyOf(buf.array(), buf.position());
            }
        }, key);
    }

    @Override
    public CompletableFuture<InputStream> openStream(ObjectKey key) {
        return run(() -> Files.newInputStream(path(key)), key);
    }

    @Override
    public CompletableFuture<Optional<ObjectInfo>> head(ObjectKey key) {
        return run(() -> {
            try {
                BasicFileAttributes a = Files.readAttributes(path(key), BasicFileAttributes.class);
                return Optional.of(info(key, a));
            } catch (NoSuchFileException e) {
                return Optional.empty();
            }
        });
    }

    @Override
    public CompletableFuture<ListPage> list(String prefix, Optional<String> continuation, int maxKeys) {
        return run(() -> {
            List<ObjectInfo> all = new ArrayList<>();
            Path base = listBase(prefix);
            if (base != null && Files.isDirectory(base)) {
                // walkFileTree rather than Files.walk: an entry deleted while we list (retention, a
                // writer cleaning up) must drop out of the listing, not fail it.
                Files.walkFileTree(base, new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult visitFile(Path p, BasicFileAttributes a) {
                        String rel = root.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/");
                        if (a.isRegularFile() && rel.startsWith(prefix) && ObjectKey.isValid(rel)
                                && (continuation.isEmpty() || rel.compareTo(continuation.get()) > 0)) {
                            all.add(info(ObjectKey.of(rel), a));
                        }
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFileFailed(Path p, IOException e) throws IOException {
                        if (e instanceof NoSuchFileException) {
                            return FileVisitResult.CONTINUE; // deleted while listing: not part of the listing
                        }
                        throw e;
                    }

                    @Override
                    public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                        if (e != null && !(e instanceof NoSuchFileException)) {
                            throw e;
                        }
                        return FileVisitResult.CONTINUE;
                    }
                });
            }
            all.sort(Comparator.comparing(ObjectInfo::key));
            if (all.size() <= maxKeys) {
                return new ListPage(all, Optional.empty());
            }
            List<ObjectInfo> page = all.subList(0, maxKeys);
            return new ListPage(page, Optional.of(page.get(page.size() - 1).key().value()));
        });
    }

    @Override
    public CompletableFuture<Void> delete(ObjectKey key) {
        return run(() -> {
            Path p = path(key);
            if (Files.deleteIfExists(p)) {
                fsyncDir(p.getParent());
            }
            return null;
        });
    }

    @Override
    public void close() {
        io.shutdown();
    }

    /** The directory to walk for {@code prefix}, or null when no valid key can have that prefix. */
    private Path listBase(String prefix) {
        int slash = prefix.lastIndexOf('/');
        if (slash < 0) {
            return root;
        }
        String dir = prefix.substring(0, slash);
        return ObjectKey.isValid(dir) ? root.resolve(dir) : null;
    }

    private Path path(ObjectKey key) {
        // ObjectKey's grammar makes traversal impossible; this is the belt to its braces.
        Path p = root.resolve(key.value()).normalize();
        if (!p.startsWith(root) || p.startsWith(temp)) {
            throw new IllegalArgumentException("key escapes the repository: " + key);
        }
        return p;
    }

    private ObjectInfo info(ObjectKey key, BasicFileAttributes a) {
        return new ObjectInfo(key, a.size(), a.lastModifiedTime().toInstant(), "");
    }

    private void publish(Path tmp, ObjectKey key) throws IOException {
        Path target = path(key);
        Path parent = target.getParent();
        for (int attempt = 0; ; attempt++) {
            Files.createDirectories(parent);
            try {
                Files.createLink(target, tmp);
                break;
            } catch (FileAlreadyExistsException e) {
                throw StoreException.exists(key);
            } catch (NoSuchFileException e) {
                if (attempt > 3) {
                    throw e;
                }
                // a concurrent delete pruned the directory: create it again
            } catch (UnsupportedOperationException e) {
                // No hard links here: fall back to check-then-rename (documented race, see capabilities).
                if (Files.exists(target)) {
                    throw StoreException.exists(key);
                }
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                break;
            }
        }
        fsyncDir(parent);
    }

    private void refuseLock(PutOptions options) {
        if (options.requiresObjectLock()) {
            throw new StoreException(ErrorCode.STORE_ERROR,
                    "the filesystem store cannot apply Object Lock or legal hold; use an S3 bucket with Object Lock enabled",
                    false, null);
        }
    }

    private Path newTempFile() throws IOException {
        Files.createDirectories(temp);
        Path p = temp.resolve(randomName() + ".tmp");
        Files.createFile(p);
        return p;
    }

    private String randomName() {
        byte[] b = new byte[12];
        random.nextBytes(b);
        return HEX.formatHex(b);
    }

    private static void fsyncDir(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    private void sweepTemp() {
        if (!Files.isDirectory(temp)) {
            return;
        }
        long cutoff = clock.millis() - TEMP_MAX_AGE.toMillis();
        try (Stream<Path> entries = Files.list(temp)) {
            for (Path p : (Iterable<Path>) entries::iterator) {
                if (Files.getLastModifiedTime(p).toMillis() < cutoff) {
                    deleteTree(p);
                }
            }
        } catch (IOException e) {
            // Sweeping is housekeeping; a failure here must not stop the store from opening.
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path q : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(q);
            }
        }
    }

    @FunctionalInterface
    private interface IoCall<T> {
        T call() throws IOException;
    }

    private <T> CompletableFuture<T> run(IoCall<T> call) {
        return run(call, null);
    }

    private <T> CompletableFuture<T> run(IoCall<T> call, ObjectKey key) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return call.call();
            } catch (NoSuchFileException e) {
                throw key != null ? StoreException.notFound(key) : translate(e, "access " + e.getFile());
            } catch (IOException e) {
                throw translate(e, key == null ? "filesystem operation" : "access object '" + key + "'");
            }
        }, io);
    }

    private static StoreException translate(IOException e, String what) {
        if (e instanceof AccessDeniedException) {
            return new StoreException(ErrorCode.STORE_ACCESS_DENIED, "permission denied: unable to " + what, false, e);
        }
        return new StoreException(ErrorCode.STORE_ERROR, "unable to " + what + ": " + e, false, e);
    }

    private final class FsUpload implements MultipartUpload {
        private final ObjectKey key;
        private final Path dir;

        FsUpload(ObjectKey key, Path dir) {
            this.key = key;
            this.dir = dir;
        }

        @Override
        public ObjectKey key() {
            return key;
        }

        @Override
        public CompletableFuture<Void> uploadPart(int partNumber, ByteBuffer data) {
            if (partNumber < 1 || partNumber > 10_000) {
                return CompletableFuture.failedFuture(new IllegalArgumentException("part number " + partNumber + " out of 1..10000"));
            }
            return run(() -> {
                if (!Files.isDirectory(dir)) {
                    throw new StoreException(ErrorCode.STORE_ERROR, "upload of '" + key + "' was aborted", false, null);
                }
                Path tmp = dir.resolve(randomName() + ".tmp");
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                    ByteBuffer src = data.duplicate();
                    while (src.hasRemaining()) {
                        ch.write(src);
                    }
                    ch.force(true);
                }
                Files.move(tmp, dir.resolve(partName(partNumber)), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                return null;
            });
        }

        @Override
        public CompletableFuture<Void> complete() {
            return run(() -> {
                List<Path> parts;
                try (Stream<Path> s = Files.list(dir)) {
                    parts = s.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList();
                }
                if (parts.isEmpty()) {
                    throw new StoreException(ErrorCode.STORE_ERROR, "upload of '" + key + "' has no parts", false, null);
                }
                for (int i = 0; i < parts.size(); i++) {
                    if (!parts.get(i).getFileName().toString().equals(partName(i + 1))) {
                        throw new StoreException(ErrorCode.STORE_ERROR, "upload of '" + key + "' is missing part " + (i + 1), false, null);
                    }
                }
                Path whole = newTempFile();
                try {
                    try (FileChannel out = FileChannel.open(whole, StandardOpenOption.WRITE)) {
                        for (Path part : parts) {
                            try (FileChannel in = FileChannel.open(part, StandardOpenOption.READ)) {
                                long pos = 0;
                                long size = in.size();
                                while (pos < size) {
                                    pos += in.transferTo(pos, size - pos, out);
                                }
                            }
                        }
                        out.force(true);
                    }
                    publish(whole, key);
                } finally {
                    Files.deleteIfExists(whole);
                }
                deleteTree(dir);
                return null;
            });
        }

        @Override
        public CompletableFuture<Void> abort() {
            return run(() -> {
                deleteTree(dir);
                return null;
            });
        }

        private static String partName(int n) {
            return String.format("part-%05d", n);
        }
    }
}
