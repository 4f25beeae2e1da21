package dev.holdfast.agent.files;

import dev.holdfast.agent.config.FilesSourceConfig;
import dev.holdfast.agent.config.SourceConfig;
import dev.holdfast.agent.daemon.AgentContext;
import dev.holdfast.agent.daemon.AgentSource;
import dev.holdfast.agent.daemon.EventLog;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A running {@code type: files} source (docs/files.md, "On change"): takes a snapshot at start,
 * then whenever the tree changes, and on a periodic rescan as a safety net. Changes are seen through
 * a {@link WatchService} on every selected directory (registered recursively, new directories as
 * they appear), debounced: a snapshot starts once no event came for {@link #DEFAULT_DEBOUNCE}, or at
 * the latest {@link #MAX_DELAY} after the first event of a burst. A snapshot whose tree equals the
 * previous one stores nothing. Everything blocking (the watch, the snapshots) runs on the source's
 * own thread; the event loop is never blocked.
 */
public final class FilesSource implements AgentSource {
    public static final Duration DEFAULT_DEBOUNCE = Duration.ofSeconds(2);
    public static final Duration DEFAULT_RESCAN = Duration.ofMinutes(15);
    public static final Duration MAX_DELAY = Duration.ofSeconds(30);
    public static final Duration TAIL_INTERVAL = Duration.ofSeconds(1);
    private static final int PARALLEL = 4;

    private final FilesSourceConfig config;
    private final AgentContext ctx;
    private final EventLog log;
    private final Duration debounce;
    private final Duration rescan;
    private final Map<WatchKey, Path> watched = new ConcurrentHashMap<>();
    private final Promise<Void> stopped = Promise.promise();
    private final Counter snapshots;
    private final Counter uploadedBytes;
    private volatile boolean running;
    private volatile WatchService watcher;
    private volatile Thread thread;
    private volatile Thread tailThread;
    private final Promise<Void> tailStopped = Promise.promise();
    private final java.util.concurrent.CountDownLatch stopSignal = new java.util.concurrent.CountDownLatch(1);
    private volatile long tailBytes;
    private volatile String tailError;
    private volatile String tailNotice;
    private volatile String state = "starting";
    private volatile String lastSnapshot;
    private volatile String lastSnapshotAt;
    private volatile String lastError;
    private volatile int secretsExcluded;
    private volatile long stored;
    private volatile long unchanged;
    private volatile boolean requested;

    public FilesSource(SourceConfig config, AgentContext ctx) {
        this((FilesSourceConfig) config, ctx, DEFAULT_DEBOUNCE, DEFAULT_RESCAN);
    }

    public FilesSource(FilesSourceConfig config, AgentContext ctx, Duration debounce, Duration rescan) {
        this.config = Objects.requireNonNull(config, "config");
        this.ctx = Objects.requireNonNull(ctx, "ctx");
        this.debounce = debounce;
        this.rescan = rescan;
        this.log = ctx.log().with("source", config.name());
        this.snapshots = ctx.meters().counter("holdfast.files.snapshots", "source", config.name());
        this.uploadedBytes = ctx.meters().counter("holdfast.files.uploaded.bytes", "source", config.name());
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public String type() {
        return FilesSourceConfig.TYPE;
    }

    @Override
    public Future<Void> start() {
        try {
            watcher = java.nio.file.FileSystems.getDefault().newWatchService();
        } catch (IOException e) {
            return Future.failedFuture(new HoldfastException(ErrorCode.IO_ERROR, "source " + config.name() + ": cannot watch files: " + e.getMessage(), e));
        }
        running = true;
        Thread t = new Thread(this::loop, "holdfast-files-" + config.name());
        t.setDaemon(true);
        thread = t;
        t.start();
        if (!config.tail().isEmpty()) {
            Thread tt = new Thread(this::tailLoop, "holdfast-files-tail-" + config.name());
            tt.setDaemon(true);
            tailThread = tt;
            tt.start();
        } else {
            tailStopped.tryComplete();
        }
        log.info("files_source_started", "paths", String.join(",", config.paths()));
        return Future.succeededFuture();
    }

    /** Asks for a snapshot as soon as possible (as a change would, without the debounce). */
    public void requestSnapshot() {
        requested = true;
    }

    @Override
    public Future<Void> stop() {
        running = false;
        WatchService w = watcher;
        if (w != null) {
            try {
                w.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
        if (thread == null) {
            return Future.succeededFuture();
        }
        stopSignal.countDown(); // wakes the tail loop without interrupting its I/O (an interrupt would close its channels)
        return Future.all(stopped.future(), tailStopped.future()).mapEmpty();
    }

    @Override
    public JsonObject status() {
        return new JsonObject().put("state", state).put("last_snapshot", lastSnapshot).put("last_snapshot_at", lastSnapshotAt)
                .put("snapshots_stored", stored).put("snapshots_unchanged", unchanged).put("secrets_excluded", secretsExcluded)
                .put("watched_directories", watched.size()).put("last_error", lastError)
                .put("tail_bytes_shipped", tailBytes).put("tail_error", tailError)
                .put("tail_notice", tailNotice);
    }

    private void loop() {
        try {
            TreeScan scan = new TreeScan(config.paths(), config.exclude());
            registerAll(scan);
            boolean dirty = true; // the snapshot at start
            long firstEvent = -1;
            long lastEvent = -1;
            long nextRescan = ctx.clock().millis() + rescan.toMillis();
            state = "watching";
            while (running) {
                WatchKey key;
                try {
                    key = watcher.poll(Math.max(10, Math.min(200, debounce.toMillis())), TimeUnit.MILLISECONDS);
                } catch (ClosedWatchServiceException e) {
                    break;
                }
                long now = ctx.clock().millis();
                if (key != null) {
                    Path dir = watched.get(key);
                    for (WatchEvent<?> ev : key.pollEvents()) {
                        if (ev.kind() == StandardWatchEventKinds.OVERFLOW) {
                            registerAll(scan);
                        } else if (dir != null && ev.kind() == StandardWatchEventKinds.ENTRY_CREATE) {
                            Path child = dir.resolve((Path) ev.context());
                            if (Files.isDirectory(child, LinkOption.NOFOLLOW_LINKS) && !scan.excluded(child)) {
                                register(child, scan);
                            }
                        }
                    }
                    if (!key.reset()) {
                        watched.remove(key);
                    }
                    dirty = true;
                    if (firstEvent < 0) {
                        firstEvent = now;
                    }
                    lastEvent = now;
                }
                if (requested) {
                    requested = false;
                    dirty = true;
                    lastEvent = -1;
                    firstEvent = -1;
                }
                boolean quiet = lastEvent < 0 || now - lastEvent >= debounce.toMillis();
                boolean overdue = firstEvent >= 0 && now - firstEvent >= MAX_DELAY.toMillis();
                if ((dirty && (quiet || overdue)) || now >= nextRescan) {
                    dirty = false;
                    firstEvent = -1;
                    lastEvent = -1;
                    snapshot();
                    nextRescan = ctx.clock().millis() + rescan.toMillis();
                }
            }
        } catch (Throwable t) {
            lastError = t.getClass().getSimpleName() + ": " + t.getMessage();
            log.error("files_source_failed", "error", lastError);
        } finally {
            state = "stopped";
            stopped.tryComplete();
        }
    }

    /** Ships the tailed files every {@link #TAIL_INTERVAL}; a last pass at stop. */
    private void tailLoop() {
        try (TailShipper shipper = new TailShipper(ctx.repository(), config, ctx.clock(), text -> log.info("files_tail", "msg", text))) {
            while (true) {
                try {
                    shipper.tick();
                    tailBytes = shipper.bytesShipped();
                    tailError = null;
                } catch (IOException | RuntimeException e) {
                    tailBytes = shipper.bytesShipped(); // the other files were shipped
                    tailError = e.getMessage();
                    log.error("files_tail_failed", "error", String.valueOf(e.getMessage()));
                }
                tailNotice = shipper.lastNotice();
                if (!running) {
                    break;
                }
                try {
                    stopSignal.await(TAIL_INTERVAL.toMillis(), TimeUnit.MILLISECONDS); // pacing; returns at once on stop
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        } finally {
            tailStopped.tryComplete();
        }
    }

    private void snapshot() {
        if (config.paths().isEmpty()) {
            return; // a tail-only source
        }
        state = "snapshotting";
        try {
            FilesSnapshot.Result r = new FilesSnapshot(ctx.repository(), config, ctx.config().host(), ctx.clock(), PARALLEL).run(text -> {
                if (!text.startsWith("left out ")) { // secrets are logged below, one structured event each
                    log.info("files_snapshot_note", "msg", text);
                }
            });
            secretsExcluded = r.secrets().size();
            for (FilesManifest.Excluded s : r.secrets()) {
                log.warn("files_secret_excluded", "path", s.path(), "reason", s.reason());
            }
            uploadedBytes.increment(r.bytesUploaded());
            if (r.stored()) {
                stored++;
                snapshots.increment();
                lastSnapshot = r.manifest().id();
                lastSnapshotAt = r.manifest().finishedAt().toString();
                log.info("files_snapshot_stored", "snapshot", r.manifest().id(), "entries", r.manifest().entries().size(), "files_uploaded",
                        r.filesUploaded(), "bytes_uploaded", r.bytesUploaded(), "secrets_excluded", r.secrets().size());
            } else {
                unchanged++;
                lastSnapshot = r.manifest().id();
                log.debug("files_snapshot_unchanged", "snapshot", r.manifest().id());
            }
            lastError = null;
        } catch (RuntimeException e) {
            lastError = e.getMessage();
            log.error("files_snapshot_failed", "error", String.valueOf(e.getMessage()));
        } finally {
            state = running ? "watching" : "stopping";
        }
    }

    private void registerAll(TreeScan scan) {
        for (TreeScan.Root r : scan.roots()) {
            if (Files.isDirectory(r.dir(), LinkOption.NOFOLLOW_LINKS)) {
                register(r.dir(), scan);
            }
        }
    }

    /** Registers {@code top} and every directory below it (not excluded, links not followed). */
    private void register(Path top, TreeScan scan) {
        try {
            Files.walkFileTree(top, EnumSet.noneOf(FileVisitOption.class), Integer.MAX_VALUE, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                    if (!dir.equals(top) && scan.excluded(dir)) {
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    if (!watched.containsValue(dir)) {
                        watched.put(dir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_DELETE,
                                StandardWatchEventKinds.ENTRY_MODIFY), dir);
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) {
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException | ClosedWatchServiceException e) {
            log.warn("files_watch_incomplete", "dir", top.toString(), "error", e.getClass().getSimpleName());
        }
    }
}
