package dev.holdfast.agent.wal;

import dev.holdfast.agent.pipeline.UploadPipeline;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.seal.Footer;
import dev.holdfast.repository.seal.OpeningInputStream;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.wal.WalClusterInfo;
import dev.holdfast.repository.wal.WalFileName;
import dev.holdfast.repository.wal.WalIndex;
import dev.holdfast.repository.wal.WalLayout;
import dev.holdfast.repository.wal.WalObject;
import dev.holdfast.repository.wal.WalSegmentName;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asynchronous services over one cluster's WAL area, {@code wal/<source>/<system-id>/}
 * (docs/format.md section 11), shared by archive mode and stream mode.
 *
 * <h2>Contracts</h2>
 * <ul>
 *   <li><b>Never overwrite.</b> Every write is create-if-absent. A WAL file that exists already is
 *       compared through the SHA-256 in its stored footer: equal bytes answer
 *       {@link PutOutcome#ALREADY_STORED}, different bytes fail with {@code OBJECT_EXISTS} and the
 *       stored object is left as it was (PostgreSQL's {@code archive_command} contract).</li>
 *   <li><b>Sealed with SHA-256.</b> Every object is sealed with the footer's SHA-256 flag set; the
 *       pipeline passed in must have {@code sha256} on.</li>
 *   <li><b>Reads fail closed.</b> {@link #fetch} returns bytes only after every segment of every
 *       object read authenticated and its checksums matched; otherwise it fails with
 *       {@code INTEGRITY_FAILURE}.</li>
 *   <li><b>Threads.</b> Every blocking repository call (put, open, inspect, awaiting a store
 *       future) runs on a Vert.x worker thread ({@code executeBlocking}, unordered), never on an
 *       event loop. Futures complete on the caller's context. Thread-safe.</li>
 * </ul>
 */
public final class WalRepository {
    private static final Logger LOG = LoggerFactory.getLogger(WalRepository.class);

    private final Vertx vertx;
    private final Repository repository;
    private final UploadPipeline pipeline;
    private final WalLayout layout;
    private final Clock clock;
    private final ObjectStore store;
    private final AtomicBoolean deleteDeniedLogged = new AtomicBoolean();
    /** The descriptor once read or written; it never changes afterwards. */
    private volatile WalClusterInfo descriptor;

    /**
     * @param pipeline used for uploads from local files; must seal with SHA-256
     * @throws IllegalArgumentException when the pipeline does not record SHA-256
     */
    public WalRepository(Vertx vertx, Repository repository, UploadPipeline pipeline, WalLayout layout, Clock clock) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.repository = Objects.requireNonNull(repository, "repository");
        this.pipeline = Objects.requireNonNull(pipeline, "pipeline");
        this.layout = Objects.requireNonNull(layout, "layout");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.store = repository.store();
        if (!pipeline.options().isSha256()) {
            throw new IllegalArgumentException("WAL objects are sealed with SHA-256 (docs/format.md section 11): the pipeline must have sha256 on");
        }
    }

    public WalLayout layout() {
        return layout;
    }

    /**
     * Creates {@code cluster.json} if it is absent; if it exists, reads it and checks that it
     * describes the same cluster ({@link WalClusterInfo#compatibleWith}). Completes with the stored
     * descriptor; fails with {@code SOURCE_MISMATCH} naming both when they differ.
     */
    public Future<WalClusterInfo> ensureDescriptor(WalClusterInfo info) {
        Objects.requireNonNull(info, "info");
        if (!info.systemId().equals(layout.systemId())) {
            return Future.failedFuture(new HoldfastException(ErrorCode.SOURCE_MISMATCH, "cluster with system identifier "
                    + info.systemId() + " cannot be written under " + layout));
        }
        return blocking(() -> {
            Optional<WalClusterInfo> stored = readDescriptor();
            WalClusterInfo d;
            if (stored.isPresent()) {
                d = stored.get();
            } else {
                try {
                    repository.put(layout.descriptor(), new ByteArrayInputStream(info.toJson()), true);
                    d = info;
                } catch (HoldfastException e) {
                    if (e.code() != ErrorCode.OBJECT_EXISTS) {
                        throw e;
                    }
                    d = readDescriptor().orElseThrow(() -> e);
                }
            }
            if (!d.compatibleWith(info)) {
                throw new HoldfastException(ErrorCode.SOURCE_MISMATCH, layout.descriptor() + " describes system identifier "
                        + d.systemId() + ", WAL segment size " + d.walSegmentSize() + ", server version " + d.serverVersionNum()
                        + "; this server has system identifier " + info.systemId() + ", WAL segment size " + info.walSegmentSize()
                        + ", server version " + info.serverVersionNum() + "; use a new source name for a new cluster");
            }
            descriptor = d;
            return d;
        });
    }

    /**
     * Every system identifier with objects under {@code wal/<source>/} (this one included when it
     * has any). Lists the source's whole WAL area: for start-up checks, not for every call.
     */
    public Future<java.util.SortedSet<String>> systemIdsOfSource() {
        return blocking(() -> systemIds(store, layout.source()));
    }

    /**
     * Every system identifier with objects under {@code wal/<source>/} in {@code store}. Blocking;
     * lists the source's whole WAL area.
     */
    public static java.util.SortedSet<String> systemIds(ObjectStore store, String source) {
        String prefix = WalLayout.sourcePrefix(source);
        java.util.SortedSet<String> ids = new java.util.TreeSet<>();
        for (ObjectInfo o : Futures.await(store.listAll(prefix))) {
            String rest = o.key().value().substring(prefix.length());
            int slash = rest.indexOf('/');
            if (slash > 0) {
                ids.add(rest.substring(0, slash));
            }
        }
        return ids;
    }

    /** The stored descriptor (read once, then cached), or empty when none was written yet. */
    public Future<Optional<WalClusterInfo>> descriptor() {
        WalClusterInfo d = descriptor;
        if (d != null) {
            return Future.succeededFuture(Optional.of(d));
        }
        return blocking(this::readDescriptor);
    }

    private Optional<WalClusterInfo> readDescriptor() {
        WalClusterInfo d = descriptor;
        if (d != null) {
            return Optional.of(d);
        }
        Optional<byte[]> bytes = readIfExists(layout.descriptor());
        if (bytes.isEmpty()) {
            return Optional.empty();
        }
        d = WalClusterInfo.fromJson(bytes.get(), "'" + layout.descriptor() + "'");
        descriptor = d;
        return Optional.of(d);
    }

    /**
     * Lists the whole WAL area (every page) and classifies it. Fails with {@code OBJECT_NOT_FOUND}
     * when there is no descriptor yet (then there is no WAL either: the descriptor comes first).
     */
    public Future<WalIndex> index() {
        return blocking(() -> {
            WalClusterInfo d = readDescriptor().orElseThrow(() -> new HoldfastException(ErrorCode.OBJECT_NOT_FOUND,
                    "no WAL under " + layout + " (" + WalLayout.DESCRIPTOR + " is missing)"));
            List<WalObject> objects = new ArrayList<>();
            for (ObjectInfo o : Futures.await(store.listAll(layout.listPrefix()))) {
                WalObject w = layout.classify(o.key(), o.size(), o.lastModified());
                if (w != null) {
                    objects.add(w);
                }
            }
            return new WalIndex(d.walSegmentSize(), objects);
        });
    }

    /** Stores a WAL file PostgreSQL archived, create-if-absent with SHA-256 (see the class's contracts). */
    public Future<PutOutcome> putFile(WalFileName name, Buffer bytes) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(bytes, "bytes");
        return blocking(() -> putBlocking(layout.file(name), name.name(), bytes.getBytes()).outcome());
    }

    /** As {@link #putFile(WalFileName, Buffer)}, from a local file, uploaded through the pipeline. */
    public Future<PutOutcome> putFile(WalFileName name, Path file) {
        return storeFile(name, file).map(Stored::outcome);
    }

    /** What a put left in the repository: the outcome and the stored plaintext's SHA-256. */
    record Stored(PutOutcome outcome, byte[] sha256) {
    }

    /** {@link #putFile(WalFileName, Path)}, also giving the stored SHA-256 (archive mode's look-ahead keeps it). */
    Future<Stored> storeFile(WalFileName name, Path file) {
        ObjectKey key = layout.file(name);
        return blocking(() -> Futures.await(store.head(key))).compose(head -> {
            if (head.isPresent()) {
                return blocking(() -> compare(key, name.name(), sha256(file)));
            }
            return pipeline.uploadFile(key, file.toString()).result()
                    .map(r -> new Stored(PutOutcome.STORED, HexFormat.of().parseHex(r.sha256().orElseThrow())))
                    .recover(t -> {
                        HoldfastException h = HoldfastException.find(t);
                        if (h != null && h.code() == ErrorCode.OBJECT_EXISTS) {
                            return blocking(() -> compare(key, name.name(), sha256(file)));
                        }
                        return Future.failedFuture(t);
                    });
        });
    }

    /** Stream mode: bytes {@code [start, start + bytes.length())} of {@code segment}. A part that exists already counts as done. */
    public Future<Void> putPart(WalSegmentName segment, long start, Buffer bytes) {
        Objects.requireNonNull(segment, "segment");
        if (bytes.length() == 0) {
            return Future.failedFuture(new IllegalArgumentException("empty part of " + segment));
        }
        ObjectKey key = layout.part(segment, start, start + bytes.length());
        return blocking(() -> {
            if (Futures.await(store.head(key)).isPresent()) {
                return null;
            }
            try {
                repository.put(key, new ByteArrayInputStream(bytes.getBytes()), true);
            } catch (HoldfastException e) {
                if (e.code() != ErrorCode.OBJECT_EXISTS) {
                    throw e;
                }
            } catch (IOException e) {
                throw translate(e, key);
            }
            return null;
        });
    }

    /**
     * Stream mode: a complete segment, with {@link #putFile(WalFileName, Buffer)}'s contract. Its
     * length must be the descriptor's segment size when the descriptor is known.
     */
    public Future<PutOutcome> putSegment(WalSegmentName segment, Buffer bytes) {
        WalClusterInfo d = descriptor;
        if (d != null && bytes.length() != d.walSegmentSize()) {
            return Future.failedFuture(new HoldfastException(ErrorCode.INTERNAL, "segment " + segment + " is " + bytes.length()
                    + " bytes, not the cluster's WAL segment size " + d.walSegmentSize()));
        }
        return putFile(WalFileName.parse(segment.toString()), bytes);
    }

    /**
     * Deletes the parts of {@code segment} once its complete object exists; completes with the
     * number deleted (0 when the complete object is missing). When the store refuses deletes
     * ({@code STORE_ACCESS_DENIED}: agents may run with put/get/list-only credentials) it logs
     * once and completes with 0.
     */
    public Future<Integer> deleteSupersededParts(WalSegmentName segment) {
        return blocking(() -> {
            if (Futures.await(store.head(layout.segment(segment))).isEmpty()) {
                return 0;
            }
            int deleted = 0;
            try {
                for (ObjectInfo o : Futures.await(store.listAll(layout.partPrefix(segment)))) {
                    WalObject w = layout.classify(o.key(), o.size(), o.lastModified());
                    if (w != null && w.type() == WalObject.Type.PART && segment.equals(w.segment())) {
                        Futures.await(store.delete(o.key()));
                        deleted++;
                    }
                }
            } catch (HoldfastException e) {
                if (e.code() != ErrorCode.STORE_ACCESS_DENIED) {
                    throw e;
                }
                if (deleteDeniedLogged.compareAndSet(false, true)) {
                    LOG.warn("{}: the store refuses deletes ({}); superseded parts stay until retention removes them", layout,
                            e.getMessage());
                }
                return 0;
            }
            return deleted;
        });
    }

    /**
     * What {@code restore_command} gets for {@code pgFileName} (docs/format.md section 11, "Fetch"):
     * for a segment, its complete object, else the chain of parts from offset 0 padded with zeros to
     * the segment size, else empty; other files as stored, or empty. A name PostgreSQL never
     * archives fails with {@code USAGE}; stored data that does not authenticate fails with
     * {@code INTEGRITY_FAILURE}.
     */
    public Future<Optional<Buffer>> fetch(String pgFileName) {
        return fetch(pgFileName, true);
    }

    /**
     * As {@link #fetch}, but a segment only when it is complete (its object, or parts covering all
     * of it), never padded: what may be kept for later (prefetch), since a segment still being
     * filled will have more bytes by then.
     */
    public Future<Optional<Buffer>> fetchComplete(String pgFileName) {
        return fetch(pgFileName, false);
    }

    private Future<Optional<Buffer>> fetch(String pgFileName, boolean padded) {
        WalFileName name;
        try {
            name = WalFileName.parse(pgFileName);
        } catch (HoldfastException e) {
            return Future.failedFuture(e);
        }
        return blocking(() -> fetchBlocking(name, padded).map(Buffer::buffer));
    }

    private Optional<byte[]> fetchBlocking(WalFileName name, boolean padded) {
        if (name.kind() != WalFileName.Kind.SEGMENT) {
            return readIfExists(layout.file(name));
        }
        WalSegmentName segment = name.segment();
        Optional<byte[]> whole = readIfExists(layout.segment(segment));
        if (whole.isPresent()) {
            return whole;
        }
        Optional<WalClusterInfo> d = readDescriptor();
        if (d.isEmpty()) {
            return Optional.empty();
        }
        try {
            return fromParts(segment, d.get().walSegmentSize(), padded);
        } catch (HoldfastException e) {
            // Stream mode deletes parts once the complete object is stored: look for it once more.
            if (e.code() != ErrorCode.OBJECT_NOT_FOUND) {
                throw e;
            }
            return readIfExists(layout.segment(segment));
        }
    }

    private Optional<byte[]> fromParts(WalSegmentName segment, long segmentSize, boolean padded) {
        List<WalObject> parts = new ArrayList<>();
        for (ObjectInfo o : Futures.await(store.listAll(layout.partPrefix(segment)))) {
            WalObject w = layout.classify(o.key(), o.size(), o.lastModified());
            if (w != null && w.type() == WalObject.Type.PART && w.end() <= segmentSize) {
                parts.add(w);
            }
        }
        List<WalObject> chain = new WalIndex(segmentSize, parts).chain(segment);
        if (chain.isEmpty()) {
            return readIfExists(layout.segment(segment));
        }
        if (!padded && chain.get(chain.size() - 1).end() < segmentSize) {
            return readIfExists(layout.segment(segment));
        }
        byte[] out = new byte[(int) segmentSize];
        for (WalObject p : chain) {
            byte[] bytes = read(p.key());
            if (bytes.length != p.end() - p.start()) {
                throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "part '" + p.key() + "' holds " + bytes.length
                        + " bytes, not the " + (p.end() - p.start()) + " its name says");
            }
            System.arraycopy(bytes, 0, out, (int) p.start(), bytes.length);
        }
        return Optional.of(out);
    }

    private Stored putBlocking(ObjectKey key, String what, byte[] data) {
        byte[] sha = sha256(data);
        if (Futures.await(store.head(key)).isPresent()) {
            return compare(key, what, sha);
        }
        try {
            repository.put(key, new ByteArrayInputStream(data), true);
            return new Stored(PutOutcome.STORED, sha);
        } catch (HoldfastException e) {
            if (e.code() == ErrorCode.OBJECT_EXISTS) {
                return compare(key, what, sha);
            }
            throw e;
        } catch (IOException e) {
            throw translate(e, key);
        }
    }

    /** ALREADY_STORED when the stored plaintext's SHA-256 is {@code sha}, else OBJECT_EXISTS; never writes. */
    private Stored compare(ObjectKey key, String what, byte[] sha) {
        Footer footer = repository.inspect(key).footer();
        byte[] stored = footer.sha256().isPresent() ? footer.sha256().get() : sha256(read(key));
        if (MessageDigest.isEqual(stored, sha)) {
            return new Stored(PutOutcome.ALREADY_STORED, stored);
        }
        throw new HoldfastException(ErrorCode.OBJECT_EXISTS, "WAL file " + what + " differs from the stored copy '" + key
                + "' (SHA-256 " + HexFormat.of().formatHex(sha) + ", stored " + HexFormat.of().formatHex(stored)
                + "); the stored object was not changed");
    }

    private Optional<byte[]> readIfExists(ObjectKey key) {
        OpeningInputStream in;
        try {
            in = repository.open(key);
        } catch (HoldfastException e) {
            if (e.code() == ErrorCode.OBJECT_NOT_FOUND) {
                return Optional.empty();
            }
            throw e;
        } catch (IOException e) {
            throw translate(e, key);
        }
        return Optional.of(readAll(in, key));
    }

    private byte[] read(ObjectKey key) {
        try {
            return readAll(repository.open(key), key);
        } catch (IOException e) {
            throw translate(e, key);
        }
    }

    private static byte[] readAll(OpeningInputStream in, ObjectKey key) {
        try (InputStream s = in) {
            // To end of stream: only then have the footer, the CRC32C and the SHA-256 been checked.
            return s.readAllBytes();
        } catch (IOException e) {
            throw translate(e, key);
        }
    }

    private static HoldfastException translate(IOException e, ObjectKey key) {
        HoldfastException h = HoldfastException.find(e);
        return h != null ? h : new HoldfastException(ErrorCode.STORE_UNAVAILABLE, "reading '" + key + "' failed: " + e.getMessage(), e);
    }

    static byte[] sha256(byte[] data) {
        return digest().digest(data);
    }

    static byte[] sha256(Buffer data) {
        return sha256(data.getBytes());
    }

    static byte[] sha256(Path file) {
        MessageDigest md = digest();
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot read " + file + ": " + e.getMessage(), e);
        }
        return md.digest();
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private <T> Future<T> blocking(Callable<T> work) {
        return vertx.executeBlocking(work, false);
    }

    @Override
    public String toString() {
        return "WalRepository[" + layout + " in " + store.describe() + "]";
    }
}
