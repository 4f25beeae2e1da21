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

/** The logical manifest's JSON round-trips and refuses what a restore must never act on. */
class LogicalManifestTest {
    static final BackupId ID = BackupId.parse("20261123T090000Z-logical");
    static final String SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    static LogicalManifest.Database db(String name, String object, long bytes) {
        return new LogicalManifest.Database(name, object, bytes, bytes / 2 + 100, SHA, "UTF8", "C", "C");
    }

    static LogicalManifest manifest(BackupId id, List<LogicalManifest.Database> dbs) {
        return new LogicalManifest(id, Optional.of("nightly"), "main", "7300000000000000001", 150020,
                Instant.parse("2026-11-23T09:00:00.120Z"), Instant.parse("2026-11-23T09:01:12.877Z"), dbs);
    }

    static String json(LogicalManifest m) {
        return new String(m.toJson(), StandardCharsets.UTF_8);
    }

    static HoldfastException refusedJson(String json) {
        return assertThrows(HoldfastException.class, () -> LogicalManifest.fromJson(json.getBytes(StandardCharsets.UTF_8), "m"));
    }

    @Test
    void roundTripsThroughJson() {
        LogicalManifest m = manifest(ID, List.of(db("app", "dump-000001", 1000), db("Billing Ünïcode", "dump-000002", 24)));
        String json = json(m);
        LogicalManifest back = LogicalManifest.fromJson(m.toJson(), "test");
        assertEquals(m, back);
        assertEquals(1024, back.bytes());
        assertEquals(500 + 100 + 12 + 100, back.storedBytes());
        assertEquals(List.of("app", "Billing Ünïcode"), back.databaseNames());
        assertEquals("dump-000002", back.database("Billing Ünïcode").orElseThrow().object());
        assertTrue(json.contains("\"type\":\"logical\"") && json.contains("\"bytes\":1024") && json.contains("\"stored_bytes\":712"), json);
        assertEquals(BackupType.LOGICAL, BackupManifests.typeOf(m.toJson()));
        LogicalManifest untagged = new LogicalManifest(ID, Optional.empty(), "main", "7300000000000000001", 150020, m.startedAt(),
                m.finishedAt(), m.databases());
        assertTrue(json(untagged).contains("\"tag\":null"));
        assertEquals(untagged, LogicalManifest.fromJson(untagged.toJson(), "test"));
    }

    @Test
    void refusesUnsafeNamesAndObjects() {
        for (String bad : List.of("", "a\u0000b", "a\nb", "x".repeat(64), "é".repeat(32))) {
            HoldfastException e = assertThrows(HoldfastException.class, () -> manifest(ID, List.of(db(bad, "dump-000001", 1))), bad);
            assertEquals(ErrorCode.INTEGRITY_FAILURE, e.code());
        }
        for (String bad : List.of("dump-1", "../dump-000001", "pack-000001", "dump-000001/x", "manifest")) {
            assertThrows(HoldfastException.class, () -> manifest(ID, List.of(db("app", bad, 1))), bad);
        }
        assertThrows(HoldfastException.class, () -> manifest(ID, List.of(db("app", "dump-000001", 1), db("app", "dump-000002", 1))),
                "a database twice");
        assertThrows(HoldfastException.class, () -> manifest(ID, List.of(db("a", "dump-000001", 1), db("b", "dump-000001", 1))),
                "an object twice");
        assertThrows(HoldfastException.class, () -> manifest(ID, List.of()), "no database");
        assertThrows(HoldfastException.class, () -> manifest(ID, List.of(db("a", "dump-000001", -1))), "negative size");
        assertThrows(HoldfastException.class, () -> manifest(ID, List.of(new LogicalManifest.Database("a", "dump-000001", 1, 1,
                "ABC", "UTF8", "C", "C"))), "sha256");
        // Read from JSON too: a tampered or hand-made manifest cannot bring one in.
        String json = json(manifest(ID, List.of(db("app", "dump-000001", 1))));
        assertEquals(ErrorCode.INTEGRITY_FAILURE, refusedJson(json.replace("dump-000001", "../../keys/x")).code());
        assertEquals(ErrorCode.INTEGRITY_FAILURE, refusedJson(json.replace("\"app\"", "\"a\\u0000pp\"")).code());
        assertEquals(ErrorCode.INTEGRITY_FAILURE, refusedJson(json.replace("\"main\"", "\"../main\"")).code());
        assertEquals(ErrorCode.INTEGRITY_FAILURE, refusedJson(json.replace("\"7300000000000000001\"", "\"73/1\"")).code());
    }

    @Test
    void refusesOtherTypesNewerFormatsAndWrongTotals() {
        assertThrows(HoldfastException.class, () -> manifest(BackupId.parse("20261123T090000Z-full"), List.of(db("a", "dump-000001", 1))));
        String json = json(manifest(ID, List.of(db("app", "dump-000001", 5))));
        assertEquals(ErrorCode.FORMAT_UNSUPPORTED, refusedJson(json.replace("\"format\":1", "\"format\":2")).code());
        assertEquals(ErrorCode.FORMAT_UNSUPPORTED, assertThrows(HoldfastException.class, () -> BackupManifests.typeOf(
                json.replace("\"format\":1", "\"format\":2").getBytes(StandardCharsets.UTF_8))).code());
        assertEquals(ErrorCode.INTEGRITY_FAILURE, refusedJson(json.replaceFirst("\"bytes\":5", "\"bytes\":6")).code());
        assertEquals(ErrorCode.INTEGRITY_FAILURE, refusedJson(json.replace("\"type\":\"logical\"", "\"type\":\"full\"")).code());
        assertEquals(ErrorCode.INTEGRITY_FAILURE, refusedJson("not json").code());
        assertEquals(ErrorCode.INTEGRITY_FAILURE, refusedJson("[1]").code());
    }

    @Test
    void typeOfTellsPhysicalFromLogicalAndEachReaderRefusesTheOther() {
        BackupManifest physical = new BackupManifest(BackupId.parse("20261123T080000Z-full"), Optional.empty(), Optional.empty(), "main",
                "7300000000000000001", 150020, 16 << 20, 1, Lsn.parse("0/3000028"), Lsn.parse("0/3000138"),
                Instant.parse("2026-11-23T08:00:00Z"), Instant.parse("2026-11-23T08:01:00Z"), "label", Optional.empty(), List.of(),
                List.of(), List.of(), 0);
        assertEquals(BackupType.FULL, BackupManifests.typeOf(physical.toJson()));
        assertEquals(ErrorCode.INTEGRITY_FAILURE,
                assertThrows(HoldfastException.class, () -> LogicalManifest.fromJson(physical.toJson(), "m")).code());
        byte[] logical = manifest(ID, List.of(db("app", "dump-000001", 5))).toJson();
        assertEquals(ErrorCode.INTEGRITY_FAILURE, assertThrows(HoldfastException.class, () -> BackupManifest.fromJson(logical, "m")).code());
        for (String bad : List.of("{}", "{\"type\":\"diff\"}", "{\"type\":3}", "nope")) {
            assertEquals(ErrorCode.INTEGRITY_FAILURE, assertThrows(HoldfastException.class,
                    () -> BackupManifests.typeOf(bad.getBytes(StandardCharsets.UTF_8)), bad).code());
        }
    }
}
