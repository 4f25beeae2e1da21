package dev.holdfast.agent.files;

import dev.holdfast.agent.daemon.TestAgent;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryLocation;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.ForwardingObjectStore;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.PutOptions;
import dev.holdfast.repository.store.fs.FsObjectStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/** A file:// repository behind a store that counts writes, and tree comparison helpers. */
final class FilesFixture implements AutoCloseable {
    final RepositoryLocation location;
    final CountingStore store;
    final Repository repository;

    FilesFixture(Path dir) {
        this(TestAgent.repository(dir));
    }

    /** Opens an existing repository. */
    FilesFixture(RepositoryLocation existing) {
        location = existing;
        store = new CountingStore(FsObjectStore.open(Path.of(location.url()), Clock.systemUTC()));
        repository = Repository.open(store, KeyFile.load(location.keyFile()), Clock.systemUTC(), new SecureRandom());
    }

    @Override
    public void close() {
        repository.close();
    }

    /** Counts objects created (single put or multipart) and the bytes sent. */
    static final class CountingStore extends ForwardingObjectStore {
        final AtomicInteger objects = new AtomicInteger();
        final AtomicLong bytes = new AtomicLong();

        CountingStore(ObjectStore store) {
            super(store);
        }

        @Override
        public CompletableFuture<Void> create(ObjectKey key, ByteBuffer data, PutOptions options) {
            objects.incrementAndGet();
            bytes.addAndGet(data.remaining());
            return super.create(key, data, options);
        }

        @Override
        public CompletableFuture<MultipartUpload> startMultipart(ObjectKey key, PutOptions options) {
            objects.incrementAndGet();
            return super.startMultipart(key, options);
        }

        @Override
        protected CompletableFuture<Void> uploadPart(MultipartUpload upload, int partNumber, ByteBuffer data) {
            bytes.addAndGet(data.remaining());
            return super.uploadPart(upload, partNumber, data);
        }
    }

    /**
     * A tree below {@code root} as comparable lines: relative path -> type, mode, mtime (millis), and
     * the SHA-256 of a file's content or a link's target. Links are never followed.
     */
    static Map<String, String> describe(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String rel = root.relativize(p).toString();
                Map<String, Object> a = Files.readAttributes(p, "unix:mode,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
                int mode = (Integer) a.get("mode") & 07777;
                long mtime = ((FileTime) a.get("lastModifiedTime")).toMillis();
                if (Files.isSymbolicLink(p)) {
                    out.put(rel, "symlink -> " + Files.readSymbolicLink(p));
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    out.put(rel, "dir " + Integer.toOctalString(mode) + " " + (rel.isEmpty() ? "" : mtime));
                } else {
                    out.put(rel, "file " + Integer.toOctalString(mode) + " " + mtime + " " + sha256(Files.readAllBytes(p)));
                }
            }
        }
        return out;
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static Path write(Path p, String content) throws IOException {
        Files.createDirectories(p.getParent());
        return Files.writeString(p, content);
    }
}
