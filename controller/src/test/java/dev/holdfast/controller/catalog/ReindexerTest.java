package dev.holdfast.controller.catalog;

import static dev.holdfast.controller.catalog.CatalogContract.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.repository.Repository;
import dev.holdfast.repository.RepositoryConfig;
import dev.holdfast.repository.backup.BackupId;
import dev.holdfast.repository.backup.BackupLayout;
import dev.holdfast.repository.backup.BackupManifest;
import dev.holdfast.repository.backup.LogicalManifest;
import dev.holdfast.repository.backup.TestBackups;
import dev.holdfast.repository.crypto.KeyFile;
import dev.holdfast.repository.store.fs.FsObjectStore;
import dev.holdfast.repository.wal.WalIndex;
import dev.holdfast.repository.wal.WalLayout;
import dev.holdfast.repository.wal.WalObject;
import dev.holdfast.repository.wal.WalSegmentName;
import io.vertx.core.Vertx;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code reindex} rebuilds the backup and WAL tables from a real repository on a file store: the
 * rows say what the manifests say, and a reindex into a fresh catalog and into a used one (with
 * stale rows) give the same rows.
 */
class ReindexerTest {
    static final String SYS = "7300000000000000001";
    static final String SYS2 = "7300000000000000002";

    @TempDir
    Path dir;
    Vertx vertx;
    Repository repo;
    TestBackups main;
    BackupManifest full;
    BackupManifest incr;
    LogicalManifest logical;
    BackupManifest otherFull;

    @BeforeEach
    void setUp() throws Exception {
        vertx = Vertx.vertx();
        KeyFile key = KeyFile.create(dir.resolve("master.key"), Clock.systemUTC(), new SecureRandom());
        repo = Repository.init(FsObjectStore.open(dir.resolve("repo"), Clock.systemUTC()), key, RepositoryConfig.DEFAULT_SEGMENT_SIZE, 3,
                "test", Clock.systemUTC(), new SecureRandom());
        main = new TestBackups(repo, "main", SYS);
        full = main.full("20261123T090000Z-full", 3, TestBackups.files("a", "b", "c"));
        incr = main.incr("20261123T100000Z-incr", full, 4, TestBackups.files("a"));
        main.incomplete("20261123T110000Z-full", TestBackups.files("a", "b", "c"));
        BackupId logicalId = BackupId.parse("20261123T120000Z-logical");
        logical = new LogicalManifest(logicalId, Optional.of("adhoc"), "main", SYS, 150020, Instant.parse("2026-11-23T12:00:00.250Z"),
                Instant.parse("2026-11-23T12:01:00Z"), List.of(new LogicalManifest.Database("app", "dump-000001", 4096, 1200, "ab".repeat(32),
                "UTF8", "C", "C")));
        BackupLayout ll = new BackupLayout("main", SYS, logicalId);
        repo.put(ll.manifest(), new ByteArrayInputStream(logical.toJson()), true);
        repo.put(ll.manifestCopy(), new ByteArrayInputStream(logical.toJson()), true);
        BackupLayout broken = new BackupLayout("main", SYS, BackupId.parse("20261123T130000Z-full"));
        repo.put(broken.manifest(), new ByteArrayInputStream("not a manifest".getBytes(StandardCharsets.UTF_8)), true);
        main.wal(1, 1, 3);   // a gap at segment 4
        main.wal(1, 5, 6);
        main.wal(2, 6, 6);   // then a part of segment 7 on timeline 2
        WalSegmentName s7 = WalSegmentName.ofNumber(2, 7, TestBackups.WAL_SEGMENT);
        repo.put(main.walLayout().part(s7, 0, 0x2000), new ByteArrayInputStream(new byte[0x2000]), true);

        TestBackups other = new TestBackups(repo, "other", SYS2);
        otherFull = other.full("20261124T090000Z-full", 1, TestBackups.files("x"));
        other.wal(1, 1, 1);
    }

    @AfterEach
    void tearDown() throws Exception {
        repo.close();
        await(vertx.close());
    }

    Catalog catalog(String name) throws Exception {
        return await(CatalogFactory.open(vertx, new ControllerConfig.CatalogUrl("embedded"), dir.resolve(name)));
    }

    /** Every backup row and every WAL range row. */
    static List<Object> rows(Catalog c) throws Exception {
        List<Object> out = new ArrayList<>(CatalogContract.flat(CatalogContract.pages(p -> c.backups(Optional.empty(), p), 3)));
        out.addAll(await(c.walRanges("main")));
        out.addAll(await(c.walRanges("other")));
        return out;
    }

