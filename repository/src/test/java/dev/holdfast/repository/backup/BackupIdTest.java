package dev.holdfast.repository.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Backup ids of every type parse, print and sort; logical dumps have their own type and objects. */
class BackupIdTest {
    @Test
    void logicalIdsParsePrintAndStepPastACollision() {
        BackupId a = BackupId.parse("20261123T090000Z-logical");
        assertEquals(BackupType.LOGICAL, a.type());
        assertEquals("20261123T090000Z-logical", a.toString());
        assertEquals("20261123T090000Z-logical-2", a.next().toString());
        assertEquals(a.next(), BackupId.parse("20261123T090000Z-logical-2"));
        assertEquals(a, BackupId.of(Instant.parse("2026-11-23T09:00:00.5Z"), BackupType.LOGICAL));
        assertTrue(a.compareTo(BackupId.parse("20261123T090001Z-full")) < 0);
        assertTrue(BackupId.parse("20261122T090000Z-full").compareTo(a) < 0);
    }

    @Test
    void theTypeTokensAreStable() {
        assertEquals(BackupType.LOGICAL, BackupType.parse("logical"));
        assertEquals(List.of("full", "incr", "logical"), List.of(BackupType.values()).stream().map(BackupType::token).toList());
        assertTrue(BackupType.FULL.physical() && BackupType.INCR.physical());
        assertFalse(BackupType.LOGICAL.physical());
        assertEquals(ErrorCode.USAGE, assertThrows(HoldfastException.class, () -> BackupType.parse("dump")).code());
    }

    @Test
    void malformedIdsAreRefused() {
        for (String bad : List.of("20261123T090000Z-logic", "20261123T090000Z-logical-1", "20261123T090000Z-logical-",
                "20261123T090000Z-LOGICAL", "20261123T090000Z-logical/x")) {
            HoldfastException e = assertThrows(HoldfastException.class, () -> BackupId.parse(bad), bad);
            assertEquals(ErrorCode.USAGE, e.code());
            assertTrue(e.getMessage().contains("-logical"), e.getMessage());
        }
    }

    @Test
    void aLogicalDumpsObjectsLiveBesideItsManifest() {
        BackupLayout l = new BackupLayout("main", "7300000000000000001", BackupId.parse("20261123T090000Z-logical"));
        assertEquals("backups/main/7300000000000000001/20261123T090000Z-logical/dump-000001", l.dump(1).toString());
        assertEquals("backups/main/7300000000000000001/20261123T090000Z-logical/manifest", l.manifest().toString());
        assertEquals(l.dump(12), l.object("dump-000012"));
        assertEquals("backups/main/", BackupLayout.sourcePrefix("main"));
        assertThrows(IllegalArgumentException.class, () -> l.dump(0));
    }
}
