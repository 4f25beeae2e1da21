package dev.holdfast.agent.postgres.backup;

import dev.holdfast.agent.config.PostgresSourceConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupCatalog;
import dev.holdfast.repository.crypto.GcmWarmUp;
import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.backup.BackupLayout;
import dev.holdfast.repository.backup.BackupManifest;
import dev.holdfast.repository.backup.BackupType;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectInfo;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.PutOptions;
import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.repository.wal.WalIndex;
import dev.holdfast.repository.wal.WalLayout;
import dev.holdfast.repository.wal.WalSegmentName;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Takes one base backup of a PostgreSQL source (docs/format.md section 12):
 * <ol>
 *   <li>opens one SQL session, reads the server's identity, and picks the parent of an
 *       incremental backup (the newest complete backup of the cluster; none: a full backup, said so);</li>
 *   <li>{@code pg_backup_start} (fast checkpoint unless asked otherwise);</li>
 *   <li>lists the data directory and tablespaces with PostgreSQL's exclusions
 *       ({@link DataDirectoryScan}) from the second after the start checkpoint ({@code started_at}
 *       is when this copy began); an incremental backup refers to its parent's copy of a file
 *       whose size and modification time are unchanged, provided that time lies in an earlier
 *       second than the parent's copy began (a file changed within the timestamp granularity of
 *       that copy is stored again);</li>
 *   <li>{@code parallel} workers each seal and upload packs (files concatenated, a pack closed past
 *       {@code packSize}); {@code global/pg_control} is copied last, in a pack of its own;</li>
 *   <li>{@code pg_backup_stop}, then waits until the WAL from the start to the stop LSN is durable
 *       in the repository (shipped by the agent, stream or archive mode), at most {@code walTimeout};</li>
 *   <li>only then writes the manifest (create-if-absent), then its copy.</li>
 * </ol>
 * Any failure before the manifest leaves packs without one: an incomplete backup no restore uses,
 * which retention removes; the next run starts under a new id. The server aborts the backup on its
 * own when the session ends early.
 *
 * <p>Blocking: call from a thread of your own.
 */
public final class BaseBackup {
    /** Pack target size (docs/format.md section 12). */
    public static final long DEFAULT_PACK_SIZE = 64L << 20;
    public static final Duration DEFAULT_WAL_TIMEOUT = Duration.ofMinutes(5);
    private static final String PG_CONTROL = "global/pg_control";

    private final Vertx vertx;
    private final Repository repository;
    private final PostgresSourceConfig source;
    private final Clock clock;
    /** The run's {@link Options#putOptions()}, for the pack writers. */
    private volatile PutOptions putOptions = PutOptions.DEFAULT;

    /**
     * @param type       {@code FULL} or {@code INCR}
     * @param parallel   workers sealing packs at once (default: the number of cores)
     * @param fast       ask for an immediate checkpoint (else a spread one, as the server's settings)
     * @param walTimeout how long to wait for the backup's WAL to reach the repository
     * @param packSize   a pack is closed once it holds this many bytes
     * @param putOptions how packs and manifests are written: the Object Lock of the backup's GFS slot
     *                   when the controller asks for one (docs/retention.md), else the defaults
     */
    public record Options(BackupType type, Optional<String> tag, int parallel, boolean fast, Duration walTimeout, long packSize,
                          PutOptions putOptions) {
        /** Without put options: packs and manifests are written with the store's defaults. */
        public Options(BackupType type, Optional<String> tag, int parallel, boolean fast, Duration walTimeout, long packSize) {
            this(type, tag, parallel, fast, walTimeout, packSize, PutOptions.DEFAULT);
        }

        public Options {
            Objects.requireNonNull(putOptions, "putOptions");
            Objects.requireNonNull(type, "type");
            if (type != BackupType.FULL && type != BackupType.INCR) {
                throw new IllegalArgumentException("a base backup is full or incr, not " + type);
            }
            if (parallel < 1) {
                throw new HoldfastException(ErrorCode.USAGE, "--parallel must be at least 1");
            }
            if (packSize < 1) {
                throw new IllegalArgumentException("packSize");
            }
        }

        public static Options defaults(BackupType type) {
            return new Options(type, Optional.empty(), Runtime.getRuntime().availableProcessors(), true, DEFAULT_WAL_TIMEOUT, DEFAULT_PACK_SIZE);
        }
    }

