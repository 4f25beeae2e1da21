package dev.holdfast.agent.wal;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.wal.WalClusterInfo;
import dev.holdfast.repository.wal.WalFileName;
import dev.holdfast.repository.wal.WalLayout;
import dev.holdfast.repository.wal.WalPageHeader;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Archive mode: what {@code archive_command} (through the agent's control socket, or the CLI's
 * {@code wal-push}) hands over, made durable in the repository, with look-ahead so that
 * PostgreSQL's call usually finds its file already stored.
 *
 * <h2>Push</h2>
 * {@link #push} completes only once the file is durable in the repository, or was already there
 * with the same bytes; a different file under the same name fails with {@code OBJECT_EXISTS} and
 * the stored object is never replaced (docs/format.md section 11).
 *
 * <h2>Identity</h2>
 * The cluster's system identifier and segment size come from the WAL itself: every segment starts
 * with PostgreSQL's long page header ({@code WalPageHeader}), which is checked against the file's
 * name and size. The first file fixes the identity and the repository area
 * ({@code wal/<source>/<system-id>/}, through {@code repositoryFor}), whose descriptor is created or
 * checked once. A source name ships one cluster: when the source's area already holds another
 * system identifier (found by one listing of {@code wal/<source>/} when the identity is fixed), or
 * a later segment belongs to another cluster, the file is refused with {@code SOURCE_MISMATCH} and
 * never stored. A first file without a header (a {@code .history} file after a promotion) takes the
 * identity from {@code <data_dir>/global/pg_control} and the size of a segment in {@code pg_wal}.
 *
 * <h2>Look-ahead</h2>
 * Every scan interval, and right after each push, the archiver lists
 * {@code <data_dir>/pg_wal/archive_status/*.ready} (history files first, then oldest first, as
 * PostgreSQL archives them) and uploads up to {@code parallel} of those files in the background.
 * Results are remembered by name, size and modification time; a push of a file already in flight
 * or durable waits for that upload and then compares the pushed bytes' SHA-256 with the stored
 * one before answering. A failed upload (the store is down) is tried again by a later scan, at
 * most every {@link #RETRY_AFTER}, so a backlog drains in parallel once the store is back. The data directory is only read: nothing is created, renamed or deleted
 * there (PostgreSQL owns {@code .ready}/{@code .done}). When it cannot be read, the archiver logs
 * once and works without look-ahead.
 *
 * <h2>Metrics</h2> (Micrometer names; Prometheus names in brackets), tagged {@code source}:
 * {@code holdfast.wal.segments.shipped} [holdfast_wal_segments_shipped_total],
 * {@code holdfast.wal.bytes.shipped} [holdfast_wal_bytes_shipped_total],
 * {@code holdfast.wal.push.conflicts} [holdfast_wal_push_conflicts_total],
 * {@code holdfast.wal.upload} timer [holdfast_wal_upload_seconds],
 * {@code holdfast.wal.ready.backlog} gauge [holdfast_wal_ready_backlog]: {@code .ready} files at
 * the last scan, {@code holdfast.wal.last.durable.timestamp.seconds} gauge
 * [holdfast_wal_last_durable_timestamp_seconds].
 *
 * <p>Thread-safe; futures complete on the caller's context or the archiver's.
 */
public final class WalArchiver {
    public static final int DEFAULT_PARALLEL = 4;
    public static final Duration DEFAULT_SCAN_INTERVAL = Duration.ofSeconds(1);
    /** How long a failed look-ahead upload of an unchanged file waits before it is tried again. */
    static final Duration RETRY_AFTER = Duration.ofSeconds(5);
    private static final Logger LOG = LoggerFactory.getLogger(WalArchiver.class);

    private final Vertx vertx;
    private final String source;
    private final Function<WalLayout, WalRepository> repositoryFor;
    private final Path dataDir;
    private final int parallel;
    private final Duration scanInterval;
    private final Clock clock;

    private final Counter segmentsShipped;
    private final Counter bytesShipped;
    private final Counter conflicts;
    private final Timer uploadTimer;
    private final AtomicInteger backlog = new AtomicInteger();
    private final AtomicLong lastDurableMillis = new AtomicLong();

    /** Guarded by this. */
    private Future<Established> established;
    private final Map<String, Entry> entries = new HashMap<>();
    /** WAL files known complete on the server but not yet durable here, with when we first saw them. Guarded by this. */
    private final Map<String, Long> pendingSince = new HashMap<>();
    private int inFlight;
    private boolean scanning;
    private boolean rescan;
    private boolean unreadableLogged;
    private long timerId = -1;
    private boolean closed;

    /** The identity and repository area in force once the first file fixed them. */
    private record Established(WalClusterInfo info, WalRepository repository) {
    }

    /** A look-ahead upload: in flight until {@code result} completes. */
    private static final class Entry {
        final long size;
        final long mtime;
        final Future<WalRepository.Stored> result;
        /** When the upload failed (clock millis); 0 while in flight or once stored. Guarded by the archiver. */
        long failedAt;

        Entry(long size, long mtime, Future<WalRepository.Stored> result) {
            this.size = size;
            this.mtime = mtime;
            this.result = result;
        }
    }

    private record Candidate(String name, Path path, long size, long mtime) {
    }

    /**
     * @param source        the source's name (metrics tag, repository area)
     * @param repositoryFor the repository area for a cluster, called once the identity is known
     * @param dataDir       the cluster's data directory, or null (no look-ahead, and only segments
     *                      can fix the identity)
     * @param parallel      look-ahead uploads at once; 0 disables look-ahead
     * @param scanInterval  how often to look at {@code archive_status}
     */
    public WalArchiver(Vertx vertx, String source, Function<WalLayout, WalRepository> repositoryFor, Path dataDir, int parallel,
                       Duration scanInterval, Clock clock, MeterRegistry registry) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.source = WalLayout.checkSource(source);
        this.repositoryFor = Objects.requireNonNull(repositoryFor, "repositoryFor");
        this.dataDir = dataDir;
        if (parallel < 0) {
            throw new IllegalArgumentException("parallel must be >= 0, not " + parallel);
        }
        this.parallel = parallel;
        this.scanInterval = Objects.requireNonNull(scanInterval, "scanInterval");
        this.clock = Objects.requireNonNull(clock, "clock");
        Tags tags = Tags.of("source", source);
        segmentsShipped = Counter.builder("holdfast.wal.segments.shipped").description("WAL segments stored in the repository")
                .tags(tags).register(registry);
        bytesShipped = Counter.builder("holdfast.wal.bytes.shipped").description("WAL bytes (plaintext) stored in the repository")
                .tags(tags).register(registry);
        conflicts = Counter.builder("holdfast.wal.push.conflicts")
                .description("archive_command pushes refused because a different file of that name is stored").tags(tags).register(registry);
        uploadTimer = Timer.builder("holdfast.wal.upload").description("time to make one WAL file durable").tags(tags).register(registry);
        Gauge.builder("holdfast.wal.ready.backlog", backlog, AtomicInteger::get)
                .description(".ready files in archive_status at the last scan").tags(tags).register(registry);
        Gauge.builder("holdfast.wal.rpo.seconds", this, WalArchiver::rpoSeconds).strongReference(false)
                .description("Age of the oldest WAL file the server finished (.ready, or pushed) that is not yet durable; 0 when caught up")
                .tags(tags).register(registry);
        Gauge.builder("holdfast.wal.last.durable.timestamp.seconds", lastDurableMillis, v -> v.get() / 1000.0)
                .description("when the last WAL file became durable, seconds since the epoch (0: none yet)").tags(tags).register(registry);
    }

    /** With the default parallelism (4) and scan interval (1 s). */
    public WalArchiver(Vertx vertx, String source, Function<WalLayout, WalRepository> repositoryFor, Path dataDir, Clock clock,
                       MeterRegistry registry) {
        this(vertx, source, repositoryFor, dataDir, DEFAULT_PARALLEL, DEFAULT_SCAN_INTERVAL, clock, registry);
    }

    /** Starts the periodic look-ahead (no effect without a data directory or with parallel 0). */
    public synchronized void start() {
        if (dataDir != null && parallel > 0 && timerId < 0 && !closed) {
            timerId = vertx.setPeriodic(scanInterval.toMillis(), id -> scan());
            scan();
        }
    }

    /** Stops the look-ahead; uploads in flight finish on their own. */
    public synchronized void stop() {
        closed = true;
        if (timerId >= 0) {
            vertx.cancelTimer(timerId);
            timerId = -1;
        }
    }

    /**
     * Makes {@code fileName} (PostgreSQL's {@code %f}) with content {@code bytes} durable: completes
     * once it is stored, or was stored already with the same bytes. Fails with {@code USAGE} for a
     * name PostgreSQL does not archive, {@code SOURCE_MISMATCH} for a file of another cluster or
     * not the segment its name says, {@code OBJECT_EXISTS} when different bytes are stored under
     * that name.
     */
    public Future<PutOutcome> push(String fileName, Buffer bytes) {
        WalFileName name;
        try {
            name = WalFileName.parse(fileName);
        } catch (HoldfastException e) {
            return Future.failedFuture(e);
        }
        Objects.requireNonNull(bytes, "bytes");
        Entry ahead;
        synchronized (this) {
            ahead = entries.get(name.name());
            pendingSince.putIfAbsent(name.name(), clock.millis());
        }
        Future<PutOutcome> result;
        if (ahead != null && ahead.size == bytes.length()) {
            result = ahead.result.transform(ar -> {
                if (ar.failed()) {
                    return direct(name, bytes);
                }
                return blocking(() -> WalRepository.sha256(bytes)).compose(sha -> MessageDigest.isEqual(sha, ar.result().sha256())
                        ? Future.succeededFuture(ar.result().outcome()) : direct(name, bytes));
            });
        } else {
            result = direct(name, bytes);
        }
        return result.andThen(ar -> {
            if (ar.succeeded()) {
                lastDurableMillis.set(clock.millis());
                synchronized (this) {
                    pendingSince.remove(name.name());
                }
            }
            scanSoon();
        });
    }

    /** The push without look-ahead: identity, then create-if-absent. */
    private Future<PutOutcome> direct(WalFileName name, Buffer bytes) {
        Timer.Sample sample = Timer.start();
        return identify(name, () -> WalIdentity.ofSegment(name, ByteBuffer.wrap(bytes.getBytes(0, Math.min(bytes.length(),
                        WalPageHeader.LENGTH))), bytes.length(), dataDir))
                .compose(repo -> repo.putFile(name, bytes))
                .andThen(ar -> {
                    if (ar.succeeded()) {
                        if (ar.result() == PutOutcome.STORED) {
                            sample.stop(uploadTimer);
                            shipped(name, bytes.length());
                        }
                    } else {
                        HoldfastException h = HoldfastException.find(ar.cause());
                        if (h != null && h.code() == ErrorCode.OBJECT_EXISTS) {
                            conflicts.increment();
                            LOG.error("source {}: archive_command pushed {} but a different file of that name is stored: {}", source,
                                    name, h.getMessage());
                        }
                    }
                });
    }

    private void shipped(WalFileName name, long length) {
        if (name.kind() == WalFileName.Kind.SEGMENT) {
            segmentsShipped.increment();
        }
        bytesShipped.increment(length);
        lastDurableMillis.set(clock.millis());
    }

    /**
     * The repository for the cluster {@code name} belongs to, fixing the identity on first use.
     * {@code fromSegment} reads the identity of a segment-shaped file (blocking).
     */
    private Future<WalRepository> identify(WalFileName name, Callable<WalClusterInfo> fromSegment) {
        boolean segmentShaped = name.kind() == WalFileName.Kind.SEGMENT || name.kind() == WalFileName.Kind.PARTIAL;
        if (!segmentShaped) {
            Future<Established> current;
            synchronized (this) {
                current = established != null && !(established.isComplete() && established.failed()) ? established : null;
            }
            if (current != null) {
                return current.map(Established::repository);
            }
            return blocking(() -> WalIdentity.ofDataDir(dataDir, name.name())).compose(this::establish).map(Established::repository);
        }
        return blocking(fromSegment).compose(info -> establish(info).compose(e -> e.info().compatibleWith(info)
                ? Future.succeededFuture(e.repository()) : Future.failedFuture(mismatch(name, e.info(), info))));
    }

    private synchronized Future<Established> establish(WalClusterInfo info) {
        if (established != null && !(established.isComplete() && established.failed())) {
            return established;
        }
        WalRepository repo;
        try {
            repo = repositoryFor.apply(new WalLayout(source, info.systemId()));
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
        // One source name ships one cluster: WAL of another system identifier under it means the
        // source now points at a different cluster (a new initdb, a wrong data_dir).
        Future<Established> f = repo.systemIdsOfSource().compose(ids -> {
            ids.remove(info.systemId());
            if (!ids.isEmpty()) {
                return Future.failedFuture(new HoldfastException(ErrorCode.SOURCE_MISMATCH, "source " + source
                        + " holds the WAL of system identifier " + String.join(", ", ids) + " but this server is system identifier "
                        + info.systemId() + "; nothing was stored. Use a new source name for a new cluster"));
            }
            return repo.ensureDescriptor(info);
        }).map(stored -> new Established(stored, repo));
        established = f;
        return f;
    }

    private HoldfastException mismatch(WalFileName name, WalClusterInfo expected, WalClusterInfo got) {
        return new HoldfastException(ErrorCode.SOURCE_MISMATCH, "source " + source + ": WAL file " + name + " belongs to system identifier "
                + got.systemId() + " (WAL segment size " + got.walSegmentSize() + "), but this source ships system identifier "
                + expected.systemId() + " (WAL segment size " + expected.walSegmentSize() + "); it was not stored."
                + " Use a new source name for a new cluster");
    }

    // ---- look-ahead -------------------------------------------------------------------------

    private synchronized void scanSoon() {
        if (timerId >= 0) {
            scan();
        }
    }

    /** One look at archive_status; then starts uploads for free slots. */
    void scan() {
        synchronized (this) {
            if (closed || dataDir == null || parallel == 0) {
                return;
            }
            if (scanning) {
                rescan = true;
                return;
            }
            scanning = true;
        }
        blocking(this::listReady).onComplete(ar -> {
            boolean again;
            synchronized (this) {
                scanning = false;
                again = rescan;
                rescan = false;
                if (ar.succeeded()) {
                    startUploads(ar.result());
                } else if (!unreadableLogged) {
                    unreadableLogged = true;
                    LOG.warn("source {}: cannot read {} ({}); archiving works without look-ahead", source,
                            dataDir.resolve("pg_wal").resolve("archive_status"), ar.cause().getMessage());
                }
            }
            if (again) {
                scan();
            }
        });
    }

    private List<Candidate> listReady() throws IOException {
        Path walDir = dataDir.resolve("pg_wal");
        List<Candidate> out = new ArrayList<>();
        try (DirectoryStream<Path> ready = Files.newDirectoryStream(walDir.resolve("archive_status"), "*.ready")) {
            for (Path r : ready) {
                String f = r.getFileName().toString();
                String name = f.substring(0, f.length() - ".ready".length());
                try {
                    WalFileName.parse(name);
                } catch (HoldfastException e) {
                    continue;
                }
                Path file = walDir.resolve(name);
                try {
                    BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
                    out.add(new Candidate(name, file, a.size(), a.lastModifiedTime().toMillis()));
                } catch (IOException e) {
                    // archived meanwhile, or not readable: PostgreSQL's push will bring it
                }
            }
        }
        backlog.set(out.size());
        out.sort(Comparator.comparing((Candidate c) -> !c.name().endsWith(".history")).thenComparing(Candidate::name));
        return out;
    }

    /** Guarded by this. */
    private void startUploads(List<Candidate> candidates) {
        Set<String> ready = new HashSet<>();
        candidates.forEach(c -> ready.add(c.name()));
        // A name no longer .ready was pushed and marked .done by PostgreSQL: forget it.
        entries.entrySet().removeIf(e -> !ready.contains(e.getKey()) && e.getValue().result.isComplete());
        long now = clock.millis();
        pendingSince.keySet().removeIf(n -> !ready.contains(n) && !entries.containsKey(n));
        for (String n : ready) {
            Entry e = entries.get(n);
            if (e == null || !e.result.succeeded()) {
                pendingSince.putIfAbsent(n, now);
            }
        }
        for (Candidate c : candidates) {
            if (inFlight >= parallel || closed) {
                break;
            }
            Entry e = entries.get(c.name());
            if (e != null && !e.result.isComplete()) {
                continue;
            }
            // The same file again: done when stored; retried once RETRY_AFTER has passed since it
            // failed (the store was down), so a backlog drains in parallel when the store is back
            // instead of one archive_command call at a time.
            if (e != null && e.size == c.size() && e.mtime == c.mtime() && (e.result.succeeded() || now - e.failedAt < RETRY_AFTER.toMillis())) {
                continue;
            }
            inFlight++;
            Promise<WalRepository.Stored> promise = Promise.promise();
            Entry entry = new Entry(c.size(), c.mtime(), promise.future());
            entries.put(c.name(), entry);
            upload(c).onComplete(ar -> {
                synchronized (this) {
                    inFlight--;
                    if (ar.failed()) {
                        entry.failedAt = Math.max(1, clock.millis());
                    }
                }
                if (ar.failed()) {
                    LOG.debug("source {}: look-ahead upload of {} failed: {}", source, c.name(), ar.cause().toString());
                }
                promise.handle(ar);
                if (ar.succeeded()) {
                    synchronized (this) {
                        pendingSince.remove(c.name());
                    }
                }
                scanSoon();
            });
        }
    }

    private Future<WalRepository.Stored> upload(Candidate c) {
        WalFileName name = WalFileName.parse(c.name());
        Timer.Sample sample = Timer.start();
        return identify(name, () -> {
            try (InputStream in = Files.newInputStream(c.path())) {
                return WalIdentity.ofSegment(name, ByteBuffer.wrap(in.readNBytes(WalPageHeader.LENGTH)), c.size(), dataDir);
            } catch (IOException e) {
                throw new HoldfastException(ErrorCode.IO_ERROR, "cannot read " + c.path() + ": " + e.getMessage(), e);
            }
        }).compose(repo -> repo.storeFile(name, c.path())).andThen(ar -> {
            if (ar.succeeded() && ar.result().outcome() == PutOutcome.STORED) {
                sample.stop(uploadTimer);
                shipped(name, c.size());
            }
        });
    }

    /** The live RPO of archive mode (read by the metrics scrape, any thread). */
    synchronized double rpoSeconds() {
        long oldest = Long.MAX_VALUE;
        for (long t : pendingSince.values()) {
            oldest = Math.min(oldest, t);
        }
        return oldest == Long.MAX_VALUE ? 0 : Math.max(0, clock.millis() - oldest) / 1000.0;
    }

    private <T> Future<T> blocking(Callable<T> work) {
        return vertx.executeBlocking(work, false);
    }

    @Override
    public String toString() {
        return "WalArchiver[" + source + ", " + (dataDir == null ? "no data directory" : dataDir) + "]";
    }
}
