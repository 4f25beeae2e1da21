package dev.holdfast.agent.postgres.restore;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.backup.BackupCatalog;
import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.backup.BackupLayout;
import dev.holdfast.repository.backup.BackupManifest;
import dev.holdfast.repository.backup.BackupType;
import dev.holdfast.repository.backup.PackReader;
import dev.holdfast.repository.crypto.GcmWarmUp;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.wal.WalSegmentName;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * Restores a base backup into a directory so that starting PostgreSQL on it recovers to the
 * requested target:
 * <ol>
 *   <li>{@link #plan}: picks the backup (an id, or the newest complete one that can reach the
 *       target: finished before a target time, stopped before a target LSN), resolves its chain,
 *       and checks the target directory against the allowlist; nothing is written;</li>
 *   <li>{@link #restore}: empties the target when overwriting, recreates the directories, and
 *       reads every pack the backup and its ancestors hold in parallel, each file written as it
 *       streams and its CRC32C (and SHA-256 when asked) compared; copies the WAL from the backup's
 *       start to its stop segment into {@code pg_wal} (what {@code pg_verifybackup} checks); writes
 *       {@code backup_label}, a PostgreSQL-format {@code backup_manifest}, the recovery settings in
 *       {@code postgresql.auto.conf} and {@code recovery.signal}; and writes {@code global/pg_control}
 *       last, by rename.</li>
 * </ol>
 * Until that last rename the directory has no {@code pg_control}, so PostgreSQL refuses to start
 * on a restore that failed half way (the error says to restore again with {@code --overwrite}).
 * Tablespaces are restored in place, as directories under {@code pg_tblspc/} (no
 * {@code tablespace_map}, and {@code allow_in_place_tablespaces = on} so that PostgreSQL accepts
 * them), so that a restore never writes outside its target.
 *
 * <p>Blocking: call from a thread of your own.
 */
public final class BaseRestore {
    private static final String PG_CONTROL = "global/pg_control";
    private static final String CONTROL_PARTIAL = "global/pg_control.holdfast-restore";
    private static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
    /** One copy buffer per worker thread, not one per file (a thousand 1 MiB arrays cost more than the copying). */
    private static final ThreadLocal<byte[]> COPY_BUFFER = ThreadLocal.withInitial(() -> new byte[1 << 20]);

    private final Repository repository;
    private final Clock clock;

    /** Supplies a WAL file of the backup's cluster by name (complete segments, or assembled from parts). */
    @FunctionalInterface
    public interface WalFiles {
        Optional<byte[]> fetch(String name) throws IOException;
    }

    /** Told what happens; called from the restore's thread. */
    public interface Listener {
        void message(String text);

        void progress(long bytesDone, long bytesTotal);
    }

    /**
     * @param backup          a backup id, or {@code latest}
     * @param restoreCommand  PostgreSQL's {@code restore_command} to write (with {@code %f} and {@code %p})
     * @param keepArchiveMode keep the backup's {@code archive_mode}; by default it is turned off so a
     *                        restored copy never archives into the source's WAL
     * @param verifySha256    also compare each file's SHA-256 (CRC32C and the packs' own authentication always)
     */
    public record Options(String source, Optional<String> systemId, String backup, Path target, List<Path> allowedTargets,
                          RecoveryTarget recovery, boolean overwrite, int parallel, String restoreCommand, boolean keepArchiveMode,
                          boolean verifySha256) {
        public Options {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(backup, "backup");
            Objects.requireNonNull(target, "target");
            Objects.requireNonNull(recovery, "recovery");
            Objects.requireNonNull(restoreCommand, "restoreCommand");
            allowedTargets = List.copyOf(allowedTargets);
            if (parallel < 1) {
                throw new HoldfastException(ErrorCode.USAGE, "--parallel must be at least 1");
            }
        }
    }

    /** What a restore will do. */
    public record Plan(BackupManifest backup, List<BackupManifest> chain, RestoreTarget target, int files, long bytes,
                       List<String> walToCopy, Map<String, String> settings) {
        /** This plan with another {@code restore_command}. */
        public Plan withRestoreCommand(String command) {
            Map<String, String> s = new LinkedHashMap<>(settings);
            s.put("restore_command", command);
            return new Plan(backup, chain, target, files, bytes, walToCopy, s);
        }

        /** The packs to read, by key, with the files each contributes. */
        Map<ObjectKey, List<BackupManifest.FileEntry>> packs() {
            Map<ObjectKey, List<BackupManifest.FileEntry>> out = new LinkedHashMap<>();
            for (BackupManifest.FileEntry f : backup.files()) {
                BackupId from = f.from().orElse(backup.id());
                ObjectKey key = ObjectKey.of(BackupLayout.clusterPrefix(backup.source(), backup.systemId()) + from + "/" + f.pack());
                out.computeIfAbsent(key, k -> new ArrayList<>()).add(f);
            }
            return out;
        }
    }

    public BaseRestore(Repository repository, Clock clock) {
        this.repository = Objects.requireNonNull(repository, "repository");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Resolves the backup and checks the target; writes nothing. */
    public Plan plan(Options o) {
        GcmWarmUp.startInBackground(); // overlaps with planning; restore() waits for it
        BackupCatalog catalog = new BackupCatalog(repository);
        String systemId = o.systemId().orElseGet(() -> onlySystemId(catalog, o.source()));
        BackupManifest m = choose(catalog, o, systemId);
        if (o.recovery().lsn().isPresent() && o.recovery().lsn().get().compareTo(m.stopLsn()) < 0) {
            throw new HoldfastException(ErrorCode.USAGE, "backup " + m.id() + " is consistent only from LSN " + m.stopLsn()
                    + "; it cannot be restored to the earlier LSN " + o.recovery().lsn().get() + ". Choose an older backup");
        }
        List<BackupManifest> chain = catalog.chain(m);
        RestoreTarget target = RestoreTarget.check(o.target(), o.allowedTargets(), o.overwrite());
        List<String> wal = new ArrayList<>();
        for (WalSegmentName s = WalSegmentName.of(m.timeline(), m.startLsn(), m.walSegmentSize());
             s.compareTo(WalSegmentName.of(m.timeline(), m.stopLsn().plus(-1), m.walSegmentSize())) <= 0; s = s.next(m.walSegmentSize())) {
            wal.add(s.toString());
        }
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("restore_command", o.restoreCommand());
        settings.putAll(o.recovery().settings());
        if (!o.keepArchiveMode()) {
            settings.put("archive_mode", "off");
        }
        if (!m.tablespaces().isEmpty()) {
            // Tablespaces come back as directories inside the target, which PostgreSQL accepts
            // only with this setting (it refuses to end recovery on a pg_tblspc entry that is no link).
            settings.put("allow_in_place_tablespaces", "on");
        }
        return new Plan(m, chain, target, m.files().size(), m.bytes(), wal, settings);
    }

    private static String onlySystemId(BackupCatalog catalog, String source) {
        SortedSet<String> ids = catalog.systemIds(source);
        if (ids.isEmpty()) {
            throw new HoldfastException(ErrorCode.OBJECT_NOT_FOUND, "source " + source + " has no backups in the repository");
        }
        if (ids.size() > 1) {
            throw new HoldfastException(ErrorCode.USAGE, "source " + source + " has backups of several clusters (system identifiers "
                    + ids + "); pass --system-id ID");
        }
        return ids.first();
    }

    private static BackupManifest choose(BackupCatalog catalog, Options o, String systemId) {
        if (!o.backup().equals("latest")) {
            BackupId id;
            try {
                id = BackupId.parse(o.backup());
            } catch (RuntimeException e) {
                throw new HoldfastException(ErrorCode.USAGE, "--backup must be a backup id (see holdfast list) or 'latest', not '" + o.backup() + "'");
            }
            if (id.type() != BackupType.FULL && id.type() != BackupType.INCR) {
                throw new HoldfastException(ErrorCode.USAGE, "backup " + id + " is not a base backup");
            }
            BackupCatalog.Entry e = catalog.list(o.source(), systemId).get(id);
            if (e != null && e.pruning()) {
                throw new HoldfastException(ErrorCode.OBJECT_NOT_FOUND, "backup " + id + " is being removed by retention (its pruning"
                        + " marker exists); choose another backup");
            }
            return catalog.read(o.source(), systemId, id);
        }
        List<BackupCatalog.Entry> complete = new ArrayList<>(catalog.list(o.source(), systemId).values().stream()
                .filter(e -> e.usable() && (e.id().type() == BackupType.FULL || e.id().type() == BackupType.INCR)).toList());
        complete.sort(Comparator.comparing(BackupCatalog.Entry::id).reversed());
        for (BackupCatalog.Entry e : complete) {
            BackupManifest m = catalog.read(o.source(), systemId, e.id());
            if (o.recovery().time().isPresent() && m.finishedAt().isAfter(o.recovery().time().get())) {
                continue;
            }
            if (o.recovery().lsn().isPresent() && m.stopLsn().compareTo(o.recovery().lsn().get()) > 0) {
                continue;
            }
            return m;
        }
        throw new HoldfastException(ErrorCode.OBJECT_NOT_FOUND, "source " + o.source() + " has no complete base backup"
                + (complete.isEmpty() ? "" : " that ends before " + o.recovery().describe()));
    }

    /** Carries out {@code plan}. */
    public void restore(Plan plan, Options o, WalFiles wal, Listener listener) {
        RestoreTarget target = plan.target();
        Path dir = target.path();
        try {
            if (target.nonEmpty()) {
                listener.message("emptying " + dir + " (--overwrite)");
                target.clear();
            }
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, DIR_MODE);
            for (String d : plan.backup().directories()) {
                mkdirs(dir, d);
            }
            mkdirs(dir, "pg_wal/archive_status");
            AtomicLong done = new AtomicLong();
            long t0 = System.nanoTime();
            GcmWarmUp.await();
            long t1 = System.nanoTime();
            readPacks(plan, o, dir, done, listener);
            listener.progress(done.get(), plan.bytes());
            long t2 = System.nanoTime();
            syncAll(dir, o.parallel());
            listener.message(String.format("restored %d files in %.1f s (%.0f MB/s), synced in %.1f s%s", plan.files(), (t2 - t1) / 1e9,
                    plan.bytes() / ((t2 - t1) / 1e9) / 1e6, (System.nanoTime() - t2) / 1e9,
                    t1 - t0 > 100_000_000L ? String.format(" (after %.1f s of cipher warm-up)", (t1 - t0) / 1e9) : ""));
            for (String name : plan.walToCopy()) {
                byte[] bytes = wal.fetch(name).orElseThrow(() -> new HoldfastException(ErrorCode.WAL_GAP, "WAL segment " + name
                        + ", which backup " + plan.backup().id() + " needs to be consistent, is not in the repository"));
                writeFile(dir.resolve("pg_wal").resolve(name), bytes, 0600);
            }
            writeFile(dir.resolve("backup_label"), plan.backup().backupLabel().getBytes(StandardCharsets.UTF_8), 0600);
            writeFile(dir.resolve("backup_manifest"), pgManifest(plan.backup()), 0600);
            appendSettings(dir.resolve("postgresql.auto.conf"), plan);
            writeFile(dir.resolve("recovery.signal"), new byte[0], 0600);
            Files.move(dir.resolve(CONTROL_PARTIAL), dir.resolve(PG_CONTROL), StandardCopyOption.ATOMIC_MOVE);
            fsyncDir(dir.resolve("global"));
            fsyncDir(dir);
        } catch (IOException e) {
            throw new HoldfastException(ErrorCode.IO_ERROR, "restore into " + dir + " failed: " + e.getMessage()
                    + ". The target is incomplete (it has no global/pg_control, so PostgreSQL will not start on it);"
                    + " restore again with --overwrite", e);
        } catch (HoldfastException e) {
            throw new HoldfastException(e.code(), e.getMessage() + ". The target " + dir + " is incomplete (it has no global/pg_control,"
                    + " so PostgreSQL will not start on it); restore again with --overwrite", e);
        }
    }

    private void readPacks(Plan plan, Options o, Path dir, AtomicLong done, Listener listener) throws IOException {
        Map<ObjectKey, List<BackupManifest.FileEntry>> packs = plan.packs();
        List<ObjectKey> order = new ArrayList<>(packs.keySet());
        order.sort(Comparator.comparingLong((ObjectKey k) -> -packs.get(k).stream().mapToLong(BackupManifest.FileEntry::size).sum()));
        AtomicInteger threads = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(o.parallel(), r -> {
            Thread t = new Thread(r, "holdfast-restore-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<Void>> futures = new ArrayList<>();
            for (ObjectKey key : order) {
                futures.add(pool.submit(() -> {
                    PackReader.read(repository, key, packs.get(key), o.verifySha256(), "backup " + plan.backup().id(),
                            (entry, in) -> write(dir, entry, in, done));
                    return null;
                }));
            }
            for (Future<Void> f : futures) {
                while (true) {
                    try {
                        f.get(1, TimeUnit.SECONDS);
                        break;
                    } catch (TimeoutException e) {
                        listener.progress(done.get(), plan.bytes());
                    }
                }
            }
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            HoldfastException h = HoldfastException.find(c);
            if (h != null) {
                throw h;
            }
            throw c instanceof IOException io ? io : new IOException(String.valueOf(c), c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HoldfastException(ErrorCode.INTERNAL, "interrupted", e);
        } finally {
            pool.shutdownNow();
        }
    }

    /** Writes one file as it streams; never follows a link (the target was emptied or is new). */
    private static void write(Path dir, BackupManifest.FileEntry entry, InputStream in, AtomicLong done) throws IOException {
        String rel = entry.path().equals(PG_CONTROL) ? CONTROL_PARTIAL : entry.path();
        Path file = dir.resolve(rel);
        if (!file.normalize().startsWith(dir)) {
            throw new HoldfastException(ErrorCode.INTEGRITY_FAILURE, "manifest path '" + entry.path() + "' leaves the target");
        }
        Path parent = file.getParent();
        if (!Files.isDirectory(parent, LinkOption.NOFOLLOW_LINKS)) {
            mkdirs(dir, dir.relativize(parent).toString());
        }
        byte[] buf = COPY_BUFFER.get();
        try (FileChannel ch = FileChannel.open(file, Set.<java.nio.file.OpenOption>of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            int r;
            while ((r = in.read(buf)) > 0) {
                ByteBuffer b = ByteBuffer.wrap(buf, 0, r);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                done.addAndGet(r);
            }
        }
        Files.setPosixFilePermissions(file, permissions(entry.mode()));
        Files.setLastModifiedTime(file, FileTime.from(entry.mtime()));
    }

    /**
     * Makes everything written so far durable, before pg_control appears: one {@code syncfs(2)} of
     * the target's file system through coreutils' {@code sync -f} (what {@code pg_basebackup
     * --sync-method=syncfs} does), else every file and directory fsynced by {@code parallel}
     * threads, after all were written so that the kernel had time to write most of it back.
     */
    private static void syncAll(Path dir, int parallel) throws IOException {
        if (syncFileSystem(dir)) {
            return;
        }
        List<Path> paths;
        try (var walk = Files.walk(dir)) {
            paths = walk.toList();
        }
        ExecutorService pool = Executors.newFixedThreadPool(parallel);
        try {
            List<Future<Void>> futures = new ArrayList<>();
            for (Path p : paths) {
                futures.add(pool.submit(() -> {
                    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                        ch.force(true);
                    }
                    return null;
                }));
            }
            for (Future<Void> f : futures) {
                f.get();
            }
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(String.valueOf(e.getCause()), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HoldfastException(ErrorCode.INTERNAL, "interrupted", e);
        } finally {
            pool.shutdownNow();
        }
    }

    /** {@code sync -f DIR}: true when it ran and succeeded. */
    private static boolean syncFileSystem(Path dir) {
        try {
            Process p = new ProcessBuilder("sync", "-f", dir.toString()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(10, TimeUnit.MINUTES) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HoldfastException(ErrorCode.INTERNAL, "interrupted", e);
        }
    }

    private static void mkdirs(Path dir, String rel) throws IOException {
        Path cur = dir;
        for (Path seg : Path.of(rel)) {
            cur = cur.resolve(seg);
            if (Files.isSymbolicLink(cur)) {
                throw new HoldfastException(ErrorCode.TARGET_NOT_ALLOWED, cur + " is a symbolic link; a restore does not write through links");
            }
            if (!Files.isDirectory(cur, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectory(cur, PosixFilePermissions.asFileAttribute(DIR_MODE));
            }
        }
    }

    private byte[] pgManifest(BackupManifest m) {
        List<PgBackupManifest.File> files = new ArrayList<>();
        byte[] label = m.backupLabel().getBytes(StandardCharsets.UTF_8);
        CRC32C crc = new CRC32C();
        crc.update(label);
        files.add(new PgBackupManifest.File("backup_label", label.length, clock.instant(), PackReader.crc32cHex(crc)));
        for (BackupManifest.FileEntry f : m.files()) {
            // postgresql.auto.conf gets the recovery settings; pg_verifybackup ignores it.
            if (!f.path().equals("postgresql.auto.conf")) {
                files.add(new PgBackupManifest.File(f.path(), f.size(), f.mtime(), f.crc32c()));
            }
        }
        return PgBackupManifest.render(files, m.timeline(), m.startLsn(), m.stopLsn());
    }

    private void appendSettings(Path autoConf, Plan plan) throws IOException {
        StringBuilder b = new StringBuilder();
        if (Files.exists(autoConf, LinkOption.NOFOLLOW_LINKS)) {
            String old = Files.readString(autoConf, StandardCharsets.UTF_8);
            b.append(old);
            if (!old.isEmpty() && !old.endsWith("\n")) {
                b.append('\n');
            }
        } else {
            b.append("# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n");
        }
        b.append("# Added by holdfast restore of backup ").append(plan.backup().id()).append(" at ").append(clock.instant()).append('\n');
        plan.settings().forEach((k, v) -> b.append(k).append(" = '").append(v.replace("'", "''")).append("'\n"));
        Files.deleteIfExists(autoConf);
        writeFile(autoConf, b.toString().getBytes(StandardCharsets.UTF_8), 0600);
    }

    private static void writeFile(Path file, byte[] bytes, int mode) throws IOException {
        try (FileChannel ch = FileChannel.open(file, Set.<java.nio.file.OpenOption>of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(permissions(mode)))) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(false);
        }
    }

    private static void fsyncDir(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> p = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
                PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
                PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int i = 0; i < order.length; i++) {
            if ((mode & (1 << i)) != 0) {
                p.add(order[i]);
            }
        }
        p.add(PosixFilePermission.OWNER_READ);
        p.add(PosixFilePermission.OWNER_WRITE);
        return p;
    }
}