    /** Told what happens; called from the backup's thread. */
    public interface Listener {
        void message(String text);

        void progress(long bytesDone, long bytesTotal);
    }

    /** The stored backup, what the scan skipped, and whether an incremental became a full one. */
    public record Result(BackupManifest manifest, List<String> skipped, long bytesStored, boolean fellBackToFull) {
    }

    public BaseBackup(Vertx vertx, Repository repository, PostgresSourceConfig source, Clock clock) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.repository = Objects.requireNonNull(repository, "repository");
        this.source = Objects.requireNonNull(source, "source");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public Result run(Options options, Listener listener) {
        putOptions = options.putOptions();
        GcmWarmUp.startInBackground(); // overlaps with the start checkpoint; joined before the copy
        try (BackupSession session = BackupSession.open(vertx, source.conninfo())) {
            BackupSession.ServerInfo info = session.serverInfo();
            if (info.inRecovery()) {
                throw new HoldfastException(ErrorCode.USAGE, "source " + source.name() + ": the server is a standby (in recovery);"
                        + " base backups are taken from the primary");
            }
            checkDataDirectory(info);
            BackupCatalog catalog = new BackupCatalog(repository);
            Optional<BackupManifest> parent = Optional.empty();
            BackupType type = options.type();
            boolean fellBack = false;
            if (type == BackupType.INCR) {
                parent = catalog.latest(source.name(), info.systemId());
                if (parent.isEmpty() || parent.get().serverVersionNum() / 10000 != info.versionNum() / 10000) {
                    listener.message(parent.isEmpty() ? "no complete backup of this cluster to build on: taking a full backup"
                            : "the newest backup is of another major version: taking a full backup");
                    parent = Optional.empty();
                    type = BackupType.FULL;
                    fellBack = true;
                }
            }
            Instant startedAt = clock.instant();
            BackupId id = BackupId.of(startedAt, type);
            Set<BackupId> taken = catalog.list(source.name(), info.systemId()).keySet();
            while (taken.contains(id)) {
                id = id.next();
            }
            BackupLayout layout = new BackupLayout(source.name(), info.systemId(), id);
            List<BackupManifest.Tablespace> tablespaces = session.tablespaces();
            Lsn start = session.start("holdfast " + id, options.fast());
            listener.message("backup " + id + " started at " + start + (parent.map(p -> ", on top of " + p.id()).orElse("")));
            // The copy starts in the second after the start checkpoint's writes, so that the files
            // it flushed count as unchanged for the next incremental (see reusable()).
            sleep(Duration.ofMillis(1005 - clock.millis() % 1000));
            Instant copyStartedAt = clock.instant();

            DataDirectoryScan.Result scan = DataDirectoryScan.scan(source.dataDir(), tablespaces, info.versionNum() / 10000);
            scan.skipped().forEach(s -> listener.message("skipped " + s));
            Map<String, BackupManifest.FileEntry> reusable = reusable(parent);
            List<BackupManifest.FileEntry> entries = new ArrayList<>();
            List<DataDirectoryScan.SourceFile> toStore = new ArrayList<>();
            DataDirectoryScan.SourceFile control = null;
            for (DataDirectoryScan.SourceFile f : scan.files()) {
                BackupManifest.FileEntry old = reusable.get(f.path());
                if (f.path().equals(PG_CONTROL)) {
                    control = f;
                } else if (old != null && old.size() == f.size() && old.mtime().equals(f.mtime())) {
                    entries.add(new BackupManifest.FileEntry(f.path(), old.size(), old.mtime(), f.mode(), old.crc32c(), old.sha256(),
                            Optional.of(old.from().orElse(parent.get().id())), old.pack(), old.offset()));
                } else {
                    toStore.add(f);
                }
            }
            if (control == null) {
                throw new HoldfastException(ErrorCode.IO_ERROR, source.dataDir() + ": global/pg_control is missing");
            }
            long total = control.size();
            for (DataDirectoryScan.SourceFile f : toStore) {
                total += f.size();
            }
            BackupProgressCounter progress = new BackupProgressCounter(total);
            listener.message(String.format("copying %d files, %d bytes (%d unchanged files from the parent)", toStore.size() + 1, total,
                    entries.size()));
            List<List<DataDirectoryScan.SourceFile>> packs = plan(toStore, options.packSize());
            GcmWarmUp.await();
            long t0 = System.nanoTime();
            long stored = storePacks(layout, packs, options.parallel(), progress, listener, entries);
            stored += storePack(layout, packs.size() + 1, List.of(control), progress, entries);
            listener.progress(progress.done(), progress.total());
            long t1 = System.nanoTime();

            BackupSession.Stopped stopped = session.stop();
            listener.message(String.format("copied %d bytes in %.1f s (%.0f MB/s); backup stopped at %s, waiting for its WAL to be in"
                    + " the repository", total, (t1 - t0) / 1e9, total / ((t1 - t0) / 1e9) / 1e6, stopped.stopLsn()));
            long t2 = System.nanoTime();
            waitForWal(info, stopped, options.walTimeout(), listener);
            listener.message(String.format("WAL to %s confirmed in the repository after %.1f s", stopped.stopLsn(), (System.nanoTime() - t2) / 1e9));

            entries.sort(Comparator.comparing(BackupManifest.FileEntry::path));
            BackupManifest manifest = new BackupManifest(id, options.tag(), parent.map(BackupManifest::id), source.name(), info.systemId(),
                    info.versionNum(), info.walSegmentSize(), stopped.timeline(), stopped.labelStart(), stopped.stopLsn(), copyStartedAt,
                    clock.instant(), stopped.backupLabel(), stopped.tablespaceMap(), tablespaces, scan.directories(), entries, stored);
            byte[] json = manifest.toJson();
            try {
                repository.put(layout.manifest(), new ByteArrayInputStream(json), true, options.putOptions());
                repository.put(layout.manifestCopy(), new ByteArrayInputStream(json), true, options.putOptions());
            } catch (IOException e) {
                throw new HoldfastException(ErrorCode.IO_ERROR, "cannot store the manifest of " + id + ": " + e.getMessage(), e);
            }
            return new Result(manifest, scan.skipped(), stored, fellBack);
        }
    }

