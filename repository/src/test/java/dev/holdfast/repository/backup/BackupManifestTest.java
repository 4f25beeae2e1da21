package dev.holdfast.repository.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import dev.holdfast.repository.wal.Lsn;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The manifest's JSON form round-trips and refuses what a restore must never act on. */
class BackupManifestTest {
    static final BackupId FULL = BackupId.parse("20261122T090000Z-full");
    static final BackupId INCR = BackupId.parse("20261123T090000Z-incr");
    static final String CRC = "8a3f0c11";
    static final String SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    static BackupManifest.FileEntry file(String path, long size, Optional<BackupId> from, String pack, long offset) {
        return new BackupManifest.FileEntry(path, size, Instant.parse("2026-11-23T08:59:58Z"), 0600, CRC, SHA, from, pack, offset);
    }

    static BackupManifest manifest(BackupId id, Optional<BackupId> parent, List<String> dirs, List<BackupManifest.FileEntry> files) {
        return new BackupManifest(id, Optional.of("daily"), parent, "main", "7300000000000000001", 150020, 16 << 20, 1,
                Lsn.parse("0/3000028"), Lsn.parse("0/3000138"), Instant.parse("2026-11-23T09:00:00.120Z"),
                Instant.parse("2026-11-23T09:03:12.877Z"), "START WAL LOCATION: 0/3000028 (file 000000010000000000000003)\n",
                Optional.empty(), List.of(new BackupManifest.Tablespace(16390, "/srv/ts1")), dirs, files, 1234);
    }

    @Test
    void roundTripsThroughJson() {
        BackupManifest m = manifest(INCR, Optional.of(FULL), List.of("pg_wal", "base/1"), List.of(
                file("base/1/1259", 106496, Optional.empty(), "pack-000001", 0),
                file("global/pg_control", 8192, Optional.of(FULL), "pack-000004", 4096),
                file("pg_tblspc/16390/PG_15_202209061/5/16391", 0, Optional.empty(), "pack-000001", 106496)));
        byte[] json = m.toJson();
        BackupManifest back = BackupManifest.fromJson(json, "test");
        assertEquals(m, back);
        assertEquals(114688, back.bytes());
        assertTrue(new String(json, StandardCharsets.UTF_8).contains("\"bytes\":114688"));
    }

    @Test
    void refusesPathsThatCouldEscapeTheTarget() {
        for (String bad : List.of("../etc/passwd", "/etc/passwd", "base/../../x", "base/./1", "base//1", "base/1/", "", "a\u0000b")) {
            HoldfastException e = assertThrows(HoldfastException.class,
                    () -> manifest(FULL, Optional.empty(), List.of(), List.of(file(bad, 1, Optional.empty(), "pack-000001", 0))), bad);
            assertEquals(ErrorCode.INTEGRITY_FAILURE, e.code());
            assertThrows(HoldfastException.class, () -> manifest(FULL, Optional.empty(), List.of(bad), List.of()), bad);
        }
        // Read from JSON too: a tampered or hand-made manifest cannot bring one in.
        String json = new String(manifest(FULL, Optional.empty(), List.of(), List.of(file("base/1/1", 1, Optional.empty(),
                "pack-000001", 0))).toJson(), StandardCharsets.UTF_8).replace("base/1/1", "../../root/.ssh/authorized_keys");
        assertEquals(ErrorCode.INTEGRITY_FAILURE, assertThrows(HoldfastException.class,
                () -> BackupManifest.fromJson(json.getBytes(StandardCharsets.UTF_8), "test")).code());
    }

    @Test
    void refusesInconsistentChainsAndRanges() {
        assertThrows(HoldfastException.class, () -> manifest(INCR, Optional.empty(), List.of(), List.of()), "incremental without parent");
        assertThrows(HoldfastException.class, () -> manifest(FULL, Optional.of(INCR), List.of(), List.of()), "full with a parent");
        assertThrows(HoldfastException.class, () -> manifest(BackupId.parse("20261121T090000Z-incr"), Optional.of(FULL), List.of(),
                List.of()), "parent newer than the child");
        assertThrows(HoldfastException.class, () -> manifest(FULL, Optional.empty(), List.of(),
                List.of(file("base/1/1", 1, Optional.of(INCR), "pack-000001", 0))), "a full backup refers to no other");
        assertThrows(HoldfastException.class, () -> manifest(FULL, Optional.empty(), List.of(),
                List.of(file("a", 1, Optional.empty(), "pack-1", 0))), "pack name");
        assertThrows(HoldfastException.class, () -> manifest(FULL, Optional.empty(), List.of(),
                List.of(file("a", 1, Optional.empty(), "pack-000001", 0), file("a", 1, Optional.empty(), "pack-000001", 1))), "twice");
    }

    @Test
    void aNewerFormatOrWrongTotalsAreRefused() {
        String json = new String(manifest(FULL, Optional.empty(), List.of(), List.of(file("a", 5, Optional.empty(), "pack-000001", 0)))
                .toJson(), StandardCharsets.UTF_8);
        assertEquals(ErrorCode.FORMAT_UNSUPPORTED, assertThrows(HoldfastException.class, () -> BackupManifest.fromJson(
                json.replace("\"format\":1", "\"format\":2").getBytes(StandardCharsets.UTF_8), "m")).code());
        assertEquals(ErrorCode.INTEGRITY_FAILURE, assertThrows(HoldfastException.class, () -> BackupManifest.fromJson(
                json.replace("\"bytes\":5", "\"bytes\":6").getBytes(StandardCharsets.UTF_8), "m")).code());
        assertEquals(ErrorCode.INTEGRITY_FAILURE, assertThrows(HoldfastException.class, () -> BackupManifest.fromJson(
                "not json".getBytes(StandardCharsets.UTF_8), "m")).code());
    }

    @Test
    void idsParsePrintSortAndStepPastACollision() {
        BackupId a = BackupId.parse("20261123T090000Z-full");
        assertEquals("20261123T090000Z-full", a.toString());
        assertEquals("20261123T090000Z-full-2", a.next().toString());
        assertEquals(a.next(), BackupId.parse("20261123T090000Z-full-2"));
        assertTrue(a.compareTo(a.next()) < 0 && FULL.compareTo(a) < 0);
        assertEquals(a, BackupId.of(Instant.parse("2026-11-23T09:00:00.999Z"), BackupType.FULL));
        for (String bad : List.of("20261123T090000Z", "20261123T090000Z-diff", "2026-11-23-full", "20261323T090000Z-full",
                "20261123T090000Z-full-1", "../x")) {
            assertEquals(ErrorCode.USAGE, assertThrows(HoldfastException.class, () -> BackupId.parse(bad), bad).code());
        }
        assertEquals("backups/main/7300000000000000001/20261123T090000Z-full/pack-000001",
                new BackupLayout("main", "7300000000000000001", a).pack(1).toString());
    }
}
