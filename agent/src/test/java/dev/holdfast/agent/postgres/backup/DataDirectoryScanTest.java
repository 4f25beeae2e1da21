package dev.holdfast.agent.postgres.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.backup.BackupManifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PostgreSQL's exclusions, on a data directory laid out by hand. */
class DataDirectoryScanTest {
    @TempDir
    Path dir;

    private void file(String rel) throws Exception {
        Path p = dir.resolve("data").resolve(rel);
        Files.createDirectories(p.getParent());
        Files.writeString(p, rel);
    }

    @Test
    void copiesWhatPostgresqlNeedsAndNothingItRebuilds() throws Exception {
        for (String f : List.of("PG_VERSION", "global/pg_control", "global/1262", "global/pg_internal.init", "postgresql.conf",
                "postgresql.auto.conf", "postmaster.pid", "postmaster.opts", "backup_label", "pg_wal/000000010000000000000001",
                "pg_wal/archive_status/000000010000000000000001.done", "pg_replslot/holdfast/state", "pg_stat_tmp/x", "pg_subtrans/0000",
                "base/5/1259", "base/5/1259_fsm", "base/5/1259.1", "base/5/16384", "base/5/16384_init", "base/5/16384_fsm",
                "base/5/t3_16390", "base/5/t3_16390_fsm", "base/5/pg_internal.init", "base/pgsql_tmp/pgsql_tmp123.0", "pg_stat/pgstat.stat",
                "pg_logical/replorigin_checkpoint")) {
            file(f);
        }
        Files.createDirectories(dir.resolve("data/pg_tblspc"));
        Files.createDirectories(dir.resolve("data/pg_notify"));
        Path ts = Files.createDirectories(dir.resolve("ts/PG_15_202209061/5"));
        Files.writeString(ts.resolve("16500"), "in a tablespace");
        Files.createDirectories(dir.resolve("ts/PG_14_202107181"));
        Files.createSymbolicLink(dir.resolve("data/pg_tblspc/16499"), dir.resolve("ts"));
        Files.createSymbolicLink(dir.resolve("data/stray-link"), dir.resolve("ts"));

        DataDirectoryScan.Result r = DataDirectoryScan.scan(dir.resolve("data"),
                List.of(new BackupManifest.Tablespace(16499, dir.resolve("ts").toString())), 15);
        List<String> paths = r.files().stream().map(DataDirectoryScan.SourceFile::path).sorted().toList();
        assertEquals(List.of("PG_VERSION", "base/5/1259", "base/5/1259.1", "base/5/1259_fsm", "base/5/16384_init", "global/1262",
                "global/pg_control", "pg_logical/replorigin_checkpoint", "pg_stat/pgstat.stat", "pg_tblspc/16499/PG_15_202209061/5/16500",
                "postgresql.auto.conf", "postgresql.conf"), paths);
        for (String d : List.of("pg_wal", "pg_wal/archive_status", "pg_replslot", "pg_stat_tmp", "pg_subtrans", "pg_notify", "pg_tblspc",
                "pg_tblspc/16499", "pg_tblspc/16499/PG_15_202209061/5", "base/5")) {
            assertTrue(r.directories().contains(d), d + " is recreated: " + r.directories());
        }
        assertTrue(r.skipped().stream().anyMatch(s -> s.startsWith("stray-link")), r.skipped().toString());
        assertTrue(r.files().stream().allMatch(f -> f.mode() > 0 && f.size() > 0));
    }

    @Test
    void aDirectoryThatIsNoDataDirectoryIsRefused() throws Exception {
        Files.createDirectories(dir.resolve("empty"));
        HoldfastException e = assertThrows(HoldfastException.class, () -> DataDirectoryScan.scan(dir.resolve("empty"), List.of(), 15));
        assertEquals(ErrorCode.CONFIG_INVALID, e.code());
    }

    @Test
    void packsCloseAtTheirSizeAndABigFileIsAPackOfItsOwn() {
        List<DataDirectoryScan.SourceFile> files = List.of(f("a", 40), f("b", 40), f("c", 500), f("d", 10), f("e", 90));
        List<List<DataDirectoryScan.SourceFile>> packs = BaseBackup.plan(files, 100);
        assertEquals(List.of(List.of("c"), List.of("a", "b", "d", "e")),
                packs.stream().map(p -> p.stream().map(DataDirectoryScan.SourceFile::path).toList()).toList());
    }

    private static DataDirectoryScan.SourceFile f(String path, long size) {
        return new DataDirectoryScan.SourceFile(path, Path.of(path), size, java.time.Instant.EPOCH, 0600);
    }
}
