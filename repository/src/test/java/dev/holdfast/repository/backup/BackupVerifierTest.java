package dev.holdfast.repository.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryConfig;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.Futures;
import dev.holdfast.repository.store.ObjectKey;
import dev.holdfast.repository.store.ObjectStore;
import dev.holdfast.repository.store.fs.FsObjectStore;
import dev.holdfast.repository.store.s3.S3ObjectStore;
import dev.holdfast.testkit.S3TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** verify's engine against a real file:// repository (and once S3) holding synthetic backups in the real format. */
class BackupVerifierTest {
    static final String SYSID = "7300000000000000001";
    @TempDir
    Path dir;
    Repository repo;
    TestBackups b;

    @BeforeEach
    void setUp() {
        repo = init(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()));
        b = new TestBackups(repo, "main", SYSID);
    }

    @AfterEach
    void tearDown() {
        repo.close();
    }

    private Repository init(ObjectStore store) {
        KeyFile key = KeyFile.create(dir.resolve("master-" + System.nanoTime() + ".key"), Clock.systemUTC(), new SecureRandom());
        return Repository.init(store, key, RepositoryConfig.DEFAULT_SEGMENT_SIZE, 3, "test", Clock.systemUTC(), new SecureRandom());
    }

    private BackupVerifier.Report verify(boolean readData) {
        return new BackupVerifier(repo).verify("main", SYSID, Optional.empty(), readData);
    }

    private static Set<String> backupsWith(BackupVerifier.Report r, BackupVerifier.Kind kind) {
        return r.problems().stream().filter(p -> p.kind() == kind).map(BackupVerifier.Problem::backup).collect(Collectors.toSet());
    }

    /** Flips one byte inside the first data segment of an object stored by the file store. */
    private void flipByte(ObjectKey key) throws Exception {
        Path file = dir.resolve("repo").resolve(key.value());
        file.toFile().setWritable(true);
        byte[] bytes = Files.readAllBytes(file);
        bytes[56 + 40] ^= 0x01;
        Files.write(file, bytes);
    }

    @Test
    void aHealthyFullAndIncrementalChainVerifiesWithTheirDataRead() {
        BackupManifest full = b.full("20261123T090000Z-full", 3, TestBackups.files("base/1/1", "base/1/2", "global/pg_control"));
        b.incr("20261123T100000Z-incr", full, 5, TestBackups.files("base/1/2"));
        b.wal(1, 3, 6);
        BackupVerifier.Report r = verify(true);
        assertEquals(List.of(), r.problems(), r::toString);
        assertEquals(Optional.empty(), r.failure());
        assertEquals(2, r.backups().size());
        BackupVerifier.Result incr = r.backups().get(1);
        assertTrue(incr.restorable() && incr.restorableToLatest(), r::toString);
        assertEquals(List.of(full.id(), BackupId.parse("20261123T100000Z-incr")), incr.chain());
        assertEquals(3, incr.packs(), "its own pack and both of its parent's");
        assertEquals(3, incr.packsRead());
    }

    @Test
    void aDeletedPackIsNamedWithEveryBackupThatUsesIt() throws Exception {
        BackupManifest full = b.full("20261123T090000Z-full", 3, TestBackups.files("base/1/1", "base/1/2", "global/pg_control"));
        b.incr("20261123T100000Z-incr", full, 5, TestBackups.files("base/1/1", "base/1/2"));
        b.wal(1, 3, 6);
        ObjectKey pack2 = b.layout(full.id()).pack(2);
        Futures.await(repo.store().delete(pack2));

        BackupVerifier.Report r = verify(false);
        assertEquals(Optional.of(ErrorCode.INTEGRITY_FAILURE), r.failure());
        assertEquals(Set.of("20261123T090000Z-full", "20261123T100000Z-incr"), backupsWith(r, BackupVerifier.Kind.PACK_MISSING), r::toString);
        assertTrue(r.errors().stream().allMatch(p -> p.object().equals(pack2.value())), r::toString);
        assertTrue(r.errors().stream().anyMatch(p -> p.backup().equals("20261123T100000Z-incr") && p.message().contains("of backup 20261123T090000Z-full")),
                r::toString);
        assertTrue(r.backups().stream().noneMatch(BackupVerifier.Result::restorable));
    }

    @Test
    void aFlippedByteIsFoundOnlyByReadingDataAndNamesExactlyTheBackupsUsingThatPack() throws Exception {
        BackupManifest full1 = b.full("20261123T090000Z-full", 3, TestBackups.files("base/1/1", "base/1/2", "global/pg_control"));
        // Rewrites both files of full1's pack-000001: uses only its pack-000002.
        b.incr("20261123T100000Z-incr", full1, 4, TestBackups.files("base/1/1", "base/1/2"));
        // Rewrites one: still takes base/1/2 from full1's pack-000001.
        b.incr("20261123T110000Z-incr", full1, 5, TestBackups.files("base/1/1"));
        b.full("20261123T120000Z-full", 6, TestBackups.files("base/1/1", "base/1/2", "global/pg_control"));
        b.wal(1, 3, 7);
        ObjectKey damaged = b.layout(full1.id()).pack(1);
        flipByte(damaged);

        BackupVerifier.Report structure = verify(false);
        assertEquals(List.of(), structure.problems(), "the footer still authenticates: only reading the data finds it");

        BackupVerifier.Report r = verify(true);
        assertEquals(Optional.of(ErrorCode.INTEGRITY_FAILURE), r.failure());
        assertEquals(Set.of("20261123T090000Z-full", "20261123T110000Z-incr"), backupsWith(r, BackupVerifier.Kind.PACK_DAMAGED), r::toString);
        assertEquals(2, r.problems().size(), r::toString);
        assertTrue(r.problems().stream().allMatch(p -> p.object().equals(damaged.value())), r::toString);
        assertTrue(r.problems().stream().filter(p -> p.backup().equals("20261123T110000Z-incr")).findFirst().orElseThrow().message()
                .contains("stored in " + damaged + " of backup 20261123T090000Z-full"), r::toString);
        List<String> restorable = r.backups().stream().filter(BackupVerifier.Result::restorable).map(x -> x.id().toString()).toList();
        assertEquals(List.of("20261123T100000Z-incr", "20261123T120000Z-full"), restorable);

        // --backup: only the selected backup (and what it needs) is checked.
        BackupVerifier.Report one = new BackupVerifier(repo).verify("main", SYSID, Optional.of(BackupId.parse("20261123T100000Z-incr")), true);
        assertEquals(List.of(), one.problems(), one::toString);
        assertEquals(1, one.backups().size());
    }

    @Test
    void aWalGapCapsTheWindowOfTheBackupsBeforeItAndMissingWalMakesOneUnrestorable() {
        b.full("20261123T090000Z-full", 3, TestBackups.files("a"));
        b.full("20261123T120000Z-full", 7, TestBackups.files("a"));
        b.full("20261123T130000Z-full", 10, TestBackups.files("a"));
        b.wal(1, 3, 4);
        b.wal(1, 6, 8);

        BackupVerifier.Report r = verify(false);
        assertEquals(Optional.of(ErrorCode.WAL_GAP), r.failure(), r::toString);
        BackupVerifier.Problem gap = r.problems().stream().filter(p -> p.kind() == BackupVerifier.Kind.WAL_GAP).findFirst().orElseThrow();
        assertEquals("20261123T090000Z-full", gap.backup());
        assertEquals("wal/main/" + SYSID + "/000000010000000000000005", gap.object());
        assertTrue(gap.message().contains("can be restored to at most 0/500000"), gap::message);
        assertEquals(Set.of("20261123T090000Z-full"), backupsWith(r, BackupVerifier.Kind.WAL_GAP));
        assertEquals(Set.of("20261123T130000Z-full"), backupsWith(r, BackupVerifier.Kind.WAL_MISSING), r::toString);
        BackupVerifier.Result first = r.backups().get(0);
        assertTrue(first.restorable() && !first.restorableToLatest());
        assertTrue(r.backups().get(1).restorableToLatest(), "the backup after the gap reaches the newest WAL");
        assertFalse(r.backups().get(2).restorable());
    }

    @Test
    void anIncompleteBackupIsOnlyAWarningAndADamagedManifestCopyIsAnError() throws Exception {
        BackupManifest full = b.full("20261123T090000Z-full", 3, TestBackups.files("a", "b"));
        b.incomplete("20261123T100000Z-full", TestBackups.files("c"));
        b.wal(1, 3, 4);
        BackupVerifier.Report r = verify(true);
        assertEquals(Optional.empty(), r.failure(), r::toString);
        assertEquals(1, r.warnings().size());
        assertEquals(BackupVerifier.Kind.INCOMPLETE, r.warnings().get(0).kind());
        assertEquals("20261123T100000Z-full", r.warnings().get(0).backup());

        flipByte(b.layout(full.id()).manifestCopy());
        BackupVerifier.Report copy = verify(false);
        assertEquals(Optional.of(ErrorCode.INTEGRITY_FAILURE), copy.failure());
        BackupVerifier.Problem p = copy.errors().get(0);
        assertEquals(BackupVerifier.Kind.MANIFEST_COPY_DAMAGED, p.kind());
        assertEquals(b.layout(full.id()).manifestCopy().value(), p.object());
        assertTrue(copy.backups().get(0).restorable(), "the other copy still serves");
    }

    @Test
    void aMissingPackIsFoundOnS3Too() throws Exception {
        try (S3TestServer s3 = S3TestServer.startInProcess(Files.createDirectory(dir.resolve("s3")));
             Repository onS3 = init(Futures.await(S3ObjectStore.open(s3.storeConfig().prefix("verify/").build())))) {
            TestBackups s = new TestBackups(onS3, "main", SYSID);
            BackupManifest full = s.full("20261123T090000Z-full", 3, TestBackups.files("a", "b", "c"));
            s.wal(1, 3, 3);
            BackupVerifier v = new BackupVerifier(onS3);
            assertEquals(List.of(), v.verify("main", SYSID, Optional.empty(), true).problems());
            Futures.await(onS3.store().delete(s.layout(full.id()).pack(1)));
            BackupVerifier.Report r = v.verify("main", SYSID, Optional.empty(), true);
            assertEquals(Set.of("20261123T090000Z-full"), backupsWith(r, BackupVerifier.Kind.PACK_MISSING));
        }
    }

    @Test
    void aDamagedWalSegmentInTheBackupsRangeIsFoundByReadingData() throws Exception {
        BackupManifest full = b.full("20261123T090000Z-full", 3, TestBackups.files("a"));
        b.wal(1, 3, 4);
        ObjectKey seg3 = b.walLayout().segment(dev.holdfast.repository.wal.WalSegmentName.ofNumber(1, 3, TestBackups.WAL_SEGMENT));
        flipByte(seg3);
        assertEquals(List.of(), verify(false).problems());
        BackupVerifier.Report r = verify(true);
        assertEquals(Optional.of(ErrorCode.INTEGRITY_FAILURE), r.failure());
        BackupVerifier.Problem p = r.errors().get(0);
        assertEquals(BackupVerifier.Kind.WAL_DAMAGED, p.kind());
        assertEquals(full.id().toString(), p.backup());
        assertEquals(seg3.value(), p.object());
    }

    @Test
    void aManifestOfAnotherTypeIsListedAndSkippedNotFailed() throws Exception {
        b.full("20261123T090000Z-full", 3, TestBackups.files("a"));
        b.wal(1, 3, 3);
        // A later kind of backup (a logical dump) under an id this build parses: read by its "type" first.
        BackupLayout other = b.layout(BackupId.parse("20261123T100000Z-full"));
        byte[] json = ("{\"format\": 1, \"id\": \"20261123T100000Z-full\", \"type\": \"logical\", \"tag\": \"nightly\","
                + " \"started_at\": \"2026-11-23T10:00:00Z\", \"stored_bytes\": 42}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        repo.put(other.manifest(), new java.io.ByteArrayInputStream(json), true);
        repo.put(other.manifestCopy(), new java.io.ByteArrayInputStream(json), true);

        BackupVerifier.Report r = verify(true);
        assertEquals(Optional.empty(), r.failure(), r::toString);
        assertEquals(BackupVerifier.Kind.UNSUPPORTED_TYPE, r.warnings().get(0).kind());
        assertEquals("logical", r.backups().get(1).type());
        List<BackupSummary> listed = BackupSummary.list(new BackupCatalog(repo), "main", SYSID);
        assertEquals("logical", listed.get(1).type());
        assertEquals("nightly", listed.get(1).json().orElseThrow().get("tag").asText());
        assertTrue(listed.get(1).error().isEmpty() && listed.get(1).manifest().isEmpty());
        assertTrue(listed.get(0).manifest().isPresent());
    }

    @Test
    void aFileWhoseBytesDoNotMatchItsManifestEntryIsNamedByReadingData() {
        String zeros = "0".repeat(64);
        b.entryFilter = e -> e.path().equals("base/1/2") ? new BackupManifest.FileEntry(e.path(), e.size(), e.mtime(), e.mode(),
                e.crc32c(), zeros, e.from(), e.pack(), e.offset()) : e;
        BackupManifest full = b.full("20261123T090000Z-full", 3, TestBackups.files("base/1/1", "base/1/2", "global/pg_control"));
        b.wal(1, 3, 3);
        assertEquals(List.of(), verify(false).problems());
        BackupVerifier.Report r = verify(true);
        BackupVerifier.Problem p = r.errors().get(0);
        assertEquals(BackupVerifier.Kind.PACK_DAMAGED, p.kind());
        assertEquals(b.layout(full.id()).pack(1).value(), p.object());
        assertTrue(p.message().contains("file 'base/1/2' has SHA-256") && p.message().contains(zeros), p::message);
    }
}