    @Test
    void theRowsSayWhatTheManifestsSay() throws Exception {
        try (Catalog c = catalog("a")) {
            Reindexer.Summary s = await(new Reindexer(vertx, repo).reindex(c));
            assertEquals(2, s.sources());
            assertEquals(6, s.backups());
            assertEquals(4, s.complete());
            assertEquals(4, s.walRanges());
            assertEquals(1, s.problems().size(), s.problems().toString());
            assertTrue(s.problems().get(0).startsWith("backup main/" + SYS + "/20261123T130000Z-full: integrity_failure"), s.problems().get(0));

            List<BackupRecord> backups = await(c.backups(Optional.of("main"), PageRequest.FIRST)).items();
            assertEquals(List.of("20261123T130000Z-full", "20261123T120000Z-logical", "20261123T110000Z-full", "20261123T100000Z-incr",
                    "20261123T090000Z-full"), backups.stream().map(BackupRecord::id).toList());
            assertEquals(new BackupRecord("main", SYS, "20261123T090000Z-full", "", "full", "test", "complete", Optional.of(full.startedAt()),
                    Optional.of(full.finishedAt()), "0/300028", "0/300138", 1, Optional.empty(), full.bytes(), full.storedBytes(),
                    Optional.empty()), backups.get(4));
            assertEquals(full.startLsn().toString(), "0/300028");
            BackupRecord i = backups.get(3);
            assertEquals(Optional.of("20261123T090000Z-full"), i.parent());
            assertEquals("incr", i.type());
            assertEquals(incr.bytes(), i.bytes());
            assertEquals(incr.stopLsn().toString(), i.stopLsn());
            BackupRecord inc = backups.get(2);
            assertEquals("incomplete", inc.state());
            assertEquals(Optional.of(Instant.parse("2026-11-23T11:00:00Z")), inc.startedAt());
            assertEquals(Optional.empty(), inc.finishedAt());
            assertTrue(inc.storedBytes() > 0, "its packs are in the store");
            assertEquals(new BackupRecord("main", SYS, "20261123T120000Z-logical", "", "logical", "adhoc", "complete",
                    Optional.of(logical.startedAt()), Optional.of(logical.finishedAt()), "", "", 0, Optional.empty(), 4096, 1200,
                    Optional.empty()), backups.get(1));
            assertEquals("unreadable", backups.get(0).state());
            assertEquals(otherFull.storedBytes(), await(c.backups(Optional.of("other"), PageRequest.FIRST)).items().get(0).storedBytes());

            assertEquals(List.of(
                    new WalRangeRecord("main", SYS, 1, "000000010000000000000001", "000000010000000000000003", 3),
                    new WalRangeRecord("main", SYS, 1, "000000010000000000000005", "000000010000000000000006", 2),
                    new WalRangeRecord("main", SYS, 2, "000000020000000000000006", "000000020000000000000007", 2)), await(c.walRanges("main")));
            assertEquals(List.of(new WalRangeRecord("other", SYS2, 1, "000000010000000000000001", "000000010000000000000001", 1)),
                    await(c.walRanges("other")));
        }
    }

    @Test
    void aReindexIntoAFreshCatalogAndIntoAUsedOneGiveTheSameRows() throws Exception {
        try (Catalog a = catalog("a"); Catalog b = catalog("b")) {
            await(new Reindexer(vertx, repo).reindex(a));
            List<Object> first = rows(a);
            assertEquals(6 + 4, first.size());

            await(new Reindexer(vertx, repo).reindex(b));
            assertEquals(first, rows(b), "a fresh catalog");

            await(a.upsertBackup(new BackupRecord("main", SYS, "20200101T000000Z-full", "db1", "full", "daily", "complete",
                    Optional.of(Instant.EPOCH), Optional.empty(), "", "", 1, Optional.empty(), 1, 1, Optional.of("j"))));
            await(a.replaceWalRanges("gone", SYS, List.of(new WalRangeRecord("gone", SYS, 1, "000000010000000000000001",
                    "000000010000000000000001", 1))));
            await(a.clearRepositoryIndex());
            assertEquals(List.of(), rows(a));
            await(new Reindexer(vertx, repo).reindex(a));
            assertEquals(first, rows(a), "the same catalog after clearing");
            await(a.upsertBackup(new BackupRecord("main", SYS, "20200101T000000Z-full", "db1", "full", "daily", "complete",
                    Optional.of(Instant.EPOCH), Optional.empty(), "", "", 1, Optional.empty(), 1, 1, Optional.of("j"))));
            await(new Reindexer(vertx, repo).reindex(a));
            assertEquals(first, rows(a), "a reindex removes rows the repository does not back");
            assertEquals(List.of(), await(a.walRanges("gone")));
        }
    }

    @Test
    void aSegmentCoveredOnlyInPartEndsItsRange() {
        WalLayout layout = new WalLayout("main", SYS);
        long size = TestBackups.WAL_SEGMENT;
        List<WalObject> objects = new ArrayList<>();
        for (int n : new int[] {1, 2, 4, 5, 8}) {
            objects.add(layout.classify(layout.segment(WalSegmentName.ofNumber(1, n, size)), 10, Instant.EPOCH));
        }
        objects.add(layout.classify(layout.part(WalSegmentName.ofNumber(1, 3, size), 0, 0x100), 10, Instant.EPOCH));
        objects.add(layout.classify(layout.part(WalSegmentName.ofNumber(1, 9, size), 0x100, 0x200), 10, Instant.EPOCH));
        List<WalRangeRecord> r = Reindexer.ranges("main", SYS, new WalIndex(size, objects));
        assertEquals(List.of(
                new WalRangeRecord("main", SYS, 1, "000000010000000000000001", "000000010000000000000003", 3),
                new WalRangeRecord("main", SYS, 1, "000000010000000000000004", "000000010000000000000005", 2),
                new WalRangeRecord("main", SYS, 1, "000000010000000000000008", "000000010000000000000008", 1)), r,
                "a part that does not start at 0 covers nothing");
    }
}