    private void checkDataDirectory(BackupSession.ServerInfo info) {
        if (info.dataDirectory().isEmpty()) {
            return;
        }
        try {
            Path server = Path.of(info.dataDirectory().get()).toRealPath();
            Path ours = source.dataDir().toRealPath();
            if (!server.equals(ours)) {
                throw new HoldfastException(ErrorCode.CONFIG_INVALID, "source " + source.name() + ": data_dir is " + ours
                        + " but the server's data directory is " + server);
            }
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.CONFIG_INVALID, "source " + source.name() + ": data_dir " + source.dataDir()
                    + " cannot be read: " + e.getMessage(), e);
        }
    }

    /**
     * The parent's entries a new backup may point at (by path). A file the parent copied counts
     * only when its modification time lies in an earlier whole second than the one the parent's
     * copy began in ({@code started_at}): any later change then has a later timestamp, even on a
     * file system with one-second timestamps, so "same size and time" means "same bytes". An entry
     * the parent itself took from an ancestor passed that test when it was taken.
     */
    private static Map<String, BackupManifest.FileEntry> reusable(Optional<BackupManifest> parent) {
        Map<String, BackupManifest.FileEntry> out = new HashMap<>();
        if (parent.isEmpty()) {
            return out;
        }
        Instant limit = parent.get().startedAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        for (BackupManifest.FileEntry e : parent.get().files()) {
            if ((e.from().isPresent() || e.mtime().isBefore(limit)) && !e.path().equals(PG_CONTROL)) {
                out.put(e.path(), e);
            }
        }
        return out;
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HoldfastException(ErrorCode.INTERNAL, "interrupted", e);
        }
    }

    /** Files into packs in path order: a pack closes once it reaches {@code packSize}; a file at least that large is a pack of its own. */
    static List<List<DataDirectoryScan.SourceFile>> plan(List<DataDirectoryScan.SourceFile> files, long packSize) {
        List<List<DataDirectoryScan.SourceFile>> packs = new ArrayList<>();
        List<DataDirectoryScan.SourceFile> current = new ArrayList<>();
        long size = 0;
        for (DataDirectoryScan.SourceFile f : files) {
            if (f.size() >= packSize) {
                packs.add(List.of(f));
                continue;
            }
            current.add(f);
            size += f.size();
            if (size >= packSize) {
                packs.add(current);
                current = new ArrayList<>();
                size = 0;
            }
        }
        if (!current.isEmpty()) {
            packs.add(current);
        }
        return packs;
    }

    private long storePacks(BackupLayout layout, List<List<DataDirectoryScan.SourceFile>> packs, int parallel, BackupProgressCounter progress,
                            Listener listener, List<BackupManifest.FileEntry> entries) {
        AtomicInteger threads = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(parallel, r -> {
            Thread t = new Thread(r, "holdfast-backup-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < packs.size(); i++) {
                order.add(i);
            }
            // Largest first, so that one big file does not start last and keep one worker busy alone.
            order.sort(Comparator.comparingLong((Integer i) -> -packs.get(i).stream().mapToLong(DataDirectoryScan.SourceFile::size).sum()));
            List<Future<Long>> futures = new ArrayList<>();
            List<List<BackupManifest.FileEntry>> results = new ArrayList<>();
            for (int i : order) {
                List<BackupManifest.FileEntry> into = new ArrayList<>();
                results.add(into);
                futures.add(pool.submit(() -> storePack(layout, i + 1, packs.get(i), progress, into)));
            }
            long stored = 0;
            for (Future<Long> f : futures) {
                while (true) {
                    try {
                        stored += f.get(1, TimeUnit.SECONDS);
                        break;
                    } catch (TimeoutException e) {
                        listener.progress(progress.done(), progress.total());
                    }
                }
            }
            results.forEach(entries::addAll);
            return stored;
        } catch (ExecutionException e) {
            HoldfastException h = HoldfastException.find(e.getCause());
            throw h != null ? h : new HoldfastException(ErrorCode.IO_ERROR, "backup failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HoldfastException(ErrorCode.INTERNAL, "interrupted", e);
        } finally {
            pool.shutdownNow();
        }
    }

    /** Seals and uploads one pack; adds its files' entries to {@code into}; returns the stored object's size. */
    private long storePack(BackupLayout layout, int number, List<DataDirectoryScan.SourceFile> files, BackupProgressCounter progress,
                           List<BackupManifest.FileEntry> into) {
        ObjectKey key = layout.pack(number);
        String pack = BackupLayout.packName(number);
        try (PackStream in = new PackStream(files, progress)) {
            repository.put(key, in, false, putOptions);
            for (PackStream.Written w : in.written()) {
                into.add(new BackupManifest.FileEntry(w.file().path(), w.size(), w.file().mtime(), w.file().mode(), w.crc32c(), w.sha256(),
                        Optional.empty(), pack, w.offset()));
            }
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "cannot back up " + files.get(0).path()
                    + (files.size() > 1 ? " and " + (files.size() - 1) + " more files" : "") + ": " + e.getMessage(), e);
        }
        return Futures.await(repository.store().head(key)).map(ObjectInfo::size).orElse(0L);
    }

    /** Waits until the repository holds the WAL from the backup's start to its stop LSN without a hole. */
    private void waitForWal(BackupSession.ServerInfo info, BackupSession.Stopped stopped, Duration timeout, Listener listener) {
        WalLayout layout = new WalLayout(source.name(), info.systemId());
        long deadline = System.nanoTime() + timeout.toNanos();
        long nextNote = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            WalIndex index = WalIndex.load(repository.store(), layout, info.walSegmentSize());
            Lsn end = index.coveredTo(WalSegmentName.of(stopped.timeline(), stopped.labelStart(), info.walSegmentSize())) > 0
                    ? index.contiguousEnd(stopped.timeline(), stopped.labelStart()) : Lsn.INVALID;
            if (end.isValid() && end.compareTo(stopped.stopLsn()) >= 0) {
                return;
            }
            long now = System.nanoTime();
            if (now > deadline) {
                throw new HoldfastException(ErrorCode.WAL_TIMEOUT, "the WAL from " + stopped.labelStart() + " to " + stopped.stopLsn()
                        + " (timeline " + stopped.timeline() + ") did not reach the repository within " + timeout
                        + (end.isValid() ? " (it holds WAL to " + end + ")" : " (it holds none of it)")
                        + "; is the agent running and shipping WAL for source " + source.name() + "? The backup has no manifest:"
                        + " it is incomplete and will not be used");
            }
            if (now > nextNote) {
                listener.message("still waiting for WAL up to " + stopped.stopLsn() + " in the repository"
                        + (end.isValid() ? " (it holds WAL to " + end + ")" : ""));
                nextNote = now + TimeUnit.SECONDS.toNanos(10);
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HoldfastException(ErrorCode.INTERNAL, "interrupted", e);
            }
        }
    }
}
