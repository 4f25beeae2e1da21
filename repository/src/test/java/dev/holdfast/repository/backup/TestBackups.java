package dev.holdfast.repository.backup;

import dev.holdfast.repository.Repository;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.wal.Lsn;
import dev.holdfast.repository.wal.WalClusterInfo;
import dev.holdfast.repository.wal.WalLayout;
import dev.holdfast.repository.wal.WalSegmentName;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * Builds synthetic base backups and WAL in the real format (docs/format.md sections 11 and 12),
 * through {@link Repository#put}: packs of concatenated files, sealed manifests and their copies,
 * the WAL descriptor and segments (whose bytes are placeholders: only their names and seals matter
 * to the catalog). Shared with other modules' tests through the test-jar.
 */
public final class TestBackups {
    public static final long WAL_SEGMENT = 1 << 20;
    public final Repository repository;
    public final String source;
    public final String systemId;
    /** Files per pack: small, so that a backup has several packs. */
    private final int filesPerPack = 2;
    /** Applied to each new file entry before it goes into the manifest: lets a test record wrong checksums. */
    public java.util.function.UnaryOperator<BackupManifest.FileEntry> entryFilter = e -> e;

    public TestBackups(Repository repository, String source, String systemId) {
        this.repository = repository;
        this.source = source;
        this.systemId = systemId;
    }

    public WalLayout walLayout() {
        return new WalLayout(source, systemId);
    }

    public BackupLayout layout(BackupId id) {
        return new BackupLayout(source, systemId, id);
    }

    /** The LSN at {@code offset} in segment number {@code segment}. */
    public static Lsn lsn(int segment, long offset) {
        return Lsn.of(segment * WAL_SEGMENT + offset);
    }

    /** Stores the WAL descriptor (once) and complete segments {@code from..to} of {@code timeline}. */
    public void wal(int timeline, int from, int to) {
        try {
            if (!exists(walLayout().descriptor())) {
                repository.put(walLayout().descriptor(), new ByteArrayInputStream(new WalClusterInfo(systemId, WAL_SEGMENT, 150020).toJson()), true);
            }
            for (int n = from; n <= to; n++) {
                WalSegmentName s = WalSegmentName.ofNumber(timeline, n, WAL_SEGMENT);
                repository.put(walLayout().segment(s), new ByteArrayInputStream(("segment " + s).getBytes(StandardCharsets.UTF_8)), true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private long putPack(ObjectKey key, byte[] plaintext) throws IOException {
        repository.put(key, new ByteArrayInputStream(plaintext), true);
        return dev.holdfast.repository.store.Futures.await(repository.store().head(key)).orElseThrow().size();
    }

    private boolean exists(ObjectKey key) {
        return dev.holdfast.repository.store.Futures.await(repository.store().head(key)).isPresent();
    }

    /** Deterministic file content. */
    public static byte[] content(String path, int size) {
        byte[] b = new byte[size];
        byte[] seed = path.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (seed[i % seed.length] + i / 7);
        }
        return b;
    }

    /** A complete full backup of {@code files}, WAL range in segment {@code walSegment}. */
    public BackupManifest full(String id, int walSegment, Map<String, byte[]> files) {
        return write(BackupId.parse(id), Optional.empty(), walSegment, files, Map.of(), true);
    }

    /**
     * A complete incremental backup on {@code parent}: {@code changed} files stored anew, every other
     * file of the parent taken from where the parent has it.
     */
    public BackupManifest incr(String id, BackupManifest parent, int walSegment, Map<String, byte[]> changed) {
        Map<String, BackupManifest.FileEntry> reused = new LinkedHashMap<>();
        for (BackupManifest.FileEntry f : parent.files()) {
            if (!changed.containsKey(f.path())) {
                reused.put(f.path(), new BackupManifest.FileEntry(f.path(), f.size(), f.mtime(), f.mode(), f.crc32c(), f.sha256(),
                        Optional.of(f.from().orElse(parent.id())), f.pack(), f.offset()));
            }
        }
        return write(BackupId.parse(id), Optional.of(parent.id()), walSegment, changed, reused, true);
    }

    /** Packs of a backup that never got its manifest (an interrupted run). */
    public void incomplete(String id, Map<String, byte[]> files) {
        write(BackupId.parse(id), Optional.empty(), 1, files, Map.of(), false);
    }

    private BackupManifest write(BackupId id, Optional<BackupId> parent, int walSegment, Map<String, byte[]> files,
                                 Map<String, BackupManifest.FileEntry> reused, boolean complete) {
        try {
            BackupLayout layout = layout(id);
            List<BackupManifest.FileEntry> entries = new ArrayList<>(reused.values());
            ByteArrayOutputStream pack = new ByteArrayOutputStream();
            int packNo = 1;
            int inPack = 0;
            long stored = 0;
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                if (inPack == filesPerPack) {
                    stored += putPack(layout.pack(packNo), pack.toByteArray());
                    pack.reset();
                    packNo++;
                    inPack = 0;
                }
                byte[] b = f.getValue();
                CRC32C crc = new CRC32C();
                crc.update(b);
                String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
                entries.add(entryFilter.apply(new BackupManifest.FileEntry(f.getKey(), b.length, Instant.parse("2026-11-23T08:00:00Z"),
                        0600, PackReader.crc32cHex(crc), sha, Optional.empty(), BackupLayout.packName(packNo), pack.size())));
                pack.write(b);
                inPack++;
            }
            if (inPack > 0) {
                stored += putPack(layout.pack(packNo), pack.toByteArray());
            }
            Instant started = id.startedAt();
            BackupManifest m = new BackupManifest(id, Optional.of("test"), parent, source, systemId, 150020, WAL_SEGMENT, 1,
                    lsn(walSegment, 0x28), lsn(walSegment, 0x138), started.plusMillis(120), started.plusSeconds(60),
                    "START WAL LOCATION: " + lsn(walSegment, 0x28) + "\n", Optional.empty(), List.of(), List.of("pg_wal"), entries, stored);
            if (complete) {
                repository.put(layout.manifest(), new ByteArrayInputStream(m.toJson()), true);
                repository.put(layout.manifestCopy(), new ByteArrayInputStream(m.toJson()), true);
            }
            return m;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Files {@code name -> content} in insertion order. */
    public static Map<String, byte[]> files(String... paths) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (String p : paths) {
            m.put(p, content(p, 3000 + p.length() * 100));
        }
        return m;
    }
}
